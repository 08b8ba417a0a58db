import { defineConfig } from "tsdown";
import { publicPackage } from "../../infra/build/tsdown-preset.ts";

// main: the `flowplane` bin. runner-bootstrap: what workers start for each flow run; it must sit in
// dist/ beside the worker's bundled code (see defaultRunnerCommand in packages/worker/src/worker.ts).
export default defineConfig(
  publicPackage(import.meta.dirname, {
    entry: { main: "src/main.ts", "runner-bootstrap": "../worker/src/runner-bootstrap.ts" },
    genericAppRouter: true,
  }),
);
