-- AlterTable
ALTER TABLE "Deployment" ADD COLUMN     "codeVersion" TEXT,
ADD COLUMN     "pullSteps" JSONB;

-- AlterTable
ALTER TABLE "FlowRun" ADD COLUMN     "codeVersion" TEXT;
