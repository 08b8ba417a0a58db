-- DropIndex
DROP INDEX "FlowRun_workspaceId_expectedStartTime_idx";

-- CreateIndex
CREATE INDEX "FlowRun_workspaceId_expectedStartTime_id_idx" ON "FlowRun"("workspaceId", "expectedStartTime" DESC, "id" DESC);
