import { defineConfig } from "tsdown";
import { internalPackage } from "../../infra/build/tsdown-preset.ts";

// Entries are named after their source file: the declaration bundler names each .d.ts that way
// whatever the entry's name, and a .js beside a .d.ts of another name would leave it untyped.
export default defineConfig(
  internalPackage(import.meta.dirname, {
    entry: { index: "src/index.ts", "test-provider": "src/auth/oidc/test-provider.ts" },
  }),
);
