-- DropIndex
DROP INDEX "Log_workspaceId_timestamp_idx";

-- AlterTable
ALTER TABLE "DeploymentSchedule" ADD COLUMN     "scheduledThrough" TIMESTAMPTZ(3);

-- CreateIndex
CREATE INDEX "DeploymentSchedule_active_scheduledThrough_idx" ON "DeploymentSchedule"("active", "scheduledThrough");

-- CreateIndex
CREATE INDEX "Log_timestamp_idx" ON "Log"("timestamp");
