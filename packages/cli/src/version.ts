import { readFileSync } from "node:fs";

/**
 * This CLI's version, from the package.json above this module: packages/cli in the repository,
 * the flowplane package's root once built (its dist/ is one level down, like src/).
 */
export const cliVersion = (
  JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }
).version;
