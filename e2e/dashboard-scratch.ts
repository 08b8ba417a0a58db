import { dashboardDir, ensureDashboardBuilt, launchBrowser, screenshot, signIn } from "./dashboard-support.ts";
import { repoRoot, startTestServer } from "./harness.ts";

ensureDashboardBuilt();
const server = await startTestServer({ dashboardDir });
const b = await launchBrowser();
const page = b.page;
try {
  await signIn(page, server.url, server.adminKey);
  await server.api.workPools.create.mutate({ name: "p", type: "process" });
  await server.api.deployments.upsert.mutate({ flowName: "hello", name: "hello", entrypoint: "examples/hello.ts:hello", path: repoRoot, workPoolName: "p", parameters: { n: 3 } });
  await page.goto(`${server.url}/deployments`);
  await page.waitForTimeout(1500);
  await screenshot(page, "scratch-deployments");
  console.log((await page.locator("main").innerText()).slice(0, 2000));
  console.log(b.errors);
} finally {
  await b.close();
  await server.close();
}
