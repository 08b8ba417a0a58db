-- DropIndex
DROP INDEX "FlowRun_deploymentId_stateType_idx";

-- DropIndex
DROP INDEX "FlowRun_stateType_claimExpiresAt_idx";

-- DropIndex
DROP INDEX "FlowRun_stateType_heartbeatAt_idx";

-- DropIndex
DROP INDEX "FlowRun_workPoolId_stateType_nextScheduledTime_idx";

-- CreateIndex
CREATE INDEX "FlowRun_due_idx" ON "FlowRun"("workPoolId", "workQueueId", "nextScheduledTime", "id") WHERE ("stateType" = 'SCHEDULED');

-- CreateIndex
CREATE INDEX "FlowRun_active_by_pool_idx" ON "FlowRun"("workPoolId", "workQueueId") WHERE ("stateType" = ANY (ARRAY['PENDING'::"StateType", 'RUNNING'::"StateType", 'CANCELLING'::"StateType"]));

-- CreateIndex
CREATE INDEX "FlowRun_active_by_deployment_idx" ON "FlowRun"("deploymentId") WHERE ("stateType" = ANY (ARRAY['PENDING'::"StateType", 'RUNNING'::"StateType", 'CANCELLING'::"StateType"]));

-- CreateIndex
CREATE INDEX "FlowRun_cancelling_idx" ON "FlowRun"("workerId") WHERE ("stateType" = 'CANCELLING');

-- CreateIndex
CREATE INDEX "FlowRun_running_heartbeat_idx" ON "FlowRun"("heartbeatAt") WHERE ("stateType" = 'RUNNING');

-- CreateIndex
CREATE INDEX "FlowRun_pending_claim_idx" ON "FlowRun"("claimExpiresAt") WHERE ("stateType" = 'PENDING');
