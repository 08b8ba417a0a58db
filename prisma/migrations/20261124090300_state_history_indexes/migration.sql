-- DropIndex
DROP INDEX "State_flowRunId_timestamp_idx";

-- DropIndex
DROP INDEX "State_taskRunId_timestamp_idx";

-- DropIndex
DROP INDEX "State_workspaceId_timestamp_idx";

-- CreateIndex
CREATE INDEX "State_flowRunId_timestamp_idx" ON "State"("flowRunId", "timestamp") WHERE ("flowRunId" IS NOT NULL);

-- CreateIndex
CREATE INDEX "State_taskRunId_timestamp_idx" ON "State"("taskRunId", "timestamp") WHERE ("taskRunId" IS NOT NULL);
