// Secrets end to end on the process and docker pools: set through the CLI, referenced from a
// deployment's parameters and job variables, read by a flow that leaks it every way it can, and then
// counted — the canary (and its base64) must appear 0 times in the database's tables, a pg_dump of
// it, the server's and worker's logs, the answer of every query procedure of the router to every
// scope of key and to the run's own token, the websocket events of every scope, and every page of
// the dashboard.
import { randomBytes } from "node:crypto";
import { execFile } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiClient, type ApiClient } from "@flowplane/client";
import { ensureDashboardBuilt, launchBrowser, signIn } from "./dashboard-support.ts";
import { exited, outputOf, repoRoot, runCli, spawnCli, startTestServer, waitFor, type TestServer } from "./harness.ts";
import {
  callEveryRead,
  missingReadInputs,
  queryProcedures,
  type ReadAnswer,
  type WorkspaceIds,
} from "./support/read-procedures.ts";
import { releaseWorkerImage, workerImageJobVars } from "./support/release.ts";

const run = promisify(execFile);
let server: TestServer;
let serverProcess: ReturnType<typeof spawnCli>;
const pool = "secret-pool";
const dockerPool = "secret-docker";
const canary = `canary${randomBytes(12).toString("hex")}`;
const pemLines = [randomBytes(24).toString("hex"), randomBytes(24).toString("hex")];
const pem = `-----BEGIN TEST KEY-----\n${pemLines.join("\n")}\n-----END TEST KEY-----`;
/** What must never be recorded: the canary, its base64 forms, and each line of the multi-line secret. */
const needles = [
  canary,
  Buffer.from(canary).toString("base64"),
  Buffer.from(canary).toString("base64url"),
  ...pemLines,
  Buffer.from(pem).toString("base64"),
];
const countIn = (text: string) => needles.reduce((n, needle) => n + text.split(needle).length - 1, 0);

const keys: Record<"READ" | "WORKER" | "DEVELOPER" | "ADMIN", string> = {
  READ: "",
  WORKER: "",
  DEVELOPER: "",
  ADMIN: "",
};
const clientFor = (key: string, withSubscriptions = false): ApiClient =>
  createApiClient({ apiUrl: server.url, apiKey: key, workspace: "default" }, { withSubscriptions });
type Scope = keyof typeof keys;
const SCOPES = Object.keys(keys) as Scope[];

beforeAll(async () => {
  ensureDashboardBuilt();
  const image = await releaseWorkerImage();
  server = await startTestServer();
  // The server runs as a user runs it, a `flowplane server start` process, so its log output is real.
  await server.stopServer();
  serverProcess = spawnCli(["server", "start", "--port", new URL(server.url).port], {
    DATABASE_URL: server.db.url,
    FLOWPLANE_HOME: server.home,
    FLOWPLANE_MASTER_KEY: server.masterKey!,
    FLOWPLANE_LOG_LEVEL: "debug",
    FLOWPLANE_API_URL: "",
    FLOWPLANE_API_KEY: "",
  });
  await waitFor("the server", async () => (await fetch(`${server.url}/health`).catch(() => null))?.ok, 60_000, 50);
  keys.ADMIN = server.adminKey;
  for (const scope of ["READ", "WORKER", "DEVELOPER"] as const)
    keys[scope] = (await server.api.apiKeys.create.mutate({ name: `${scope.toLowerCase()}-key`, scope })).key;
  const dev = { ...server.env, FLOWPLANE_API_KEY: keys.DEVELOPER };
  const cli = async (args: string[], options: { stdin?: string } = {}) => {
    const result = await runCli(args, dev, { cwd: repoRoot, ...options });
    expect(result.code, `${args.join(" ")}: ${result.stderr}`).toBe(0);
    return result;
  };
  await cli(["work-pool", "create", pool, "--type", "process"]);
  await cli(["work-pool", "create", dockerPool, "--type", "docker"]);
  await cli(["secret", "set", "CANARY"], { stdin: `${canary}\n` });
  const pemFile = path.join(server.home, "key.pem");
  await writeFile(pemFile, pem);
  await cli(["secret", "set", "CANARY_PEM", "--from-file", pemFile]);
  await cli(["variable", "set", "region", "--json", '{"name":"eu-west-1"}']);
  const deploy = (name: string, extra: string[], onPool = pool) =>
    cli(["deploy", "e2e/fixtures/secret-flows.ts:leaky", "--name", name, "--pool", onPool, ...extra]);
  const leakyArgs = [
    "--param",
    "token={{ secret.CANARY }}",
    "--param",
    "region={{ variable.region }}",
    "--job-var",
    "env.CANARY_ENV={{ secret.CANARY }}",
    // Read by the flow's code only (getSecret): declared, or the run may not read it.
    "--secret",
    "CANARY_PEM",
  ];
  await deploy("leaky", leakyArgs);
  // In a container of the image built from the release tarballs, on the host network (as e2e/docker.test.ts).
  await deploy(
    "leaky-docker",
    // The container is kept so the test can `docker inspect` it (its env holds the template only).
    [...leakyArgs, ...workerImageJobVars(image, ["e2e/fixtures/secret-flows.ts"]), "--job-var", "auto_remove=false"],
    dockerPool,
  );
  await deploy("missing-param", ["--param", "token={{ secret.NOPE }}", "--param", "region=x"]);
  await deploy("missing-job-var", [
    "--param",
    "token=x",
    "--param",
    "region=x",
    "--job-var",
    "env.X={{ secret.ABSENT }}",
  ]);
}, 900_000);

afterAll(async () => {
  serverProcess?.kill("SIGTERM");
  if (serverProcess) await exited(serverProcess);
  await server?.close();
});

/** Answers of the writes the test makes itself (runs created, the retry, the hand claim), counted too. */
const writeAnswers: unknown[] = [];

async function runToEnd(deployment: string): Promise<string> {
  const created = await clientFor(keys.DEVELOPER).deployments.run.mutate({ name: deployment });
  writeAnswers.push(created);
  await waitFor(
    `${deployment} to finish`,
    async () => {
      const r = await clientFor(keys.READ).flowRuns.get.query({ id: created.id });
      return ["COMPLETED", "FAILED", "CRASHED", "CANCELLED"].includes(r.state.type) ? r : null;
    },
    60_000,
    100,
  );
  return created.id;
}

/** The run did what it was written to do, with *** wherever the value went. */
async function expectLeakyRunRedacted(runId: string): Promise<void> {
  const read = clientFor(keys.READ);
  const final = await read.flowRuns.get.query({ id: runId });
  expect(final.state.type).toBe("FAILED");
  expect(final.state.message).toContain("giving up with ***");
  expect(final.parameters).toEqual({ token: "{{ secret.CANARY }}", region: "{{ variable.region }}" });
  const lines = (await read.logs.list.query({ flowRunId: runId })).map((l) => l.message);
  for (const expected of [
    'region eu-west-1 / {"name":"eu-west-1"}',
    "the secret is ***",
    "from the environment: ***",
    "printed: ***",
    "split: *** end",
    "base64: ***",
    "task error: Task run 'leak_in_error-0' failed: task failed holding ***",
  ])
    expect(lines, `${expected} in ${JSON.stringify(lines)}`).toContain(expected);
  // The multi-line secret, printed through logPrints and written to stdout: redacted whole, both times;
  // logged a line at a time: each of its four lines (the BEGIN/END armour too) redacted on its own.
  expect(lines.filter((l) => l === "***")).toHaveLength(2);
  expect(lines.filter((l) => l.startsWith("pem line: "))).toEqual(Array(4).fill("pem line: ***"));
  expect(lines.some((l) => l.startsWith("Flow run failed: Error: giving up with ***\n    at "))).toBe(true);
  const artifacts = await read.artifacts.list.query({ flowRunId: runId });
  expect(artifacts.map((a) => a.data)).toContain("# Report\n\ntoken: ***");
  expect(artifacts.find((a) => a.key === "leak-table")?.data).toEqual({
    columns: ["name", "value", "pem"],
    rows: [["token", "***", "***"]],
  });
  const children = await read.flowRuns.list.query({ parentFlowRunId: runId });
  expect(children.items.map((c) => c.parameters)).toEqual([{ token: "***" }]);
}

/** Everything the workspace holds, from the database: what the read procedures and the pages are asked about. */
async function workspaceIds(): Promise<WorkspaceIds & { deploymentNames: string[] }> {
  const column = async (sql: string) => (await server.db.pool.query<{ v: string }>(sql)).rows.map((r) => r.v);
  return {
    flowRunIds: await column(`SELECT id::text AS v FROM "FlowRun" ORDER BY "createdAt"`),
    taskRunIds: await column(`SELECT id::text AS v FROM "TaskRun" ORDER BY "createdAt"`),
    flowIds: await column(`SELECT id::text AS v FROM "Flow" ORDER BY name`),
    flowNames: await column(`SELECT name AS v FROM "Flow" ORDER BY name`),
    deploymentIds: await column(`SELECT id::text AS v FROM "Deployment" ORDER BY name`),
    deploymentNames: await column(`SELECT name AS v FROM "Deployment" ORDER BY name`),
    workPoolNames: await column(`SELECT name AS v FROM "WorkPool" ORDER BY name`),
    workerIds: await column(`SELECT id::text AS v FROM "Worker" ORDER BY name`),
    secretNames: await column(`SELECT name AS v FROM "Secret" ORDER BY name`),
    variableNames: await column(`SELECT name AS v FROM "Variable" ORDER BY name`),
    artifactKeys: await column(`SELECT DISTINCT key AS v FROM "Artifact" WHERE key IS NOT NULL`),
  };
}

/**
 * The leaky run's own token: the run is retried and claimed by hand as a worker claims it, so the
 * token is one the server issues for that very run (its logs, artifacts and states hold the leaks).
 */
async function leakyRunToken(runId: string): Promise<ApiClient> {
  writeAnswers.push(await clientFor(keys.DEVELOPER).flowRuns.retry.mutate({ id: runId }));
  const worker = clientFor(keys.WORKER);
  const { workerId } = await worker.workers.heartbeat.mutate({ workPoolName: pool, workerName: "w-token" });
  const claimed = await waitFor(
    "the retried run to be claimed",
    async () => {
      const polled = await worker.workers.poll.mutate({ workerId, limit: 1, waitMs: 1_000 });
      writeAnswers.push(polled);
      return polled.runs.find((r) => r.id === runId);
    },
    20_000,
    0,
  );
  // The claim carries the run's job configuration: its secret references, not their values.
  expect(JSON.stringify(claimed)).toContain("{{ secret.CANARY }}");
  return createApiClient({ apiUrl: server.url, apiKey: claimed.runToken, workspace: null, runToken: true });
}

/** People of each role, signed in as the dashboard signs them in (password, cookie, CSRF-checked access token). */
async function peopleClients(withSubscriptions: boolean): Promise<[string, ApiClient][]> {
  const password = "canary test passphrase, not a secret 2026";
  const post = async (procedure: string, input: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${server.url}/trpc/${procedure}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify(input),
    });
    const body = (await res.json()) as { result?: { data: unknown }; error?: { message: string } };
    expect(body.error?.message, procedure).toBeUndefined();
    return {
      data: body.result!.data,
      cookie: res.headers
        .getSetCookie()
        .map((c) => c.split(";")[0])
        .join("; "),
    };
  };
  const people: [string, ApiClient][] = [];
  for (const role of ["viewer", "developer", "owner"] as const) {
    const email = `${role}@canary.test`;
    await clientFor(keys.ADMIN).members.createUser.mutate({ email, role, password });
    const signedIn = await post("auth.signIn", { email, password });
    const { csrfToken } = signedIn.data as { csrfToken: string };
    const access = await post("auth.accessToken", {}, { cookie: signedIn.cookie, "x-flowplane-csrf": csrfToken });
    const { token } = access.data as { token: string };
    people.push([
      `${role} sign-in`,
      createApiClient({ apiUrl: server.url, apiKey: token, workspace: null }, { withSubscriptions }),
    ]);
  }
  return people;
}

/** The dashboard's routes, as app.tsx's Routes matches them (`/runs/:id` and the like). */
async function dashboardRoutes(): Promise<string[]> {
  const source = await readFile(path.join(repoRoot, "apps/dashboard/src/app.tsx"), "utf8");
  const routes = source.slice(source.indexOf("function Routes("), source.indexOf("function Shell("));
  return [...routes.matchAll(/pathname === "([^"]+)"|matchPath\("([^"]+)"/g)].map((m) => (m[1] ?? m[2])!);
}

const routeMatches = (route: string, pathname: string) =>
  new RegExp(`^${route.replace(/:[a-z]+/gi, "[^/]+")}$`).test(pathname);

/**
 * Renders every page of the dashboard in one Chromium, signed in with the admin key (who sees every
 * page): each page once it shows what it lists, run pages with each of their tabs. Answers the
 * canary count and the pages rendered; a route of app.tsx without a page here fails the test.
 */
async function countInDashboard(
  ids: Awaited<ReturnType<typeof workspaceIds>>,
  leakyRunIds: string[],
): Promise<{ count: number; pages: string[] }> {
  // Each page with a text it shows once loaded ("" for pages that show nothing of this workspace).
  const listPages: Record<string, string> = {
    "/": "leaky-docker",
    "/runs": "leaky-docker",
    "/flows": "leaky_child",
    "/deployments": "leaky-docker",
    "/work-pools": dockerPool,
    "/api-keys": "read-key",
    "/secrets": "CANARY_PEM",
    "/members": "Members",
    "/service-accounts": "Service accounts",
    "/device": "",
    "/audit": "secrets.set",
    "/sso": "Single sign-on",
  };
  const pages = [
    ...Object.entries(listPages).map(([path, ready]) => ({ path, ready })),
    ...ids.flowRunIds.map((id) => ({ path: `/runs/${id}`, ready: "" })),
    ...ids.deploymentIds.map((id, i) => ({ path: `/deployments/${id}`, ready: ids.deploymentNames[i]! })),
    ...ids.workPoolNames.map((name) => ({ path: `/work-pools/${name}`, ready: name })),
  ];
  const routes = await dashboardRoutes();
  // A Routes function rewritten out of this shape would match nothing and check nothing: say so.
  expect(routes.length, "routes found in app.tsx").toBeGreaterThanOrEqual(15);
  const unrendered = routes.filter((route) => !pages.some((p) => routeMatches(route, p.path)));
  expect(unrendered, "dashboard routes the canary test does not render").toEqual([]);
  const browser = await launchBrowser();
  try {
    const page = browser.page;
    page.setDefaultTimeout(20_000);
    await signIn(page, server.url, keys.ADMIN);
    let text = "";
    for (const { path: pathname, ready } of pages) {
      await page.goto(`${server.url}${pathname}`);
      if (leakyRunIds.some((id) => pathname === `/runs/${id}`))
        await page.getByTestId("logs").getByText("the secret is ***").waitFor();
      else if (pathname.startsWith("/runs/")) await page.getByTestId("run-state").waitFor();
      else if (ready) await page.getByText(ready).filter({ visible: true }).first().waitFor();
      // Tables still loading say so (aria-busy); count what they show once loaded.
      await page.waitForFunction(() => document.querySelector('[aria-busy="true"]') === null);
      expect(await page.getByText("Page not found").count(), pathname).toBe(0);
      text += await page.content();
      for (const tab of [/State history/, /Parameters/, /Artifacts/]) {
        const button = page.getByRole("tab", { name: tab });
        if ((await button.count()) === 0) continue;
        await button.click();
        text += await page.content();
      }
    }
    expect(text).toContain("***");
    return { count: countIn(text), pages: pages.map((p) => p.path) };
  } finally {
    await browser.close();
  }
}

describe("secrets end to end (process and docker pools)", () => {
  it("the canary test has inputs for every query procedure of the router", () => {
    expect(missingReadInputs()).toEqual({ missing: [], stale: [] });
  });

  it("the CLI never takes a value from an argument and never prints one", async () => {
    const refused = await runCli(["secret", "set", "CANARY", canary], {
      ...server.env,
      FLOWPLANE_API_KEY: keys.DEVELOPER,
    });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("never taken from arguments");
    expect(countIn(refused.stderr + refused.stdout)).toBe(0);
  });

  it("a canary secret leaked every way by a flow is recorded nowhere, while the run reads it and behaves", async () => {
    // Every scope's view of the live events, keys' and people's (events are not filtered by scope
    // today; this says so if that changes). People sign in now: their access tokens are short-lived.
    const people = await peopleClients(true);
    const listeners: [string, ApiClient][] = [
      ...SCOPES.map((scope): [string, ApiClient] => [`${scope} key`, clientFor(keys[scope], true)]),
      ...people,
    ];
    const events: Record<string, unknown[]> = Object.fromEntries(listeners.map(([who]) => [who, []]));
    const subscriptions = listeners.map(([who, api]) =>
      api.events.subscribe.subscribe(undefined, { onData: (e) => events[who]!.push(e) }),
    );
    const workerEnv = { ...server.env, FLOWPLANE_API_KEY: keys.WORKER, FLOWPLANE_WORKER_HEARTBEAT_SECONDS: "1" };
    const workers = [
      spawnCli(["worker", "start", "--pool", pool, "--name", "w-secrets"], workerEnv),
      spawnCli(["worker", "start", "--pool", dockerPool, "--name", "w-secrets-docker"], workerEnv),
    ];
    let runIds: string[];
    let missingParamRun: string;
    let missingJobVarRun: string;
    try {
      runIds = await Promise.all([runToEnd("leaky/leaky"), runToEnd("leaky/leaky-docker")]);
      missingParamRun = await runToEnd("leaky/missing-param");
      missingJobVarRun = await runToEnd("leaky/missing-job-var");
    } finally {
      for (const worker of workers) worker.kill("SIGTERM");
      for (const worker of workers) await exited(worker);
      for (const subscription of subscriptions) subscription.unsubscribe();
    }
    const workerOutput = workers.map(outputOf).join("\n");
    const read = clientFor(keys.READ);
    for (const runId of runIds) await expectLeakyRunRedacted(runId);

    // A reference to a missing secret fails the run before it starts, naming it.
    const paramFailure = await read.flowRuns.get.query({ id: missingParamRun });
    expect([paramFailure.state.type, paramFailure.state.message]).toEqual([
      "FAILED",
      'secret "NOPE" does not exist (in this workspace); the run\'s parameters reference it',
    ]);
    const jobFailure = await read.flowRuns.get.query({ id: missingJobVarRun });
    expect([jobFailure.state.type, jobFailure.state.message]).toEqual([
      "FAILED",
      'secret "ABSENT" referenced by the job variables does not exist',
    ]);

    // Every read was recorded, against the run and the worker that held it.
    const reads = await read.secrets.reads.query({ name: "CANARY" });
    expect(reads.length).toBeGreaterThanOrEqual(4);
    expect(new Set(reads.map((r) => r.flowRunId))).toEqual(new Set(runIds));
    expect(reads.some((r) => r.workerId !== null)).toBe(true);

    // Every query procedure of the router, with inputs naming everything the workspace holds, asked by
    // every scope of key, by the leaky run's own token (claimed again, so before the database is
    // counted) and by people of each role through their sign-in.
    const runToken = await leakyRunToken(runIds[0]!);
    const ids = await workspaceIds();
    const principals: [string, ApiClient][] = [
      ...SCOPES.map((scope): [string, ApiClient] => [`${scope} key`, clientFor(keys[scope])]),
      ["run token", runToken],
      ...people,
    ];
    const answers: Record<string, ReadAnswer[]> = Object.fromEntries(
      await Promise.all(principals.map(async ([who, api]) => [who, await callEveryRead(api, ids)] as const)),
    );
    // Each call answered someone with data (a refusal to everyone would count nothing), but the
    // made-up invitation token; the run token reads its own run.
    const calls = answers["ADMIN key"]!.map((a) => a.call);
    expect(new Set(calls.map((call) => call.split("#")[0]))).toEqual(new Set(queryProcedures()));
    const answeredNobody = calls.filter((call) =>
      Object.values(answers).every((list) => list.find((a) => a.call === call)?.outcome !== "OK"),
    );
    expect(answeredNobody).toEqual(["auth.invitation#0"]);
    expect(answers["run token"]!.filter((a) => a.outcome === "OK").map((a) => a.call)).toEqual(
      expect.arrayContaining(["auth.whoami#0", `flowRuns.get#${ids.flowRunIds.indexOf(runIds[0]!)}`]),
    );

    // Now count the canary everywhere.
    const counts: Record<string, number> = {};
    const tables = (
      await server.db.pool.query<{ tablename: string }>(`SELECT tablename FROM pg_tables WHERE schemaname = 'public'`)
    ).rows.map((r) => r.tablename);
    let dbTotal = 0;
    for (const table of tables) {
      const { rows } = await server.db.pool.query<{ text: string }>(`SELECT t::text AS text FROM "${table}" t`);
      dbTotal += countIn(rows.map((r) => r.text).join("\n"));
    }
    counts["database rows (every table)"] = dbTotal;
    const dump = (await run("pg_dump", [server.db.url], { maxBuffer: 256 * 1024 * 1024 })).stdout;
    // A real dump of this data: the sealed value is in it (and the count below would see the canary if it were).
    expect(dump).toContain("fpenc:v1:");
    expect(countIn(`${dump}${canary}`)).toBe(1);
    counts["pg_dump"] = countIn(dump);
    expect(outputOf(serverProcess)).toContain('"msg":"Flowplane server ready"');
    counts["server log (debug)"] = countIn(outputOf(serverProcess));
    counts["worker output"] = countIn(workerOutput);
    const kept = (await run("docker", ["ps", "-aq", "--filter", `label=flowplane.run-id=${runIds[1]}`])).stdout.trim();
    expect(kept).not.toBe("");
    counts["docker inspect (the docker run's container)"] = countIn((await run("docker", ["inspect", kept])).stdout);
    await run("docker", ["rm", "-f", kept]);
    for (const [who, list] of Object.entries(events)) {
      expect(list.length, `${who} events`).toBeGreaterThan(5);
      counts[`websocket events (${who})`] = countIn(JSON.stringify(list));
    }
    // The server's other HTTP answers (with no FLOWPLANE_METRICS_TOKEN, /metrics is open).
    const endpoints = await Promise.all(
      ["/health", "/metrics"].map(async (p) => {
        const res = await fetch(`${server.url}${p}`);
        expect(res.status, p).toBe(200);
        return res.text();
      }),
    );
    expect(endpoints[1]).toContain("flowplane_");
    counts["API write answers (runs created, retry, claim)"] = countIn(JSON.stringify(writeAnswers));
    counts["/health and /metrics"] = countIn(endpoints.join("\n"));
    for (const [who, list] of Object.entries(answers))
      counts[`API reads (${who})`] = countIn(list.map((a) => a.text).join("\n"));
    const cliEnv = { ...server.env, FLOWPLANE_API_KEY: keys.ADMIN };
    const cliOut = await Promise.all([
      ...runIds.map((runId) => runCli(["flow-run", "logs", runId], cliEnv)),
      ...runIds.map((runId) => runCli(["flow-run", "inspect", runId, "--json"], cliEnv)),
      runCli(["secret", "ls", "--json"], cliEnv),
      runCli(["deployment", "inspect", "leaky/leaky", "--json"], cliEnv),
    ]);
    counts["CLI output"] = countIn(cliOut.map((r) => r.stdout + r.stderr).join("\n"));
    // `deployment inspect` shows the secrets the deployment declares for its code.
    expect((JSON.parse(cliOut.at(-1)!.stdout) as { secrets: string[] }).secrets).toEqual(["CANARY_PEM"]);
    const dashboard = await countInDashboard(ids, runIds);
    counts["dashboard pages"] = dashboard.count;
    const okAnswers = Object.values(answers).reduce((n, list) => n + list.filter((a) => a.outcome === "OK").length, 0);
    const coverage =
      `${new Set(calls.map((c) => c.split("#")[0])).size} query procedures, ${calls.length} calls × ${principals.length} principals ` +
      `(${okAnswers} answered, the rest refused); ${dashboard.pages.length} pages; ` +
      `websocket events: ${Object.entries(events)
        .map(([who, list]) => `${list.length} to ${who}`)
        .join(", ")}`;
    console.log(`canary occurrences (${coverage}): ${JSON.stringify(counts)}`);
    expect(counts).toEqual(Object.fromEntries(Object.keys(counts).map((k) => [k, 0])));
    // The database does hold the secret, sealed.
    const sealed = await server.db.pool.query<{ value: string }>(`SELECT value FROM "Secret" WHERE name = 'CANARY'`);
    expect(sealed.rows[0]!.value).toMatch(/^fpenc:v1:/);
  }, 180_000);
});

describe("secret and variable commands", () => {
  it("variable set/get/ls/rm and secret ls/rm/rotate-master-key work as documented, with --json", async () => {
    const dev = { ...server.env, FLOWPLANE_API_KEY: keys.DEVELOPER };
    const ok = async (args: string[], env = dev) => {
      const result = await runCli(args, env);
      expect(result.code, `${args.join(" ")}: ${result.stderr}`).toBe(0);
      return result.stdout;
    };
    await ok(["variable", "set", "greeting", "hello world"]);
    expect(await ok(["variable", "get", "greeting"])).toBe("hello world\n");
    await ok(["variable", "set", "sizes", "--json", "[1,2,3]"]);
    expect(JSON.parse(await ok(["variable", "get", "sizes", "--json"]))).toMatchObject({
      name: "sizes",
      value: [1, 2, 3],
    });
    const listed = JSON.parse(await ok(["variable", "ls", "--json"])) as { name: string }[];
    expect(listed.map((v) => v.name)).toEqual(expect.arrayContaining(["greeting", "sizes", "region"]));
    const badJson = await runCli(["variable", "set", "x", "--json", "{nope"], dev);
    expect([badJson.code, badJson.stderr.split(" (")[0]]).toEqual([2, "error: --json: not valid JSON"]);
    await ok(["variable", "rm", "greeting"]);
    const gone = await runCli(["variable", "get", "greeting"], dev);
    expect([gone.code, gone.stderr.trim()]).toEqual([1, 'error: name: variable "greeting" not found']);

    const empty = await runCli(["secret", "set", "SHORT_LIVED"], dev, { stdin: "" });
    expect([empty.code, empty.stderr.trim()]).toEqual([2, "error: value: empty (stdin)"]);
    await runCli(["secret", "set", "SHORT_LIVED"], dev, { stdin: "v" });
    expect(await ok(["secret", "rm", "SHORT_LIVED"])).toBe("deleted secret SHORT_LIVED\n");
    const table = await ok(["secret", "ls"]);
    expect(table.split("\n")[0]).toMatch(/^NAME\s+CREATED\s+UPDATED\s+UPDATED BY\s+LAST READ\s+DEPLOY$/);
    expect(table).toContain("CANARY");
    const refused = await runCli(["secret", "rotate-master-key"], dev);
    expect(refused.code).toBe(1);
    const rotated = JSON.parse(
      await ok(["secret", "rotate-master-key", "--json"], { ...server.env, FLOWPLANE_API_KEY: keys.ADMIN }),
    ) as { secrets: number; signingKeys: number };
    // Nothing to re-wrap: everything is already under the server's only master key.
    expect(rotated).toMatchObject({ secrets: 0, signingKeys: 0 });
  }, 120_000);
});
