import { dashboardDir, ensureDashboardBuilt, launchBrowser, screenshot, signIn } from "./dashboard-support.ts";
import { repoRoot, spawnCli, startTestServer } from "./harness.ts";

ensureDashboardBuilt();
const server = await startTestServer({ dashboardDir });
const b = await launchBrowser();
const page = b.page;
page.on("websocket", (ws) => {
  console.log("ws open", ws.url());
  ws.on("framereceived", (f) => console.log("ws <", String(f.payload).slice(0, 200)));
  ws.on("framesent", (f) => console.log("ws >", String(f.payload).slice(0, 200)));
  ws.on("close", () => console.log("ws closed"));
});
const w = spawnCli(["worker", "start", "--pool", "p"], server.env);
try {
  await signIn(page, server.url, server.adminKey);
  await server.api.workPools.create.mutate({ name: "p", type: "process" });
  await server.api.deployments.upsert.mutate({ flowName: "hello", name: "hello", entrypoint: "examples/hello.ts:hello", path: repoRoot, workPoolName: "p", parameters: { n: 3 } });
  const run = await server.api.deployments.run.mutate({ name: "hello/hello", parameters: { n: 4 } });
  await page.goto(`${server.url}/runs/${run.id}`);
  await page.waitForTimeout(5000);
  await screenshot(page, "scratch-run");
  console.log((await page.locator("main").innerText()).slice(0, 1500));
  console.log(b.errors);
} finally {
  w.kill("SIGTERM");
  await b.close();
  await server.close();
}
