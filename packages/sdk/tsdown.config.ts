import { defineConfig } from "tsdown";
import { publicPackage } from "../../infra/build/tsdown-preset.ts";

export default defineConfig(
  publicPackage(import.meta.dirname, {
    entry: { index: "src/index.ts", runner: "src/runner.ts", "runner-main": "src/runner-main.ts" },
    genericAppRouter: true,
  }),
);
