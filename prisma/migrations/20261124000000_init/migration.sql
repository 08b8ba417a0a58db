-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateEnum
CREATE TYPE "ApiKeyScope" AS ENUM ('ADMIN', 'DEVELOPER', 'WORKER', 'READ');

-- CreateEnum
CREATE TYPE "StateType" AS ENUM ('SCHEDULED', 'PENDING', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED', 'CRASHED', 'PAUSED', 'CANCELLING');

-- CreateEnum
CREATE TYPE "WorkPoolType" AS ENUM ('PROCESS', 'DOCKER', 'ECS', 'KUBERNETES');

-- CreateEnum
CREATE TYPE "WorkerStatus" AS ENUM ('ONLINE', 'OFFLINE');

-- CreateEnum
CREATE TYPE "ScheduleKind" AS ENUM ('CRON', 'INTERVAL', 'RRULE');

-- CreateEnum
CREATE TYPE "CollisionStrategy" AS ENUM ('ENQUEUE', 'CANCEL_NEW');

-- CreateEnum
CREATE TYPE "ArtifactType" AS ENUM ('MARKDOWN', 'TABLE', 'LINK');

-- CreateTable
CREATE TABLE "Workspace" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Workspace_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ApiKey" (
    "id" UUID NOT NULL,
    "workspaceId" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "prefix" TEXT NOT NULL,
    "secretHash" TEXT NOT NULL,
    "scope" "ApiKeyScope" NOT NULL,
    "expiresAt" TIMESTAMPTZ(3),
    "revokedAt" TIMESTAMPTZ(3),
    "lastUsedAt" TIMESTAMPTZ(3),
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ApiKey_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "SigningKey" (
    "id" UUID NOT NULL,
    "secret" TEXT NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "SigningKey_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Flow" (
    "id" UUID NOT NULL,
    "workspaceId" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "tags" TEXT[],
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "Flow_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Deployment" (
    "id" UUID NOT NULL,
    "workspaceId" UUID NOT NULL,
    "flowId" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "description" TEXT,
    "entrypoint" TEXT NOT NULL,
    "path" TEXT,
    "workPoolId" UUID,
    "workQueueId" UUID,
    "parameters" JSONB NOT NULL DEFAULT '{}',
    "parameterSchema" JSONB,
    "jobVariables" JSONB NOT NULL DEFAULT '{}',
    "tags" TEXT[],
    "paused" BOOLEAN NOT NULL DEFAULT false,
    "concurrencyLimit" INTEGER,
    "collisionStrategy" "CollisionStrategy" NOT NULL DEFAULT 'ENQUEUE',
    "catchup" BOOLEAN NOT NULL DEFAULT true,
    "currentVersionId" UUID,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "Deployment_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "DeploymentVersion" (
    "id" UUID NOT NULL,
    "workspaceId" UUID NOT NULL,
    "deploymentId" UUID NOT NULL,
    "version" INTEGER NOT NULL,
    "contentHash" TEXT NOT NULL,
    "content" JSONB NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "DeploymentVersion_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "DeploymentSchedule" (
    "id" UUID NOT NULL,
    "workspaceId" UUID NOT NULL,
    "deploymentId" UUID NOT NULL,
    "kind" "ScheduleKind" NOT NULL,
    "cron" TEXT,
    "intervalSeconds" INTEGER,
    "anchorDate" TIMESTAMPTZ(3),
    "rrule" TEXT,
    "timezone" TEXT NOT NULL DEFAULT 'UTC',
    "active" BOOLEAN NOT NULL DEFAULT true,
    "parameters" JSONB NOT NULL DEFAULT '{}',
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "DeploymentSchedule_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "WorkPool" (
    "id" UUID NOT NULL,
    "workspaceId" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "type" "WorkPoolType" NOT NULL,
    "description" TEXT,
    "baseJobTemplate" JSONB NOT NULL,
    "concurrencyLimit" INTEGER,
    "paused" BOOLEAN NOT NULL DEFAULT false,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "WorkPool_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "WorkQueue" (
    "id" UUID NOT NULL,
    "workspaceId" UUID NOT NULL,
    "workPoolId" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "priority" INTEGER NOT NULL DEFAULT 1,
    "concurrencyLimit" INTEGER,
    "paused" BOOLEAN NOT NULL DEFAULT false,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "WorkQueue_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Worker" (
    "id" UUID NOT NULL,
    "workspaceId" UUID NOT NULL,
    "workPoolId" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "status" "WorkerStatus" NOT NULL DEFAULT 'ONLINE',
    "heartbeatIntervalSeconds" INTEGER NOT NULL DEFAULT 10,
    "lastHeartbeatAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "metadata" JSONB NOT NULL DEFAULT '{}',
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Worker_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "FlowRun" (
    "id" UUID NOT NULL,
    "workspaceId" UUID NOT NULL,
    "flowId" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "deploymentId" UUID,
    "deploymentVersionId" UUID,
    "scheduleId" UUID,
    "workPoolId" UUID,
    "workQueueId" UUID,
    "workerId" UUID,
    "parentTaskRunId" UUID,
    "stateType" "StateType" NOT NULL,
    "stateName" TEXT NOT NULL,
    "stateTimestamp" TIMESTAMPTZ(3) NOT NULL,
    "stateMessage" TEXT,
    "stateTransitionId" TEXT,
    "parameters" JSONB NOT NULL DEFAULT '{}',
    "jobVariables" JSONB NOT NULL DEFAULT '{}',
    "tags" TEXT[],
    "expectedStartTime" TIMESTAMPTZ(3) NOT NULL,
    "nextScheduledTime" TIMESTAMPTZ(3),
    "partitionKey" TEXT,
    "idempotencyKey" TEXT,
    "startTime" TIMESTAMPTZ(3),
    "endTime" TIMESTAMPTZ(3),
    "runCount" INTEGER NOT NULL DEFAULT 0,
    "retryPolicy" JSONB NOT NULL DEFAULT '{}',
    "autoScheduled" BOOLEAN NOT NULL DEFAULT false,
    "infrastructureId" TEXT,
    "heartbeatAt" TIMESTAMPTZ(3),
    "claimExpiresAt" TIMESTAMPTZ(3),
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "FlowRun_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "TaskRun" (
    "id" UUID NOT NULL,
    "workspaceId" UUID NOT NULL,
    "flowRunId" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "taskKey" TEXT NOT NULL,
    "dynamicKey" TEXT NOT NULL,
    "stateType" "StateType" NOT NULL,
    "stateName" TEXT NOT NULL,
    "stateTimestamp" TIMESTAMPTZ(3) NOT NULL,
    "stateMessage" TEXT,
    "stateTransitionId" TEXT,
    "cacheKey" TEXT,
    "cacheExpiration" TIMESTAMPTZ(3),
    "tags" TEXT[],
    "runCount" INTEGER NOT NULL DEFAULT 0,
    "expectedStartTime" TIMESTAMPTZ(3),
    "startTime" TIMESTAMPTZ(3),
    "endTime" TIMESTAMPTZ(3),
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "TaskRun_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "State" (
    "id" UUID NOT NULL,
    "workspaceId" UUID NOT NULL,
    "flowRunId" UUID,
    "taskRunId" UUID,
    "type" "StateType" NOT NULL,
    "name" TEXT NOT NULL,
    "timestamp" TIMESTAMPTZ(3) NOT NULL,
    "message" TEXT,
    "transitionId" TEXT,
    "details" JSONB NOT NULL DEFAULT '{}',

    CONSTRAINT "State_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Log" (
    "id" UUID NOT NULL,
    "workspaceId" UUID NOT NULL,
    "flowRunId" UUID NOT NULL,
    "taskRunId" UUID,
    "name" TEXT NOT NULL DEFAULT 'flowplane',
    "level" INTEGER NOT NULL,
    "message" TEXT NOT NULL,
    "timestamp" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "Log_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Artifact" (
    "id" UUID NOT NULL,
    "workspaceId" UUID NOT NULL,
    "flowRunId" UUID,
    "taskRunId" UUID,
    "key" TEXT,
    "type" "ArtifactType" NOT NULL,
    "description" TEXT,
    "data" JSONB NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Artifact_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ConcurrencyLimit" (
    "id" UUID NOT NULL,
    "workspaceId" UUID NOT NULL,
    "tag" TEXT NOT NULL,
    "limit" INTEGER NOT NULL,
    "activeSlots" TEXT[],
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ConcurrencyLimit_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "Workspace_name_key" ON "Workspace"("name");

-- CreateIndex
CREATE UNIQUE INDEX "ApiKey_prefix_key" ON "ApiKey"("prefix");

-- CreateIndex
CREATE INDEX "ApiKey_workspaceId_createdAt_idx" ON "ApiKey"("workspaceId", "createdAt" DESC);

-- CreateIndex
CREATE UNIQUE INDEX "Flow_workspaceId_name_key" ON "Flow"("workspaceId", "name");

-- CreateIndex
CREATE INDEX "Deployment_workspaceId_createdAt_idx" ON "Deployment"("workspaceId", "createdAt" DESC);

-- CreateIndex
CREATE UNIQUE INDEX "Deployment_workspaceId_flowId_name_key" ON "Deployment"("workspaceId", "flowId", "name");

-- CreateIndex
CREATE UNIQUE INDEX "DeploymentVersion_workspaceId_deploymentId_version_key" ON "DeploymentVersion"("workspaceId", "deploymentId", "version");

-- CreateIndex
CREATE UNIQUE INDEX "DeploymentVersion_workspaceId_deploymentId_contentHash_key" ON "DeploymentVersion"("workspaceId", "deploymentId", "contentHash");

-- CreateIndex
CREATE INDEX "DeploymentSchedule_workspaceId_deploymentId_idx" ON "DeploymentSchedule"("workspaceId", "deploymentId");

-- CreateIndex
CREATE UNIQUE INDEX "WorkPool_workspaceId_name_key" ON "WorkPool"("workspaceId", "name");

-- CreateIndex
CREATE UNIQUE INDEX "WorkQueue_workspaceId_workPoolId_name_key" ON "WorkQueue"("workspaceId", "workPoolId", "name");

-- CreateIndex
CREATE INDEX "Worker_status_lastHeartbeatAt_idx" ON "Worker"("status", "lastHeartbeatAt");

-- CreateIndex
CREATE UNIQUE INDEX "Worker_workspaceId_workPoolId_name_key" ON "Worker"("workspaceId", "workPoolId", "name");

-- CreateIndex
CREATE UNIQUE INDEX "FlowRun_parentTaskRunId_key" ON "FlowRun"("parentTaskRunId");

-- CreateIndex
CREATE INDEX "FlowRun_workspaceId_id_idx" ON "FlowRun"("workspaceId", "id" DESC);

-- CreateIndex
CREATE INDEX "FlowRun_workspaceId_stateType_id_idx" ON "FlowRun"("workspaceId", "stateType", "id" DESC);

-- CreateIndex
CREATE INDEX "FlowRun_workspaceId_flowId_id_idx" ON "FlowRun"("workspaceId", "flowId", "id" DESC);

-- CreateIndex
CREATE INDEX "FlowRun_workspaceId_deploymentId_id_idx" ON "FlowRun"("workspaceId", "deploymentId", "id" DESC);

-- CreateIndex
CREATE INDEX "FlowRun_workspaceId_expectedStartTime_idx" ON "FlowRun"("workspaceId", "expectedStartTime");

-- CreateIndex
CREATE INDEX "FlowRun_workPoolId_stateType_nextScheduledTime_idx" ON "FlowRun"("workPoolId", "stateType", "nextScheduledTime");

-- CreateIndex
CREATE INDEX "FlowRun_stateType_heartbeatAt_idx" ON "FlowRun"("stateType", "heartbeatAt");

-- CreateIndex
CREATE INDEX "FlowRun_stateType_claimExpiresAt_idx" ON "FlowRun"("stateType", "claimExpiresAt");

-- CreateIndex
CREATE INDEX "FlowRun_deploymentId_stateType_idx" ON "FlowRun"("deploymentId", "stateType");

-- CreateIndex
CREATE UNIQUE INDEX "FlowRun_workspaceId_flowId_idempotencyKey_key" ON "FlowRun"("workspaceId", "flowId", "idempotencyKey");

-- CreateIndex
CREATE INDEX "TaskRun_flowRunId_startTime_idx" ON "TaskRun"("flowRunId", "startTime");

-- CreateIndex
CREATE UNIQUE INDEX "TaskRun_workspaceId_flowRunId_taskKey_dynamicKey_key" ON "TaskRun"("workspaceId", "flowRunId", "taskKey", "dynamicKey");

-- CreateIndex
CREATE INDEX "State_flowRunId_timestamp_idx" ON "State"("flowRunId", "timestamp");

-- CreateIndex
CREATE INDEX "State_taskRunId_timestamp_idx" ON "State"("taskRunId", "timestamp");

-- CreateIndex
CREATE INDEX "State_workspaceId_timestamp_idx" ON "State"("workspaceId", "timestamp");

-- CreateIndex
CREATE INDEX "Log_flowRunId_timestamp_id_idx" ON "Log"("flowRunId", "timestamp", "id");

-- CreateIndex
CREATE INDEX "Log_workspaceId_timestamp_idx" ON "Log"("workspaceId", "timestamp");

-- CreateIndex
CREATE INDEX "Artifact_flowRunId_createdAt_idx" ON "Artifact"("flowRunId", "createdAt");

-- CreateIndex
CREATE INDEX "Artifact_workspaceId_key_createdAt_idx" ON "Artifact"("workspaceId", "key", "createdAt" DESC);

-- CreateIndex
CREATE UNIQUE INDEX "ConcurrencyLimit_workspaceId_tag_key" ON "ConcurrencyLimit"("workspaceId", "tag");

-- AddForeignKey
ALTER TABLE "ApiKey" ADD CONSTRAINT "ApiKey_workspaceId_fkey" FOREIGN KEY ("workspaceId") REFERENCES "Workspace"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Flow" ADD CONSTRAINT "Flow_workspaceId_fkey" FOREIGN KEY ("workspaceId") REFERENCES "Workspace"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Deployment" ADD CONSTRAINT "Deployment_workspaceId_fkey" FOREIGN KEY ("workspaceId") REFERENCES "Workspace"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Deployment" ADD CONSTRAINT "Deployment_flowId_fkey" FOREIGN KEY ("flowId") REFERENCES "Flow"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Deployment" ADD CONSTRAINT "Deployment_workPoolId_fkey" FOREIGN KEY ("workPoolId") REFERENCES "WorkPool"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Deployment" ADD CONSTRAINT "Deployment_workQueueId_fkey" FOREIGN KEY ("workQueueId") REFERENCES "WorkQueue"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "DeploymentVersion" ADD CONSTRAINT "DeploymentVersion_workspaceId_fkey" FOREIGN KEY ("workspaceId") REFERENCES "Workspace"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "DeploymentVersion" ADD CONSTRAINT "DeploymentVersion_deploymentId_fkey" FOREIGN KEY ("deploymentId") REFERENCES "Deployment"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "DeploymentSchedule" ADD CONSTRAINT "DeploymentSchedule_workspaceId_fkey" FOREIGN KEY ("workspaceId") REFERENCES "Workspace"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "DeploymentSchedule" ADD CONSTRAINT "DeploymentSchedule_deploymentId_fkey" FOREIGN KEY ("deploymentId") REFERENCES "Deployment"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "WorkPool" ADD CONSTRAINT "WorkPool_workspaceId_fkey" FOREIGN KEY ("workspaceId") REFERENCES "Workspace"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "WorkQueue" ADD CONSTRAINT "WorkQueue_workspaceId_fkey" FOREIGN KEY ("workspaceId") REFERENCES "Workspace"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "WorkQueue" ADD CONSTRAINT "WorkQueue_workPoolId_fkey" FOREIGN KEY ("workPoolId") REFERENCES "WorkPool"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Worker" ADD CONSTRAINT "Worker_workspaceId_fkey" FOREIGN KEY ("workspaceId") REFERENCES "Workspace"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Worker" ADD CONSTRAINT "Worker_workPoolId_fkey" FOREIGN KEY ("workPoolId") REFERENCES "WorkPool"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "FlowRun" ADD CONSTRAINT "FlowRun_workspaceId_fkey" FOREIGN KEY ("workspaceId") REFERENCES "Workspace"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "FlowRun" ADD CONSTRAINT "FlowRun_flowId_fkey" FOREIGN KEY ("flowId") REFERENCES "Flow"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "FlowRun" ADD CONSTRAINT "FlowRun_deploymentId_fkey" FOREIGN KEY ("deploymentId") REFERENCES "Deployment"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "FlowRun" ADD CONSTRAINT "FlowRun_deploymentVersionId_fkey" FOREIGN KEY ("deploymentVersionId") REFERENCES "DeploymentVersion"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "FlowRun" ADD CONSTRAINT "FlowRun_scheduleId_fkey" FOREIGN KEY ("scheduleId") REFERENCES "DeploymentSchedule"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "FlowRun" ADD CONSTRAINT "FlowRun_workPoolId_fkey" FOREIGN KEY ("workPoolId") REFERENCES "WorkPool"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "FlowRun" ADD CONSTRAINT "FlowRun_workQueueId_fkey" FOREIGN KEY ("workQueueId") REFERENCES "WorkQueue"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "FlowRun" ADD CONSTRAINT "FlowRun_workerId_fkey" FOREIGN KEY ("workerId") REFERENCES "Worker"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "FlowRun" ADD CONSTRAINT "FlowRun_parentTaskRunId_fkey" FOREIGN KEY ("parentTaskRunId") REFERENCES "TaskRun"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "TaskRun" ADD CONSTRAINT "TaskRun_workspaceId_fkey" FOREIGN KEY ("workspaceId") REFERENCES "Workspace"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "TaskRun" ADD CONSTRAINT "TaskRun_flowRunId_fkey" FOREIGN KEY ("flowRunId") REFERENCES "FlowRun"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "State" ADD CONSTRAINT "State_workspaceId_fkey" FOREIGN KEY ("workspaceId") REFERENCES "Workspace"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "State" ADD CONSTRAINT "State_flowRunId_fkey" FOREIGN KEY ("flowRunId") REFERENCES "FlowRun"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "State" ADD CONSTRAINT "State_taskRunId_fkey" FOREIGN KEY ("taskRunId") REFERENCES "TaskRun"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Log" ADD CONSTRAINT "Log_workspaceId_fkey" FOREIGN KEY ("workspaceId") REFERENCES "Workspace"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Log" ADD CONSTRAINT "Log_flowRunId_fkey" FOREIGN KEY ("flowRunId") REFERENCES "FlowRun"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Log" ADD CONSTRAINT "Log_taskRunId_fkey" FOREIGN KEY ("taskRunId") REFERENCES "TaskRun"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Artifact" ADD CONSTRAINT "Artifact_workspaceId_fkey" FOREIGN KEY ("workspaceId") REFERENCES "Workspace"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Artifact" ADD CONSTRAINT "Artifact_flowRunId_fkey" FOREIGN KEY ("flowRunId") REFERENCES "FlowRun"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Artifact" ADD CONSTRAINT "Artifact_taskRunId_fkey" FOREIGN KEY ("taskRunId") REFERENCES "TaskRun"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ConcurrencyLimit" ADD CONSTRAINT "ConcurrencyLimit_workspaceId_fkey" FOREIGN KEY ("workspaceId") REFERENCES "Workspace"("id") ON DELETE CASCADE ON UPDATE CASCADE;
