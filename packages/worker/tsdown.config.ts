import { defineConfig } from "tsdown";
import { internalPackage } from "../../infra/build/tsdown-preset.ts";

// runner-bootstrap: what the worker starts for each flow run, found beside the worker's code
// (defaultRunnerCommand in src/worker.ts), so it is built into the same dist/.
export default defineConfig(
  internalPackage(import.meta.dirname, {
    entry: { index: "src/index.ts", "runner-bootstrap": "src/runner-bootstrap.ts" },
  }),
);
