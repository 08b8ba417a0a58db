-- DropForeignKey
ALTER TABLE "ConcurrencyLimit" DROP CONSTRAINT "ConcurrencyLimit_workspaceId_fkey";

-- DropTable
DROP TABLE "ConcurrencyLimit";
