// `flowplane deploy` and `flowplane deployment ...` as users run them: versions, schedules in
// words, backfills, and bad input that is refused with the field named and nothing written.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot, runCli, startTestServer, type TestServer } from "./harness.ts";

let server: TestServer;
const cli = (args: string[]) => runCli(args, server.env, { cwd: repoRoot });
/** A command line without quoted arguments, as words. */
const words = (line: string) => line.split(" ");
const deployNightly = (...more: string[]) => [
  ...words("deploy examples/daily-etl.ts:daily_etl --name nightly --pool local"),
  ...more,
];
const backfillJanuary = (...more: string[]) => [
  ...words("deployment backfill daily_etl/nightly --from 2026-01-01T00:00:00Z --to 2026-01-11T00:00:00Z"),
  ...more,
];

beforeAll(async () => {
  server = await startTestServer();
  expect((await cli(["work-pool", "create", "local", "--type", "process"])).code).toBe(0);
}, 60_000);

afterAll(async () => {
  await server?.close();
});

async function deploymentCount(): Promise<number> {
  return (await server.api.deployments.list.query()).length;
}

describe("flowplane deploy", () => {
  it("creates a version only when the deployed content changes, and says what changed", async () => {
    const first = await cli(deployNightly("--cron", "0 2 * * *", "--timezone", "Europe/Berlin"));
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain("daily_etl/nightly: created (version 1)");
    const same = await cli(deployNightly("--cron", "0 2 * * *", "--timezone", "Europe/Berlin"));
    expect(same.stdout).toContain("daily_etl/nightly: unchanged (version 1)");
    const changed = await cli(
      deployNightly("--cron", "0 3 * * *", "--timezone", "Europe/Berlin", "--param", "refresh=true"),
    );
    expect(changed.stdout).toContain("daily_etl/nightly: updated to version 2: parameters, schedules changed");

    const inspect = await cli(["deployment", "inspect", "daily_etl/nightly", "--json"]);
    const d = JSON.parse(inspect.stdout) as {
      versions: { version: number; current: boolean }[];
      schedules: { description: string }[];
      parameterSchema: { properties: Record<string, unknown> };
    };
    expect(d.versions.map((v) => [v.version, v.current])).toEqual([
      [2, true],
      [1, false],
    ]);
    expect(d.schedules[0]!.description).toBe("at 03:00 every day (Europe/Berlin)");
    expect(Object.keys(d.parameterSchema.properties)).toContain("day");
    const text = await cli(["deployment", "inspect", "daily_etl/nightly"]);
    expect(text.stdout).toContain("at 03:00 every day (Europe/Berlin)");
  }, 60_000);

  it("backfills a window with one run per slot, idempotently, showing progress", async () => {
    const first = await cli(backfillJanuary());
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain("10 slots, 10 new runs, 0 already existed");
    expect(first.stderr).toContain("100%");
    const again = await cli(backfillJanuary("--json"));
    expect(JSON.parse(again.stdout)).toMatchObject({ slots: 10, created: 0, existing: 10 });
    const runs = await server.api.flowRuns.list.query({ limit: 100 });
    const backfilled = runs.items.filter((r) => r.partitionKey?.startsWith("2026-01-"));
    expect(backfilled).toHaveLength(10);
    // 03:00 Berlin in January is 02:00 UTC; the partition key is the slot, also passed as a parameter.
    expect(backfilled.map((r) => r.partitionKey).sort()[0]).toBe("2026-01-01T02:00:00.000Z");
    expect(backfilled.every((r) => r.parameters["partitionKey"] === r.partitionKey)).toBe(true);
  }, 60_000);

  const refused: [string, string[], RegExp][] = [
    [
      "an invalid cron expression",
      [...words("deploy examples/hello.ts:hello --name bad-cron --pool local --cron"), "61 * * * *"],
      /schedules\[0\]\.cron/,
    ],
    [
      "an unknown time zone",
      [
        ...words("deploy examples/hello.ts:hello --name bad-tz --pool local --timezone Mars/Olympus --cron"),
        "0 * * * *",
      ],
      /timezone/,
    ],
    [
      "an unknown pool",
      words("deploy examples/hello.ts:hello --name no-pool --pool nope"),
      /workPoolName: work pool "nope" does not exist/,
    ],
    [
      "parameters failing the flow's schema",
      words("deploy examples/daily-etl.ts:daily_etl --name bad-param --pool local --param failFirstAttempts=9"),
      /parameters\.failFirstAttempts/,
    ],
    [
      "a missing export",
      words("deploy examples/hello.ts:nothing_here --name no-export --pool local"),
      /has no export "nothing_here" \(flows it exports: hello\)/,
    ],
    ["a missing file", words("deploy examples/nope.ts:x --pool local"), /not found/],
    ["a malformed --param", words("deploy examples/hello.ts:hello --param oops"), /--param "oops": expected KEY=VALUE/],
  ];
  for (const [what, args, message] of refused) {
    it(`refuses ${what}, names it, and writes nothing`, async () => {
      const before = await deploymentCount();
      const r = await cli(args);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(message);
      expect(r.stdout).toBe("");
      expect(await deploymentCount()).toBe(before);
    }, 60_000);
  }
});

describe("CLI conventions", () => {
  it("prints exactly one JSON document on stdout with --json", async () => {
    for (const args of [
      ["work-pool", "ls", "--json"],
      ["deployment", "ls", "--json"],
      ["flow-run", "ls", "--json"],
      ["api-key", "ls", "--json"],
    ]) {
      const r = await cli(args);
      expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(0);
      expect(() => JSON.parse(r.stdout)).not.toThrow();
      expect(Array.isArray(JSON.parse(r.stdout))).toBe(true);
    }
  }, 60_000);

  it("names the bad flag and exits non-zero", async () => {
    const badState = await cli(["flow-run", "ls", "--state", "DONE"]);
    expect(badState.code).not.toBe(0);
    expect(badState.stderr).toContain('--state "DONE": expected one of SCHEDULED');
    const unknown = await cli(["work-pool", "ls", "--colour"]);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain("unknown option '--colour'");
    const badType = await cli(["work-pool", "create", "x", "--type", "lambda"]);
    expect(badType.stderr).toContain('--type "lambda": expected one of process, docker, ecs, kubernetes');
    const badSecret = await cli(["deploy", "examples/hello.ts:hello", "--secret", "not-a-name"]);
    expect(badSecret.code).toBe(2);
    expect(badSecret.stderr).toContain(
      `--secret "not-a-name": use letters, digits and '_', starting with a letter or '_'`,
    );
  }, 60_000);

  it("refuses a key of another workspace with a clear error", async () => {
    const created = await cli(["workspace", "create", "other", "--json"]);
    expect(created.code, created.stderr).toBe(0);
    const r = await runCli(["work-pool", "ls", "--workspace", "other"], { ...server.env }, { cwd: repoRoot });
    // FLOWPLANE_API_KEY (the default workspace's key) wins over the profile, and the server says so.
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('this API key belongs to workspace "default", not "other"');
  }, 60_000);
});
