import { defineConfig } from "tsdown";
import { internalPackage } from "../../infra/build/tsdown-preset.ts";

export default defineConfig(internalPackage(import.meta.dirname, { entry: { index: "src/index.ts" } }));
