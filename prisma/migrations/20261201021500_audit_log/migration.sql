-- CreateTable
CREATE TABLE "AuditEvent" (
    "id" UUID NOT NULL,
    "workspaceId" UUID,
    "occurredAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "actorType" TEXT NOT NULL,
    "actorId" TEXT,
    "actorName" TEXT,
    "apiKeyId" UUID,
    "apiKeyName" TEXT,
    "apiKeyPrefix" TEXT,
    "action" TEXT NOT NULL,
    "target" JSONB,
    "outcome" TEXT NOT NULL,
    "errorCode" TEXT,
    "count" INTEGER NOT NULL DEFAULT 1,
    "ip" TEXT,
    "userAgent" TEXT,

    CONSTRAINT "AuditEvent_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "AuditEvent_workspaceId_occurredAt_idx" ON "AuditEvent"("workspaceId", "occurredAt" DESC);

-- CreateIndex
CREATE INDEX "AuditEvent_occurredAt_idx" ON "AuditEvent"("occurredAt");

-- Everything below is written by hand: Prisma does not model functions or triggers.
--
-- The audit log is append-only. Any UPDATE, DELETE or TRUNCATE of "AuditEvent" fails, whoever
-- sends it (the application, a migration, someone at psql), except the deletes that the retention
-- function below makes: it sets a transaction-local flag that the trigger accepts. This keeps the
-- application and its bugs (and an ORM call anywhere) from changing history; it is no defence
-- against someone who runs arbitrary SQL as the table's owner, who could drop the trigger. Where
-- that matters, run the server as a role granted only SELECT and INSERT on "AuditEvent" (plus
-- EXECUTE on the retention function, owned by another role) - see README, "Audit log".

CREATE FUNCTION "AuditEvent_append_only"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' AND current_setting('flowplane.audit_retention', true) = 'on' THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'the audit log is append-only: % of "AuditEvent" is refused (only retention deletes entries)', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER "AuditEvent_no_update_delete" BEFORE UPDATE OR DELETE ON "AuditEvent"
  FOR EACH ROW EXECUTE FUNCTION "AuditEvent_append_only"();
CREATE TRIGGER "AuditEvent_no_truncate" BEFORE TRUNCATE ON "AuditEvent"
  FOR EACH STATEMENT EXECUTE FUNCTION "AuditEvent_append_only"();

-- The one way entries leave: the oldest ones, before `cutoff`, at most `max_rows` per call (the
-- retention loop calls it in bounded batches like its other deletes). The flag is local to the
-- calling transaction (set_config(..., true)), so it never leaks to the pooled connection's next use.
-- SECURITY DEFINER so that a server role without DELETE on the table can still apply retention;
-- the search path is pinned to the one the migration ran with, as definer functions must.
CREATE FUNCTION flowplane_prune_audit_events(cutoff timestamptz, max_rows int) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
  deleted bigint;
BEGIN
  PERFORM set_config('flowplane.audit_retention', 'on', true);
  DELETE FROM "AuditEvent" WHERE id IN (
    SELECT id FROM "AuditEvent" WHERE "occurredAt" < cutoff ORDER BY "occurredAt" LIMIT max_rows);
  GET DIAGNOSTICS deleted = ROW_COUNT;
  PERFORM set_config('flowplane.audit_retention', 'off', true);
  RETURN deleted;
END
$$;

