-- AlterTable
ALTER TABLE "Deployment" ADD COLUMN     "secrets" TEXT[] DEFAULT ARRAY[]::TEXT[];

-- AlterTable
ALTER TABLE "SecretRead" ADD COLUMN     "reader" TEXT NOT NULL DEFAULT 'worker';
