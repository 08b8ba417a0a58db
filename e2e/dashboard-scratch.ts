import { repoRoot, spawnCli, startTestServer, waitFor } from "./harness.ts";

const server = await startTestServer({});
await server.api.workPools.create.mutate({ name: "p", type: "process" });
await server.api.deployments.upsert.mutate({ flowName: "hello", name: "hello", entrypoint: "examples/hello.ts:hello", path: repoRoot, workPoolName: "p", parameters: { n: 3 } });
const run = await server.api.deployments.run.mutate({ name: "hello/hello", parameters: { n: 4 } });
const w = spawnCli(["worker", "start", "--pool", "p"], server.env);
w.stdout!.on("data", (d: Buffer) => process.stdout.write(`[w] ${d}`));
w.stderr!.on("data", (d: Buffer) => process.stdout.write(`[w!] ${d}`));
try {
  await waitFor("done", async () => {
    const r = await server.api.flowRuns.get.query({ id: run.id });
    console.log(r.state.type, r.state.message);
    return r.state.type === "COMPLETED" || r.state.type === "FAILED" || r.state.type === "CRASHED";
  }, 30_000, 1000);
} finally {
  w.kill("SIGTERM");
  await server.close();
}
