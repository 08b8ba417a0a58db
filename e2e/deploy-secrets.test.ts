// `{{ secret.NAME }}` in build and push steps, end to end: `flowplane deploy` (a developer's key)
// pushes an image to Debian's docker-registry behind basic auth with the password from a secret.
// Refused, naming the secret and the command, until a workspace admin allows it at deploy (nothing
// pushed, no deployment written); then pushed. The admin turns it off again on the dashboard. The
// password is then counted: 0 times in the CLI's output (text and --json), the database (every
// table, a pg_dump, the deployment's stored steps and job variables), the server's debug log, the
// dashboard's secrets page and the files deploy could have written.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import type { Locator } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiClient, type ApiClient } from "@flowplane/client";
import { ensureDashboardBuilt, launchTestBrowser, signIn } from "./dashboard-support.ts";
import { outputOf, repoRoot, runCli, waitFor, type CliResult } from "./harness.ts";
import { startRegistry, type Registry } from "./support/registry.ts";
import { startServerProcess, type ServerProcess } from "./support/server-process.ts";

const run = promisify(execFile);
const IMAGE = process.env.FLOWPLANE_TEST_IMAGE ?? "flowplane-node:test";
const password = `regpw${randomBytes(12).toString("hex")}`;
const needles = [
  password,
  Buffer.from(password).toString("base64"),
  Buffer.from(password).toString("base64url"),
  // docker's X-Registry-Auth header and auth files carry `user:password` in base64.
  Buffer.from(`ci:${password}`).toString("base64"),
];
const countIn = (text: string) => needles.reduce((n, needle) => n + text.split(needle).length - 1, 0);

let server: ServerProcess;
let registry: Registry;
let root: string;
let project: string;
let admin: ApiClient;
let developerKeyId: string;
/** The deployer's environment (a developer key) and the workspace admin's. */
let developer: Record<string, string>;
let adminEnv: Record<string, string>;
/** Everything every CLI call printed, stdout and stderr. */
const cliOutput: string[] = [];
/** The dashboard pages the test saw. */
let dashboardText = "";

async function cli(args: string[], env: Record<string, string>, stdin?: string): Promise<CliResult> {
  const result = await runCli(args, env, { cwd: project, timeoutMs: 240_000, ...(stdin ? { stdin } : {}) });
  cliOutput.push(result.stdout, result.stderr);
  return result;
}

/** Repositories in the registry (its catalog needs the password too). */
async function catalog(): Promise<string[]> {
  const res = await fetch(`http://${registry.host}/v2/_catalog`, {
    headers: { authorization: `Basic ${Buffer.from(`ci:${password}`).toString("base64")}` },
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { repositories: string[] }).repositories;
}

const flowplaneYaml = (imageName: string) =>
  [
    "build:",
    "  - id: image",
    `    docker_build: { image: "${imageName}" }`,
    "push:",
    "  - id: pushed",
    "    docker_push:",
    '      image: "{{ image.image }}"',
    '      credentials: { username: ci, password: "{{ secret.REGISTRY_PASSWORD }}" }',
    "deployments:",
    "  - name: from-registry",
    "    entrypoint: flows/hello.ts:hello",
    "    pool: deploy-secrets",
    "",
  ].join("\n");

beforeAll(async () => {
  ensureDashboardBuilt();
  server = await startServerProcess({ FLOWPLANE_LOG_LEVEL: "debug" });
  registry = await startRegistry({ username: "ci", password });
  root = await mkdtemp(path.join(os.tmpdir(), "flowplane-deploy-secrets-"));
  project = path.join(root, "project");
  await mkdir(path.join(project, "flows"), { recursive: true });
  await mkdir(path.join(project, "node_modules/@flowplane"), { recursive: true });
  await symlink(path.join(repoRoot, "packages/sdk"), path.join(project, "node_modules/@flowplane/sdk"));
  await writeFile(
    path.join(project, "flows/hello.ts"),
    'import { flow } from "@flowplane/sdk";\nexport const hello = flow({ name: "pushed" }, async () => "hi");\n',
  );
  await writeFile(path.join(project, ".gitignore"), "node_modules/\n");
  await writeFile(path.join(project, "Dockerfile"), `FROM ${IMAGE}\nCOPY flows /app/flows\n`);
  await writeFile(path.join(project, "flowplane.yaml"), flowplaneYaml(`${registry.host}/pushed`));
  // An image named after a secret: its outputs would carry the value into the deployment.
  await writeFile(
    path.join(project, "leaky.yaml"),
    flowplaneYaml(`${registry.host}/{{ secret.IMAGE_NAMESPACE }}`).replace("from-registry", "leaky-image"),
  );
  admin = createApiClient({ apiUrl: server.url, apiKey: server.adminKey, workspace: "default" });
  const dev = await admin.apiKeys.create.mutate({ name: "deployer", scope: "DEVELOPER" });
  developerKeyId = dev.apiKey.id;
  const base = {
    FLOWPLANE_API_URL: server.url,
    FLOWPLANE_QUIET: "1",
    // Not a git repository: no default git_clone, whatever the temporary directory sits in.
    GIT_DIR: path.join(root, "no-git-repository"),
  };
  developer = { ...base, FLOWPLANE_API_KEY: dev.key, FLOWPLANE_HOME: path.join(root, "deployer-home") };
  adminEnv = { ...base, FLOWPLANE_API_KEY: server.adminKey, FLOWPLANE_HOME: path.join(root, "admin-home") };
  await admin.workPools.create.mutate({ name: "deploy-secrets", type: "process" });
  expect((await cli(["secret", "set", "REGISTRY_PASSWORD"], adminEnv, `${password}\n`)).code).toBe(0);
}, 120_000);

afterAll(async () => {
  await registry?.close();
  await server?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

describe("secrets in build and push steps", () => {
  it("are refused, naming the secret and the command, until a workspace admin allows them; then the push uses the password", async () => {
    // Not allowed at deploy yet: the push step is refused before it runs.
    const refused = await cli(["deploy"], developer);
    expect(refused.code, refused.stderr).toBe(1);
    expect(refused.stderr).toContain(
      'error: flowplane.yaml deployments[0] (from-registry): push step 1 (docker_push "pushed") failed: reading its ' +
        'secrets and variables: names: secret "REGISTRY_PASSWORD" is not allowed at deploy; a workspace admin allows ' +
        "it with `flowplane secret set REGISTRY_PASSWORD --allow-deploy --keep-value`",
    );
    expect(await catalog()).toEqual([]);
    expect(await admin.deployments.list.query()).toEqual([]);

    // A developer cannot allow it; the workspace admin can, without sending the value again.
    const notAdmin = await cli(["secret", "set", "REGISTRY_PASSWORD", "--allow-deploy", "--keep-value"], developer);
    expect([notAdmin.code, notAdmin.stderr]).toEqual([1, expect.stringMatching(/^error: this needs a admin key/)]);
    const allowed = await cli(["secret", "set", "REGISTRY_PASSWORD", "--allow-deploy", "--keep-value"], adminEnv);
    expect([allowed.code, allowed.stdout]).toEqual([0, "kept secret REGISTRY_PASSWORD (allowed at deploy)\n"]);
    const listed = JSON.parse((await cli(["secret", "ls", "--json"], developer)).stdout) as {
      name: string;
      allowDeploy: boolean;
    }[];
    expect(listed).toEqual([expect.objectContaining({ name: "REGISTRY_PASSWORD", allowDeploy: true })]);
    expect((await cli(["secret", "ls"], developer)).stdout).toMatch(/\nREGISTRY_PASSWORD .*\s+allowed\n$/);

    const deployed = await cli(["deploy"], developer);
    expect(deployed.code, deployed.stderr).toBe(0);
    expect(deployed.stdout).toBe("pushed/from-registry: created (version 1)\n");
    expect(deployed.stderr).toContain("push step 1 docker_push done");
    expect(await catalog()).toEqual(["pushed"]);
    const stored = await admin.deployments.get.query({ name: "pushed/from-registry" });
    expect(stored.jobVariables).toEqual({ image: expect.stringMatching(/\/pushed@sha256:[0-9a-f]{64}$/) as string });
    expect(stored.codeVersion).toBe(`image:${(stored.jobVariables as { image: string }).image}`);

    // --json: one document on stdout, the same deployment unchanged.
    const again = await cli(["deploy", "--json"], developer);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toEqual([
      expect.objectContaining({ deployment: "pushed/from-registry", created: false, changed: [] }),
    ]);

    // Each deploy's read is recorded against the developer key, the step and the deployment.
    const reads = await admin.secrets.reads.query({ name: "REGISTRY_PASSWORD" });
    expect(reads.map(({ readAt: _, ...r }) => r)).toEqual(
      Array.from({ length: 2 }, () => ({
        reader: "deploy",
        step: 'push step 1 (docker_push "pushed")',
        deployments: ["pushed/from-registry"],
        apiKeyId: developerKeyId,
        userId: null,
        serviceAccountId: expect.any(String) as string,
        flowRunId: null,
        workerId: null,
      })),
    );
    const audit = await admin.audit.list.query({ action: "secrets.resolveForDeploy" });
    expect(audit.events.map((e) => [e.outcome, e.target])).toEqual([
      ["ok", { names: ["REGISTRY_PASSWORD"], deploymentNames: ["pushed/from-registry"] }],
      ["ok", { names: ["REGISTRY_PASSWORD"], deploymentNames: ["pushed/from-registry"] }],
      ["refused", { names: ["REGISTRY_PASSWORD"], deploymentNames: ["pushed/from-registry"] }],
    ]);
  }, 300_000);

  it("refuses to store a value derived from a secret (an image named after it), writing no deployment", async () => {
    await cli(["secret", "set", "IMAGE_NAMESPACE", "--allow-deploy"], adminEnv, "teamsecret\n");
    const refused = await cli(["deploy", "--file", "leaky.yaml"], developer);
    expect([refused.code, refused.stderr]).toEqual([
      2,
      expect.stringContaining(
        "error: leaky.yaml deployments[0] (leaky-image): jobVariables.image: would store a secret's value (an output of a build or push step that used it); deployments keep only {{ secret.NAME }} references, so nothing was deployed",
      ),
    ]);
    // Its lines said *** where the value was.
    expect(refused.stderr).toContain(`docker_build: ${registry.host}/***:`);
    expect(refused.stderr).not.toContain("teamsecret");
    expect((await admin.deployments.list.query()).map((d) => d.name)).toEqual(["from-registry"]);
  }, 300_000);

  it("a workspace admin turns it off on the dashboard's secrets page (developers only see it), and deploy is refused again", async () => {
    /** The secrets page as the holder of `key` sees it, in a browser of its own. */
    const onSecretsPage = async (key: string, look: (table: Locator) => Promise<void>) => {
      const browser = await launchTestBrowser();
      try {
        await signIn(browser.page, server.url, key);
        await browser.page.goto(`${server.url}/secrets`);
        await look(browser.page.getByTestId("secrets-table"));
        dashboardText += await browser.page.content();
      } finally {
        await browser.close();
      }
    };
    await onSecretsPage(server.adminKey, async (table) => {
      const toggle = table.getByLabel("Allow REGISTRY_PASSWORD at deploy");
      expect(await toggle.isChecked()).toBe(true);
      // A click, not uncheck(): the box shows the server's answer, so it changes once the list reloads.
      await toggle.click();
      await waitFor("the flag to be off", async () => {
        const secrets = await admin.secrets.list.query();
        return secrets.find((x) => x.name === "REGISTRY_PASSWORD")?.allowDeploy === false;
      });
      await waitFor("the page to show it", async () => !(await toggle.isChecked()));
    });
    // A developer sees the decision, with no switch.
    await onSecretsPage(developer.FLOWPLANE_API_KEY!, async (table) => {
      const row = table.getByRole("row", { name: /IMAGE_NAMESPACE/ });
      await row.getByText("allowed", { exact: true }).waitFor();
      expect(await table.getByRole("checkbox").count()).toBe(0);
    });
    const [change] = (await admin.audit.list.query({ action: "secrets.setAllowDeploy" })).events;
    expect([change?.outcome, change?.target]).toEqual(["ok", { name: "REGISTRY_PASSWORD", allowDeploy: false }]);
    const refused = await cli(["deploy"], developer);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('secret "REGISTRY_PASSWORD" is not allowed at deploy');
  }, 180_000);

  it("leaves the password nowhere: CLI output, database, the deployment's stored fields, server log, files", async () => {
    const counts: Record<string, number> = {};
    counts["CLI output (text and --json)"] = countIn(cliOutput.join("\n"));
    const tables = (
      await server.db.pool.query<{ tablename: string }>(`SELECT tablename FROM pg_tables WHERE schemaname = 'public'`)
    ).rows.map((r) => r.tablename);
    let rows = 0;
    for (const table of tables) {
      const { rows: found } = await server.db.pool.query<{ text: string }>(`SELECT t::text AS text FROM "${table}" t`);
      rows += countIn(found.map((r) => r.text).join("\n"));
    }
    counts["database rows (every table)"] = rows;
    const dump = (await run("pg_dump", [server.db.url], { maxBuffer: 256 * 1024 * 1024 })).stdout;
    expect(dump).toContain("fpenc:v1:");
    counts["pg_dump"] = countIn(dump);
    const stored = await admin.deployments.get.query({ name: "pushed/from-registry" });
    counts["the deployment (steps, job variables)"] = countIn(JSON.stringify(stored));
    expect(dashboardText).toContain("REGISTRY_PASSWORD");
    counts["dashboard secrets page (admin and developer)"] = countIn(dashboardText);
    expect(outputOf(server.child)).toContain('"msg":"Flowplane server ready"');
    counts["server log (debug)"] = countIn(outputOf(server.child));
    // Nothing written to disk: no docker auth file, no cache entry, nothing in the project.
    let files = 0;
    for (const dir of [developer.FLOWPLANE_HOME!, project, path.join(os.homedir(), ".docker")]) {
      const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
      for (const e of entries)
        if (e.isFile()) files += countIn(await readFile(path.join(e.parentPath, e.name), "latin1").catch(() => ""));
    }
    counts["files (deployer's FLOWPLANE_HOME, project, ~/.docker)"] = files;
    console.log(`registry password occurrences: ${JSON.stringify(counts)}`);
    expect(counts).toEqual(Object.fromEntries(Object.keys(counts).map((k) => [k, 0])));
    // The count can see it: the secret is in the database, sealed.
    const sealed = await server.db.pool.query<{ value: string }>(
      `SELECT value FROM "Secret" WHERE name = 'REGISTRY_PASSWORD'`,
    );
    expect(sealed.rows[0]!.value).toMatch(/^fpenc:v1:/);
    expect(countIn(`${dump}${password}`)).toBe(1);
  });
});
