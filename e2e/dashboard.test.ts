// The dashboard in a real Chromium against a real server, database, worker and flow processes:
// signing in, running a deployment with a parameter and watching it live on the timeline, logs,
// artifacts, filtering the runs list, cancelling, pools, deployments and API keys. Each page's
// screenshot is saved under e2e/artifacts/screenshots/.
import type { ChildProcess } from "node:child_process";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiClient } from "@flowplane/client";
import { launchTestBrowser, screenshot, signIn, startDashboardServer, type Browser } from "./dashboard-support.ts";
import { exited, repoRoot, spawnCli, type TestServer } from "./harness.ts";

const POOL = "dashboard-e2e";
/** hello/hello, whose parameter schema the "Run now" form is built from. */
const HELLO_DEPLOYMENT = {
  flowName: "hello",
  name: "hello",
  entrypoint: "examples/hello.ts:hello",
  path: repoRoot,
  // As deploy records it for code it delivers (runs here in place; the run page shows the version).
  codeVersion: "git:0123456789abcdef0123456789abcdef01234567",
  workPoolName: POOL,
  parameters: { n: 3 },
  parameterSchema: {
    type: "object",
    properties: { n: { type: "integer", minimum: 1, description: "How many numbers to add" } },
  },
};

let server: TestServer;
let browser: Browser;
let page: Page;
let worker: ChildProcess | null = null;

beforeAll(async () => {
  server = await startDashboardServer();
  browser = await launchTestBrowser();
  page = browser.page;
}, 240_000);

afterAll(async () => {
  if (worker) {
    worker.kill("SIGTERM");
    await exited(worker);
  }
  await browser?.close();
  await server?.close();
}, 60_000);

function startWorker(): void {
  worker ??= spawnCli(["worker", "start", "--pool", POOL, "--name", "dashboard-worker"], {
    ...server.env,
    FLOWPLANE_WORKER_HEARTBEAT_SECONDS: "1",
  });
}

/** The run page's timeline states, as the page itself saw them (recorded in the page, no reloads). */
async function watchRunStates(): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as { __states: string[]; __noReload: boolean };
    w.__noReload = true;
    w.__states = [];
    const el = document.querySelector("[data-testid=timeline]")!;
    const record = () => {
      const s = el.getAttribute("data-run-state") ?? "";
      if (w.__states[w.__states.length - 1] !== s) w.__states.push(s);
    };
    record();
    new MutationObserver(record).observe(el, { attributes: true, attributeFilter: ["data-run-state"] });
  });
}

const seenStates = () => page.evaluate(() => (window as unknown as { __states: string[] }).__states);
const stillSamePage = () => page.evaluate(() => (window as unknown as { __noReload?: boolean }).__noReload === true);
const timelineState = (state: string) =>
  page.waitForSelector(`[data-testid=timeline][data-run-state=${state}]`, { timeout: 45_000 });

describe("dashboard", () => {
  it("signs in with an API key, keeps only a session token, and shows the workspace", async () => {
    await page.goto(`${server.url}/`);
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    await screenshot(page, "01-sign-in");

    await page.getByLabel("API key").fill("fp_wrong_key");
    await page.getByRole("button", { name: "Sign in with API key" }).click();
    await expect.poll(() => page.locator("#api-key-error").textContent()).toMatch(/./);
    browser.errors.length = 0; // the 401 of the wrong key is expected

    await signIn(page, server.url, server.adminKey);
    expect(await page.getByTestId("workspace").inputValue()).toBe("default");
    await page.getByText("No runs yet").waitFor();
    expect(await page.locator(".empty-state").textContent()).toContain("pnpm flowplane deploy examples/hello.ts:hello");
    const stored = await page.evaluate(() => JSON.stringify(sessionStorage));
    expect(stored).toContain("token");
    expect(stored).not.toContain(server.adminKey);
    await screenshot(page, "02-runs-empty");
  });

  it("runs a deployment from “Run now” with a parameter and watches it go from SCHEDULED to COMPLETED on the timeline, live", async () => {
    await server.api.workPools.create.mutate({ name: POOL, type: "process" });
    await server.api.deployments.upsert.mutate(HELLO_DEPLOYMENT);

    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Deployments" }).click();
    await page.getByRole("heading", { level: 1, name: "Deployments" }).waitFor();
    await page.getByRole("cell", { name: /hello/ }).first().waitFor();
    await screenshot(page, "03-deployments");

    await page.getByRole("button", { name: "Run hello/hello now" }).click();
    const dialog = page.getByRole("dialog", { name: "Run hello/hello" });
    const n = dialog.getByLabel(/^n/);
    expect(await n.inputValue()).toBe("3");
    await n.fill("4");
    await screenshot(page, "04-run-now-form");
    await dialog.getByRole("button", { name: "Run now" }).click();

    await page.waitForURL(/\/runs\/[0-9a-f-]{36}$/);
    const runId = page.url().split("/").pop()!;
    await timelineState("SCHEDULED");
    await watchRunStates();
    await page.getByText("Waiting for the run to start").waitFor();
    await screenshot(page, "05-run-scheduled");

    // Only now does a worker exist: everything below reaches the page over the websocket.
    startWorker();
    await timelineState("COMPLETED");
    await page.waitForSelector("[data-testid=timeline][data-tasks='4']");
    expect(await stillSamePage()).toBe(true);
    const states = await seenStates();
    // hello runs in milliseconds, so RUNNING may come and go between two refetches; the page must
    // still have moved through a claimed state to COMPLETED on its own.
    expect(states[0]).toBe("SCHEDULED");
    expect(states.some((s) => s === "PENDING" || s === "RUNNING")).toBe(true);
    expect(states[states.length - 1]).toBe("COMPLETED");

    const run = await server.api.flowRuns.get.query({ id: runId });
    expect(run.parameters).toEqual({ n: 4 });
    const timing = await page.evaluate(
      () => (window as unknown as { __flowplaneTimeline?: { tasks: number } }).__flowplaneTimeline,
    );
    expect(timing?.tasks).toBe(4);
    await screenshot(page, "06-run-completed");
  }, 90_000);

  it("reads the run's logs, filters them by level and searches them", async () => {
    const logs = page.getByTestId("logs");
    await logs.getByText("total is 6").waitFor();
    await logs.getByText("printed line").waitFor();

    await page.getByLabel("Level").selectOption({ label: "ERROR and above" });
    await logs.getByText("No log lines match.").waitFor();
    await page.getByLabel("Level").selectOption({ label: "All levels" });
    await page.getByLabel("Search").fill("printed");
    await expect.poll(() => logs.locator(".log-line").count()).toBe(1);
    expect(await logs.locator(".log-line mark").textContent()).toBe("printed");
    await screenshot(page, "07-run-logs");
    await page.getByLabel("Search").fill("");

    await page.getByRole("tab", { name: /State history/ }).click();
    const history = page.getByTestId("state-history");
    for (const name of ["Scheduled", "Pending", "Running", "Completed"])
      await history.getByText(name, { exact: true }).first().waitFor();
    await screenshot(page, "08-run-state-history");

    await page.getByRole("tab", { name: "Parameters" }).click();
    expect(await page.getByTestId("parameters").textContent()).toContain("4");
    // The code the run started with (recorded when it was claimed).
    await expect
      .poll(() => page.getByTestId("code-version").textContent())
      .toBe("git:0123456789abcdef0123456789abcdef01234567");
  }, 60_000);

  it("shows a run's retries, sub-flow and artifacts", async () => {
    const { deploymentId } = await server.api.deployments.upsert.mutate({
      flowName: "showcase",
      name: "daily",
      entrypoint: "e2e/dashboard-flows.ts:showcase",
      path: repoRoot,
      workPoolName: POOL,
      tags: ["nightly"],
    });
    const created = await server.api.deployments.run.mutate({ id: deploymentId });
    await page.goto(`${server.url}/runs/${created.id}`);
    await timelineState("COMPLETED");
    // extract (retried once) + 4 transforms + the refresh_marts sub-flow's task run
    await page.waitForSelector("[data-testid=timeline][data-tasks='6']");
    const summary = await page.locator(".timeline-toolbar").textContent();
    expect(summary).toContain("1 sub-flow run");
    expect(summary).toContain("1 retried");
    await screenshot(page, "09-run-timeline-rich");

    // Clicking the retried bar opens its details with its two attempts.
    const tasks = await server.api.taskRuns.list.query({ flowRunId: created.id });
    const extract = tasks.find((t) => t.name.startsWith("extract"))!;
    expect(extract.runCount).toBe(2);
    // The dependency edges: every transform waited for the extract.
    const transforms = tasks.filter((t) => t.name.startsWith("transform"));
    expect(transforms.map((t) => t.inputTaskRunIds)).toEqual(transforms.map(() => [extract.id]));
    await page.getByRole("button", { name: "Zoom in" }).click();
    await page.getByRole("button", { name: "Fit" }).click();

    await page.getByRole("tab", { name: /Task runs/ }).click();
    const transformRow = page.getByTestId("task-runs-table").locator("tr", { hasText: "transform-0" });
    expect(await transformRow.getByTestId("task-run-inputs").textContent()).toBe(extract.name);

    await page.getByRole("tab", { name: /Artifacts/ }).click();
    await page.getByRole("heading", { name: "Daily report" }).waitFor();
    expect(await page.getByRole("link", { name: "Orders dashboard" }).getAttribute("href")).toBe(
      "https://example.com/dashboards/orders",
    );
    expect(await page.getByRole("link", { name: "the runbook" }).getAttribute("rel")).toContain("noopener");
    expect(await page.locator("[data-artifact-type=TABLE] td").first().textContent()).toBe("eu");
    await screenshot(page, "10-run-artifacts");

    await page.getByRole("tab", { name: "Logs" }).click();
    await page.getByTestId("logs").getByText("one region reported late data").waitFor();
    await page.getByLabel("Level").selectOption({ label: "WARNING and above" });
    await expect.poll(() => page.getByTestId("logs").locator(".log-line").count()).toBeGreaterThanOrEqual(2);
    expect(await page.getByTestId("logs").locator(".level-info, .level-debug").count()).toBe(0);
    await page.getByLabel("Level").selectOption({ label: "All levels" });

    const sub = tasks.find((t) => t.subflowRunId)!;
    await page.goto(`${server.url}/runs/${sub.subflowRunId}`);
    await page.getByRole("link", { name: "parent run" }).waitFor();
    await timelineState("COMPLETED");
  }, 90_000);

  it("filters the runs list by state, flow, deployment, tags and time, pages with cursors, and shows new runs live", async () => {
    for (let i = 0; i < 3; i++) await server.api.flowRuns.create.mutate({ flowName: "alpha", tags: ["nightly", "eu"] });
    await server.api.flowRuns.create.mutate({
      flowName: "alpha",
      tags: ["nightly"],
      state: { type: "FAILED", message: "boom" },
    });
    for (let i = 0; i < 30; i++)
      await server.api.flowRuns.create.mutate({ flowName: "beta", state: { type: "COMPLETED" } });

    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Runs" }).click();
    const rows = page.getByTestId("runs-table").locator("tbody tr");
    await expect.poll(() => rows.count()).toBeGreaterThan(20);
    await screenshot(page, "11-runs");

    await page.locator("label.chip", { hasText: "Failed" }).click();
    await page.waitForURL(/state=FAILED/);
    await expect.poll(() => rows.count()).toBe(1);
    expect(await rows.first().getAttribute("data-state")).toBe("FAILED");

    await page.getByRole("button", { name: "Clear filters" }).first().click();
    await page.getByRole("combobox", { name: "Flow", exact: true }).selectOption("alpha");
    await expect.poll(() => rows.count()).toBe(4);
    // The chart counts what the list shows: alpha's runs only, over raw rows (last 24 hours, the
    // default) and over the hourly counts (last 7 days).
    const chart = page.locator("figure.runs-chart svg");
    await expect.poll(() => chart.getAttribute("aria-label")).toMatch(/^4 runs, last 24 hours: /);
    await page.getByLabel("Time range").selectOption("7d");
    await expect.poll(() => chart.getAttribute("aria-label")).toMatch(/^4 runs, last 7 days: .*1 failed/);
    await expect.poll(() => rows.count()).toBe(4);
    await page.getByLabel("Tags").fill("nightly, eu");
    await page.getByLabel("Tags").press("Enter");
    await expect.poll(() => rows.count()).toBe(3);
    await page.getByLabel("Time range").selectOption("1h");
    await expect.poll(() => page.url()).toContain("range=1h");
    await expect.poll(() => rows.count()).toBe(3);
    await screenshot(page, "12-runs-filtered");
    await page.getByLabel("Tags").fill("nightly, nope");
    await page.getByLabel("Tags").press("Enter");
    await page.getByText("No runs match these filters").waitFor();

    await page.getByRole("button", { name: "Clear filters" }).first().click();
    await page.getByLabel("Deployment").selectOption({ label: "hello/hello" });
    await expect.poll(() => rows.count()).toBe(1);

    // Cursor pages: 25 per page over 40 runs.
    await page.getByRole("button", { name: "Clear filters" }).first().click();
    await page.getByLabel("Per page").selectOption("25");
    await expect.poll(() => rows.count()).toBe(25);
    const firstOfPage1 = await rows.first().getAttribute("data-run-id");
    await page.getByRole("button", { name: "Older →" }).click();
    await expect.poll(async () => (await rows.first().getAttribute("data-run-id")) !== firstOfPage1).toBe(true);
    const page2 = await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-run-id")));
    expect(page2.length).toBeGreaterThan(0);
    expect(page2).not.toContain(firstOfPage1);
    await page.getByRole("button", { name: "← Newer" }).click();
    await expect.poll(() => rows.first().getAttribute("data-run-id")).toBe(firstOfPage1);

    // A run created elsewhere shows up without a reload.
    await page.evaluate(() => ((window as unknown as { __noReload: boolean }).__noReload = true));
    const fresh = await server.api.flowRuns.create.mutate({ flowName: "gamma" });
    await page.waitForSelector(`[data-run-id="${fresh.id}"]`, { timeout: 15_000 });
    expect(await stillSamePage()).toBe(true);
  }, 90_000);

  it("cancels a running run from its page", async () => {
    await server.api.deployments.upsert.mutate({
      flowName: "sleeper",
      name: "long",
      entrypoint: "e2e/dashboard-flows.ts:sleeper",
      path: repoRoot,
      workPoolName: POOL,
    });
    const run = await server.api.deployments.run.mutate({ name: "sleeper/long", parameters: { seconds: 120 } });
    await page.goto(`${server.url}/runs/${run.id}`);
    await timelineState("RUNNING");
    await page.getByTestId("logs").getByText("still sleeping (1 s)").waitFor();
    await page.getByRole("button", { name: "Cancel run" }).click();
    const dialog = page.getByRole("dialog", { name: /Cancel/ });
    await dialog.getByRole("button", { name: "Cancel run" }).click();
    await timelineState("CANCELLED");
    expect((await server.api.flowRuns.get.query({ id: run.id })).state.type).toBe("CANCELLED");
    expect(await page.getByRole("button", { name: "Retry" }).isEnabled()).toBe(true);
    await screenshot(page, "13-run-cancelled");
  }, 90_000);

  it("retries a finished run from its page, and the new attempt runs live", async () => {
    const { items } = await server.api.flowRuns.list.query({ flowName: "hello", limit: 1 });
    const run = items[0]!;
    expect(run.state.type).toBe("COMPLETED");
    await page.goto(`${server.url}/runs/${run.id}`);
    await timelineState("COMPLETED");
    await watchRunStates();
    await page.getByRole("button", { name: "Retry" }).click();
    await expect.poll(async () => (await seenStates()).length, { timeout: 30_000 }).toBeGreaterThan(1);
    await expect
      .poll(async () => (await server.api.flowRuns.get.query({ id: run.id })).runCount, { timeout: 45_000 })
      .toBe(2);
    await timelineState("COMPLETED");
    expect(await stillSamePage()).toBe(true);
    await page.getByText("Attempts").locator("..").getByText("2", { exact: true }).waitFor();
  }, 90_000);

  it("shows flows, a deployment's schedule and versions, and pauses and resumes it", async () => {
    await server.api.deployments.upsert.mutate({
      ...HELLO_DEPLOYMENT,
      schedules: [{ kind: "cron", cron: "0 6 * * *", timezone: "UTC" }],
    });
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Flows" }).click();
    await page.getByTestId("flows-table").getByRole("link", { name: "showcase" }).waitFor();
    await screenshot(page, "14-flows");

    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Deployments" }).click();
    await page.getByTestId("deployments-table").getByRole("link", { name: /hello/ }).click();
    await page.getByRole("heading", { level: 1, name: "hello/hello" }).waitFor();
    await page.getByText("at 06:00").first().waitFor();
    await page.getByText("v2").first().waitFor();
    // The code its runs fetch (commit, bundle or image digest), as deploy recorded it.
    expect(await page.getByTestId("code-version").textContent()).toBe(HELLO_DEPLOYMENT.codeVersion);
    await page.getByRole("button", { name: "Pause hello/hello" }).click();
    await page.getByRole("button", { name: "Resume hello/hello" }).waitFor();
    expect((await server.api.deployments.get.query({ name: "hello/hello" })).paused).toBe(true);
    await page.getByRole("button", { name: "Resume hello/hello" }).click();
    await page.getByRole("button", { name: "Pause hello/hello" }).waitFor();
    await screenshot(page, "15-deployment");
  }, 60_000);

  it("shows work pools with their workers' health, and pauses a pool", async () => {
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Work pools" }).click();
    const card = page.locator(`[data-pool="${POOL}"]`);
    await card.waitFor();
    await expect.poll(() => card.textContent()).toContain("1 / 1");
    await screenshot(page, "16-work-pools");
    await card.getByRole("link", { name: POOL }).click();
    const workers = page.getByTestId("workers-table");
    await workers.getByText("dashboard-worker").waitFor();
    expect(await workers.getByText("Online").count()).toBe(1);
    await page.getByRole("button", { name: `Pause work pool ${POOL}` }).click();
    await page.getByRole("button", { name: `Resume work pool ${POOL}` }).click();
    await page.getByRole("button", { name: `Pause work pool ${POOL}` }).waitFor();
    await screenshot(page, "17-work-pool");
  }, 60_000);

  it("creates an API key that is shown once, and revokes it", async () => {
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "API keys" }).click();
    await page.getByLabel("Name").fill("ci-bot");
    await page.getByLabel("Scope").selectOption("DEVELOPER");
    await page.getByRole("button", { name: "Create key" }).click();
    const key = (await page.getByTestId("new-key-value").textContent()) ?? "";
    expect(key).toMatch(/^fp_/);
    const api = createApiClient({ apiUrl: server.url, apiKey: key, workspace: "default" });
    expect((await api.auth.whoami.query()).scope).toBe("DEVELOPER");
    await screenshot(page, "18-api-keys-created");

    await page.getByRole("button", { name: "Done, I saved it" }).click();
    expect(await page.getByTestId("new-key").count()).toBe(0);
    await page.getByRole("button", { name: "Revoke key ci-bot" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Revoke key" }).click();
    await page.locator('[data-key-name="ci-bot"]').getByText("revoked").waitFor();
    await expect(api.auth.whoami.query()).rejects.toThrow();
    await screenshot(page, "19-api-keys");
  }, 60_000);

  it("works on a phone-sized screen, survives a reload, and signs out", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${server.url}/runs`);
    await page.getByTestId("runs-table").waitFor();
    await screenshot(page, "20-mobile-runs");
    const hello = await server.api.flowRuns.list.query({ flowName: "showcase", limit: 1 });
    await page.goto(`${server.url}/runs/${hello.items[0]!.id}`);
    await timelineState("COMPLETED");
    await screenshot(page, "21-mobile-run");
    await page.setViewportSize({ width: 1360, height: 900 });

    await page.reload();
    await page.getByTestId("timeline").waitFor();

    // A second workspace: signed in alongside the first, each with its own key and data.
    const other = await server.api.workspaces.create.mutate({ name: "team-b" });
    await page.getByTestId("workspace").selectOption({ label: "Sign in to another workspace…" });
    await page.getByRole("heading", { name: "Sign in to another workspace" }).waitFor();
    await page.getByLabel("API key").fill(other.apiKey);
    await page.getByRole("button", { name: "Sign in with API key" }).click();
    await page.getByText("No runs yet").waitFor();
    expect(await page.getByTestId("workspace").inputValue()).toBe("team-b");
    await page.getByTestId("workspace").selectOption("default");
    await page.getByTestId("runs-table").waitFor();
    await page.getByRole("button", { name: "Sign out" }).click();
    expect(await page.getByTestId("workspace").inputValue()).toBe("team-b");
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    expect(await page.evaluate(() => sessionStorage.getItem("flowplane.sessions"))).not.toContain("token");
    expect(browser.errors).toEqual([]);
  }, 60_000);
});
