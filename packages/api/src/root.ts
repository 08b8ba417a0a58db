// The API: one router per domain, composed here.
import { router } from "./trpc.ts";
import { apiKeysRouter } from "./routers/api-keys.ts";
import { artifactsRouter } from "./routers/artifacts.ts";
import { auditRouter } from "./routers/audit.ts";
import { authRouter } from "./routers/auth.ts";
import { deploymentsRouter } from "./routers/deployments.ts";
import { eventsRouter } from "./routers/events.ts";
import { flowRunsRouter } from "./routers/flow-runs.ts";
import { flowsRouter } from "./routers/flows.ts";
import { ingestRouter } from "./routers/ingest.ts";
import { secretsRouter } from "./routers/secrets.ts";
import { ssoRouter } from "./routers/sso.ts";
import { variablesRouter } from "./routers/variables.ts";
import { logsRouter } from "./routers/logs.ts";
import { membersRouter } from "./routers/members.ts";
import { serviceAccountsRouter } from "./routers/service-accounts.ts";
import { taskRunsRouter } from "./routers/task-runs.ts";
import { workersRouter } from "./routers/workers.ts";
import { workPoolsRouter } from "./routers/work-pools.ts";
import { workQueuesRouter } from "./routers/work-queues.ts";
import { workspacesRouter } from "./routers/workspaces.ts";

export const appRouter = router({
  auth: authRouter,
  workspaces: workspacesRouter,
  apiKeys: apiKeysRouter,
  members: membersRouter,
  serviceAccounts: serviceAccountsRouter,
  flows: flowsRouter,
  flowRuns: flowRunsRouter,
  taskRuns: taskRunsRouter,
  ingest: ingestRouter,
  logs: logsRouter,
  artifacts: artifactsRouter,
  deployments: deploymentsRouter,
  workPools: workPoolsRouter,
  workQueues: workQueuesRouter,
  workers: workersRouter,
  events: eventsRouter,
  secrets: secretsRouter,
  variables: variablesRouter,
  audit: auditRouter,
  sso: ssoRouter,
});

export type AppRouter = typeof appRouter;
