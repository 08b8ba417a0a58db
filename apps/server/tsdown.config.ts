import path from "node:path";
import { defineConfig } from "tsdown";
import { publicPackage } from "../../infra/build/tsdown-preset.ts";

// The control plane bundles the API, database and core packages; dist/ also carries the built
// dashboard (served at /) and prisma/ (schema and migrations, applied at every start). start.ts and
// packages/db/src/migrations.ts look for them there when they run from dist/.
const repoRoot = path.resolve(import.meta.dirname, "../..");
export default defineConfig({
  ...publicPackage(import.meta.dirname, { entry: { index: "src/index.ts" } }),
  // tsdown copies a folder into `to` under its own name: apps/dashboard/dist → dist/dashboard.
  copy: [
    {
      from: path.join(repoRoot, "apps/dashboard/dist"),
      to: path.join(import.meta.dirname, "dist"),
      rename: "dashboard",
    },
    { from: path.join(repoRoot, "prisma"), to: path.join(import.meta.dirname, "dist") },
  ],
});
