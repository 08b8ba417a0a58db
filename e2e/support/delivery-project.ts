// A user's project for code-delivery tests and benchmarks: package.json, a lockfile, a dependency
// installed from it (a tarball inside the project, so no registry is involved), and one flow.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export const FLOW = `import { flow, getRunLogger } from "@flowplane/sdk";
import { greet } from "greet";

export const delivered = flow({ name: "delivered", logPrints: true }, async (params: { who?: string } = {}) => {
  const line = greet(params.who ?? "world");
  getRunLogger().info(line);
  console.log(\`cwd \${process.cwd()}\`);
  return line;
});
`;

/** A user's project: package.json, a lockfile, a dependency it installs, one flow. */
export async function writeProject(dir: string, scratch: string): Promise<void> {
  await mkdir(path.join(dir, "flows"), { recursive: true });
  const greetDir = await mkdtemp(path.join(scratch, "greet-src-"));
  await writeFile(
    path.join(greetDir, "package.json"),
    JSON.stringify({ name: "greet", version: "1.0.0", type: "module", main: "index.js" }),
  );
  await writeFile(
    path.join(greetDir, "index.js"),
    "export const greet = (who) => `hello, ${who}, from an installed dependency`;\n",
  );
  await mkdir(path.join(dir, "vendor"));
  await run("npm", ["pack", "--silent", "--pack-destination", path.join(dir, "vendor")], { cwd: greetDir });
  await writeFile(
    path.join(dir, "package.json"),
    JSON.stringify(
      { name: "etl", version: "1.0.0", type: "module", dependencies: { greet: "file:vendor/greet-1.0.0.tgz" } },
      null,
      2,
    ),
  );
  await run("npm", ["install", "--package-lock-only", "--offline", "--no-audit", "--no-fund"], { cwd: dir });
  await writeFile(path.join(dir, "flows/etl.ts"), FLOW);
  await writeFile(path.join(dir, ".gitignore"), "node_modules/\n*.log\n");
  // What deploy loads to read the flow's name, as a user's checkout would have it installed.
  await run("npm", ["ci", "--offline", "--no-audit", "--no-fund"], { cwd: dir });
}

/**
 * package.json and a package-lock.json that cannot install: the lockfile names a tarball that is not
 * in the project (never committed, say), with an integrity no npm cache holds, so `npm ci` fails on
 * the missing file, offline. Answers the path npm reports missing.
 */
export async function writeBrokenLockfile(dir: string): Promise<string> {
  const spec = "file:vendor/greet-1.0.0.tgz";
  const integrity = `sha512-${randomBytes(64).toString("base64")}`;
  await writeFile(
    path.join(dir, "package.json"),
    JSON.stringify({ name: "etl", version: "1.0.0", type: "module", dependencies: { greet: spec } }),
  );
  await writeFile(
    path.join(dir, "package-lock.json"),
    JSON.stringify({
      name: "etl",
      version: "1.0.0",
      lockfileVersion: 3,
      requires: true,
      packages: {
        "": { name: "etl", version: "1.0.0", dependencies: { greet: spec } },
        "node_modules/greet": { version: "1.0.0", resolved: spec, integrity },
      },
    }),
  );
  return path.join(dir, "vendor/greet-1.0.0.tgz");
}
