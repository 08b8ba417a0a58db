-- Existing plain signing secrets are sealed with the master key by the server at its next start
-- (packages/api/src/services/signing-keys.ts): only the server holds the master key, SQL cannot.
-- AlterTable
ALTER TABLE "SigningKey" ADD COLUMN     "retiredAt" TIMESTAMPTZ(3);
