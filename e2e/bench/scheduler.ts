// Time to schedule 1,000 cron deployments: one scheduler pass creating their next runs, and a
// second pass with nothing to do (the steady state every replica runs every few seconds).
//   npx tsx e2e/bench/scheduler.ts [deployments=1000]
import { applyDeployment, createOrganization, createResources, scheduleRuns } from "@flowplane/api";
import { createTestDatabase } from "@flowplane/db/testing";

const N = Number(process.argv[2] ?? 1000);
const db = await createTestDatabase({ poolSize: 10 });
const resources = createResources(db);
try {
  const { workspace } = await createOrganization(db.prisma, "bench", "bench");
  await db.prisma.workPool.create({
    data: {
      workspaceId: workspace.id,
      name: "p",
      type: "PROCESS",
      baseJobTemplate: {},
      queues: { create: { workspaceId: workspace.id, name: "default" } },
    },
  });
  const zones = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo"];
  let t = performance.now();
  for (let i = 0; i < N; i++) {
    await applyDeployment(db.prisma, workspace.id, {
      flowName: `flow-${i % 50}`,
      name: `d-${i}`,
      entrypoint: "x.ts:f",
      workPoolName: "p",
      schedules: [{ kind: "cron", cron: `${i % 60} * * * *`, timezone: zones[i % zones.length]! }],
    });
  }
  const deployMs = performance.now() - t;
  t = performance.now();
  const first = await scheduleRuns(resources);
  const firstMs = performance.now() - t;
  t = performance.now();
  const second = await scheduleRuns(resources);
  const secondMs = performance.now() - t;
  console.log(
    `registered ${N} cron deployments in ${(deployMs / 1000).toFixed(2)} s (${(deployMs / N).toFixed(1)} ms each, sequential API-service calls)`,
  );
  console.log(
    `first scheduler pass: ${first.runsCreated} runs for ${first.schedules} schedules in ${firstMs.toFixed(0)} ms`,
  );
  console.log(
    `steady-state pass: ${second.schedules} schedules due, ${second.runsCreated} runs, ${secondMs.toFixed(1)} ms`,
  );
  console.log(
    JSON.stringify({
      deployments: N,
      deployMs,
      firstPassMs: firstMs,
      runsCreated: first.runsCreated,
      steadyPassMs: secondMs,
    }),
  );
} finally {
  await db.drop();
}
