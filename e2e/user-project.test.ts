// Flowplane as a user adopts it: the release tarballs (`pnpm release:pack`) installed with npm into an
// empty project outside this repository, a TypeScript flow that imports @flowplane/sdk, and then only
// `node` and `npx flowplane …` — no workspace, no tsx, no source condition. The same steps are
// README's "Use Flowplane in your project".
//
// Packing builds what is stale (once per test run, shared with the docker pool's tests). The npm
// install is kept in a temp directory named after the tarballs' digest, so a run whose packages did
// not change reuses it; third-party dependencies come from the npm registry (or npm's cache).
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { cp, mkdir, mkdtemp, readFile, readdir, rm, stat, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "./harness.ts";
import { releaseTarballs, userEnv } from "./support/release.ts";

const run = promisify(execFile);

const ETL_FLOW = `import { flow, task, getRunLogger } from "@flowplane/sdk";

const extract = task({ name: "extract", retries: 2 }, async (day: string) => [\`\${day}:a\`, \`\${day}:b\`, \`\${day}:c\`]);
const load = task({ name: "load" }, async (rows: string[]) => rows.length);

export const etl = flow({ name: "etl", logPrints: true }, async (params: { day?: string } = {}) => {
  const rows = await extract(params.day ?? "2026-11-30");
  const loaded = await load(rows);
  getRunLogger().info(\`loaded \${loaded} rows\`);
  console.log("etl done");
  return loaded;
});

if (import.meta.main) console.log(\`result: \${await etl({ day: "2026-11-30" })}\`);
`;

let project: string;
let home: string;
let server: ChildProcess | null = null;
let worker: ChildProcess | null = null;
const outside: string[] = [];

/** `npx flowplane ARGS` in the project; from another directory, the project's installed bin. */
async function npx(args: string[], cwd = project, timeout = 60_000) {
  const [command, ...prefix] =
    cwd === project ? ["npx", "--no-install", "flowplane"] : [path.join(project, "node_modules/.bin/flowplane")];
  try {
    const { stdout, stderr } = await run(command!, [...prefix, ...args], {
      cwd,
      env: userEnv({ FLOWPLANE_HOME: home }),
      timeout,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? 1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

/** Runs `deployment` with `--watch`, which must exit non-zero with the run FAILED; answers the run's message. */
async function failedRunMessage(deployment: string): Promise<string> {
  const watched = await npx(["deployment", "run", deployment, "--watch", "--json"], project, 120_000);
  expect(watched.code).not.toBe(0);
  const final = JSON.parse(watched.stdout) as { state: { type: string; message: string } };
  expect(final.state.type).toBe("FAILED");
  return final.state.message;
}

beforeAll(async () => {
  const { files, digest } = await releaseTarballs();
  expect(files.map((file) => path.basename(file)).sort()).toEqual(
    ["flowplane-0.1.0.tgz", "flowplane-sdk-0.1.0.tgz", "flowplane-server-0.1.0.tgz"].sort(),
  );
  project = path.join(os.tmpdir(), `flowplane-user-project-${digest.slice(0, 16)}`);
  if (!existsSync(path.join(project, ".installed"))) {
    // Installs of earlier tarballs (about 300 MB each) are of no further use once a while has passed
    // (another checkout's test run may still be using a recent one).
    for (const entry of await readdir(os.tmpdir())) {
      const dir = path.join(os.tmpdir(), entry);
      if (entry.startsWith("flowplane-user-project-") && Date.now() - (await stat(dir)).mtimeMs > 3_600_000)
        await rm(dir, { recursive: true, force: true });
    }
    await rm(project, { recursive: true, force: true });
    await mkdir(project);
    await run("npm", ["init", "-y"], { cwd: project, env: userEnv() });
    await run("npm", ["pkg", "set", "type=module"], { cwd: project, env: userEnv() });
    await run("npm", ["install", "--no-audit", "--no-fund", ...files], {
      cwd: project,
      env: userEnv(),
      timeout: 480_000,
    });
    await writeFile(path.join(project, ".installed"), files.join("\n"));
  }
  await mkdir(path.join(project, "flows"), { recursive: true });
  await writeFile(path.join(project, "flows/etl.ts"), ETL_FLOW);
  home = await mkdtemp(path.join(os.tmpdir(), "flowplane-user-home-"));
  outside.push(home);
}, 900_000);

afterAll(async () => {
  // npx runs the CLI as its child: signal the whole process group each was started in.
  for (const child of [worker, server]) {
    if (child?.pid && child.exitCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      process.kill(-child.pid, "SIGTERM");
      await exited;
    }
  }
  for (const dir of outside) await rm(dir, { recursive: true, force: true });
}, 60_000);

describe("a user's own project with the release tarballs installed by npm", () => {
  it("installs an SDK whose dependency tree has no server, database, cloud or React packages", async () => {
    const { stdout } = await run("npm", ["ls", "--all", "--json"], { cwd: project, env: userEnv() });
    interface Tree {
      dependencies?: Record<string, Tree>;
    }
    const names = (tree: Tree): string[] =>
      Object.entries(tree.dependencies ?? {}).flatMap(([name, sub]) => [name, ...names(sub)]);
    const sdkTree = names((JSON.parse(stdout) as Tree).dependencies!["@flowplane/sdk"]!);
    expect(sdkTree).toContain("zod");
    const heavy = /prisma|^pg$|postgres|dockerode|@aws-sdk|@kubernetes|^react/;
    expect(sdkTree.filter((name) => heavy.test(name))).toEqual([]);
    const sdkManifest = JSON.parse(
      await readFile(path.join(project, "node_modules/@flowplane/sdk/package.json"), "utf8"),
    ) as { exports: unknown };
    expect(JSON.stringify(sdkManifest.exports)).not.toContain("src/");
  });

  it("runs flows/etl.ts locally with plain node (type stripping)", async () => {
    const { stdout, stderr } = await run(process.execPath, ["flows/etl.ts"], { cwd: project, env: userEnv() });
    expect(stdout).toContain("result: 3");
    expect(stderr).toMatch(/flow run 'etl' .* COMPLETED/);
  });

  it("starts the server, deploys the flow to a process pool, and a worker runs it to COMPLETED with its logs", async () => {
    server = spawn("npx", ["--no-install", "flowplane", "server", "start", "--port", "0"], {
      cwd: project,
      env: userEnv({ FLOWPLANE_HOME: home }),
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    let serverOutput = "";
    server.stderr!.on("data", (d: Buffer) => (serverOutput += d.toString()));
    server.stdout!.on("data", (d: Buffer) => (serverOutput += d.toString()));
    await waitFor("server ready", async () => /server ready at http/.test(serverOutput), 120_000).catch((err) => {
      throw new Error(`${(err as Error).message}\n${serverOutput}`);
    });

    const pool = await npx(["work-pool", "create", "local", "--type", "process"]);
    expect(pool.code, pool.stderr).toBe(0);
    const deployed = await npx(["deploy", "flows/etl.ts:etl", "--pool", "local"]);
    expect(deployed.code, deployed.stderr).toBe(0);

    worker = spawn("npx", ["--no-install", "flowplane", "worker", "start", "--pool", "local"], {
      cwd: project,
      env: userEnv({ FLOWPLANE_HOME: home }),
      stdio: ["ignore", "ignore", "ignore"],
      detached: true,
    });
    const watched = await npx(["deployment", "run", "etl/etl", "--watch", "--json"], project, 120_000);
    expect(watched.code, watched.stderr).toBe(0);
    const final = JSON.parse(watched.stdout) as { id: string; state: { type: string } };
    expect(final.state.type).toBe("COMPLETED");
    const logs = await npx(["flow-run", "logs", final.id]);
    expect(logs.stdout).toContain("loaded 3 rows");
    expect(logs.stdout).toContain("etl done");
  }, 240_000);

  it("`flowplane server start` in a project without @flowplane/server says exactly what to install", async () => {
    // The same installed tree, hard-linked (cheap) outside the project, minus the server package.
    const other = await mkdtemp(path.join(os.tmpdir(), "flowplane-user-noserver-"));
    outside.push(other);
    await run("cp", ["-al", path.join(project, "node_modules"), path.join(other, "node_modules")]);
    await rm(path.join(other, "node_modules/@flowplane/server"), { recursive: true });
    await writeFile(path.join(other, "package.json"), JSON.stringify({ name: "noserver", type: "module" }));
    const started = await run(path.join(other, "node_modules/.bin/flowplane"), ["server", "start", "--port", "0"], {
      cwd: other,
      env: userEnv({ FLOWPLANE_HOME: path.join(other, ".flowplane") }),
      timeout: 30_000,
    }).then(
      () => ({ code: 0, stdout: "", stderr: "" }),
      (err: { code?: number; stdout?: string; stderr?: string }) => ({
        code: err.code ?? 1,
        stdout: err.stdout ?? "",
        stderr: err.stderr ?? "",
      }),
    );
    expect(started.code).not.toBe(0);
    expect(started.stderr).toContain(
      "flowplane server start needs the @flowplane/server package beside this CLI: npm install @flowplane/server@0.1.0",
    );
    expect(started.stdout).toBe("");
  }, 60_000);

  it("fails a run whose project has no @flowplane/sdk, saying what to install", async () => {
    // A project outside the installed one: it borrows the SDK to deploy, then loses it.
    const other = await mkdtemp(path.join(os.tmpdir(), "flowplane-user-nosdk-"));
    outside.push(other);
    await mkdir(path.join(other, "flows"));
    await mkdir(path.join(other, "node_modules/@flowplane"), { recursive: true });
    await writeFile(path.join(other, "package.json"), JSON.stringify({ name: "nosdk", type: "module" }));
    await writeFile(path.join(other, "flows/etl.ts"), ETL_FLOW);
    const borrowed = path.join(other, "node_modules/@flowplane/sdk");
    await symlink(path.join(project, "node_modules/@flowplane/sdk"), borrowed);
    const deployed = await npx(["deploy", "flows/etl.ts:etl", "--name", "nosdk", "--pool", "local"], other);
    expect(deployed.code, deployed.stderr).toBe(0);
    await rm(borrowed);

    const message = await failedRunMessage("etl/nosdk");
    expect(message).toContain("cannot load @flowplane/sdk");
    expect(message).toContain("npm install @flowplane/sdk@0.1.0");
  }, 180_000);

  it("fails a run whose project has an incompatible @flowplane/sdk, naming both versions", async () => {
    // A sub-project with its own copy of the SDK claiming another version line; the copy's own
    // dependencies resolve from the enclosing project.
    const sub = path.join(project, "incompatible");
    await rm(sub, { recursive: true, force: true });
    await mkdir(path.join(sub, "flows"), { recursive: true });
    await writeFile(path.join(sub, "package.json"), JSON.stringify({ name: "incompatible", type: "module" }));
    await writeFile(path.join(sub, "flows/etl.ts"), ETL_FLOW);
    const copy = path.join(sub, "node_modules/@flowplane/sdk");
    await cp(path.join(project, "node_modules/@flowplane/sdk"), copy, { recursive: true });
    const manifest = JSON.parse(await readFile(path.join(copy, "package.json"), "utf8"));
    await writeFile(path.join(copy, "package.json"), JSON.stringify({ ...manifest, version: "9.0.0" }));
    const deployed = await npx(["deploy", "flows/etl.ts:etl", "--name", "incompatible", "--pool", "local"], sub);
    expect(deployed.code, deployed.stderr).toBe(0);

    const message = await failedRunMessage("etl/incompatible");
    expect(message).toContain("@flowplane/sdk 9.0.0");
    expect(message).toContain("flowplane 0.1.0");
    await rm(sub, { recursive: true, force: true });
  }, 180_000);
});
