import path from "node:path";
import { defineConfig } from "tsdown";
import { internalPackage } from "../../infra/build/tsdown-preset.ts";

// dist/prisma: the schema and migrations, which src/migrations.ts reads beside its bundle when it
// runs from dist/ (the server's build copies them the same way).
export default defineConfig({
  ...internalPackage(import.meta.dirname, { entry: { index: "src/index.ts", testing: "src/testing.ts" } }),
  copy: [{ from: path.resolve(import.meta.dirname, "../../prisma"), to: path.join(import.meta.dirname, "dist") }],
});
