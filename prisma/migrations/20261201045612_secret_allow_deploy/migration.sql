-- AlterTable
ALTER TABLE "Secret" ADD COLUMN     "allowDeploy" BOOLEAN NOT NULL DEFAULT false;

-- AlterTable
ALTER TABLE "SecretRead" ADD COLUMN     "deployments" TEXT[] DEFAULT ARRAY[]::TEXT[],
ADD COLUMN     "serviceAccountId" UUID,
ADD COLUMN     "step" TEXT,
ADD COLUMN     "userId" UUID,
ALTER COLUMN "apiKeyId" DROP NOT NULL;
