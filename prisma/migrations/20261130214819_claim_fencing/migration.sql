-- AlterTable
ALTER TABLE "FlowRun" ADD COLUMN     "claimToken" UUID;

-- AlterTable
ALTER TABLE "Worker" ADD COLUMN     "apiKeyId" UUID;
