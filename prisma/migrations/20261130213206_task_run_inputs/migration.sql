-- AlterTable
ALTER TABLE "TaskRun" ADD COLUMN     "inputTaskRunIds" UUID[] DEFAULT ARRAY[]::UUID[];
