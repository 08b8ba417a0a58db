-- CreateTable
CREATE TABLE "FlowRunCountRollup" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "workspaceId" UUID NOT NULL,
    "flowId" UUID NOT NULL,
    "deploymentId" UUID NOT NULL,
    "bucket" TIMESTAMPTZ(3) NOT NULL,
    "stateType" "StateType" NOT NULL,
    "n" INTEGER NOT NULL,

    CONSTRAINT "FlowRunCountRollup_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "FlowRunCountDelta" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "workspaceId" UUID NOT NULL,
    "flowId" UUID NOT NULL,
    "deploymentId" UUID NOT NULL,
    "bucket" TIMESTAMPTZ(3) NOT NULL,
    "stateType" "StateType" NOT NULL,
    "n" INTEGER NOT NULL,

    CONSTRAINT "FlowRunCountDelta_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "FlowRunCountRollup_workspaceId_bucket_flowId_deploymentId_s_key" ON "FlowRunCountRollup"("workspaceId", "bucket", "flowId", "deploymentId", "stateType");

-- Everything below is written by hand: Prisma does not model functions or triggers.
--
-- FlowRun's statement-level triggers append the count changes a statement makes to
-- "FlowRunCountDelta", one grouped insert per statement (a scheduler pass inserting thousands of
-- runs, a claim of fifty, a retention delete all write one insert each). The delta table has no
-- unique key, so transactions changing runs of the same hour and state never wait on each other;
-- compaction (packages/api/src/services/flow-run-counts.ts) folds the deltas into
-- "FlowRunCountRollup". Buckets are hours in UTC, whatever the session's time zone.
-- Runs without a deployment count under the nil UUID. Cascaded deletes (a flow's, a workspace's)
-- and SET NULL of a deleted deployment run as ordinary DELETE / UPDATE statements on "FlowRun",
-- so these triggers see them too.

CREATE FUNCTION "FlowRun_counts_insert"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "FlowRunCountDelta" ("workspaceId", "flowId", "deploymentId", "bucket", "stateType", "n")
  SELECT "workspaceId", "flowId", COALESCE("deploymentId", '00000000-0000-0000-0000-000000000000'::uuid),
         date_trunc('hour', "expectedStartTime", 'UTC'), "stateType", count(*)::int
    FROM new_rows
   GROUP BY 1, 2, 3, 4, 5;
  RETURN NULL;
END
$$;

CREATE FUNCTION "FlowRun_counts_delete"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "FlowRunCountDelta" ("workspaceId", "flowId", "deploymentId", "bucket", "stateType", "n")
  SELECT "workspaceId", "flowId", COALESCE("deploymentId", '00000000-0000-0000-0000-000000000000'::uuid),
         date_trunc('hour', "expectedStartTime", 'UTC'), "stateType", -count(*)::int
    FROM old_rows
   GROUP BY 1, 2, 3, 4, 5;
  RETURN NULL;
END
$$;

-- Most updates (heartbeats, claims' worker ids, retry policies) change nothing counted: the join
-- on id keeps only rows whose counted columns changed, so those statements insert nothing. A
-- changed row moves one count from its old key to its new one. The full join also covers an
-- update of the id itself, counted as a delete plus an insert.
CREATE FUNCTION "FlowRun_counts_update"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "FlowRunCountDelta" ("workspaceId", "flowId", "deploymentId", "bucket", "stateType", "n")
  SELECT d.ws, d.flow, d.dep, d.bucket, d.state, sum(d.n)::int
    FROM old_rows o
    FULL JOIN new_rows w ON w.id = o.id
   CROSS JOIN LATERAL (VALUES
           (o."workspaceId", o."flowId", COALESCE(o."deploymentId", '00000000-0000-0000-0000-000000000000'::uuid), date_trunc('hour', o."expectedStartTime", 'UTC'), o."stateType", -1),
           (w."workspaceId", w."flowId", COALESCE(w."deploymentId", '00000000-0000-0000-0000-000000000000'::uuid), date_trunc('hour', w."expectedStartTime", 'UTC'), w."stateType", 1)
         ) AS d(ws, flow, dep, bucket, state, n)
   WHERE d.ws IS NOT NULL
     AND (o.id IS NULL OR w.id IS NULL
          OR o."stateType" <> w."stateType"
          OR o."flowId" <> w."flowId"
          OR o."deploymentId" IS DISTINCT FROM w."deploymentId"
          OR o."workspaceId" <> w."workspaceId"
          OR date_trunc('hour', o."expectedStartTime", 'UTC') <> date_trunc('hour', w."expectedStartTime", 'UTC'))
   GROUP BY 1, 2, 3, 4, 5
  HAVING sum(d.n) <> 0;
  RETURN NULL;
END
$$;

-- TRUNCATE fires no row triggers; it empties "FlowRun" for every workspace, so every count is zero.
CREATE FUNCTION "FlowRun_counts_truncate"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM "FlowRunCountDelta";
  DELETE FROM "FlowRunCountRollup";
  RETURN NULL;
END
$$;

CREATE TRIGGER "FlowRun_counts_insert" AFTER INSERT ON "FlowRun"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "FlowRun_counts_insert"();
CREATE TRIGGER "FlowRun_counts_update" AFTER UPDATE ON "FlowRun"
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "FlowRun_counts_update"();
CREATE TRIGGER "FlowRun_counts_delete" AFTER DELETE ON "FlowRun"
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION "FlowRun_counts_delete"();
CREATE TRIGGER "FlowRun_counts_truncate" AFTER TRUNCATE ON "FlowRun"
  FOR EACH STATEMENT EXECUTE FUNCTION "FlowRun_counts_truncate"();

-- Backfill from the runs already there. The whole migration runs as one transaction, and
-- CREATE TRIGGER above holds a lock that keeps writers of "FlowRun" out until it commits, so every
-- run is counted exactly once: by this insert, or by the triggers after the commit.
INSERT INTO "FlowRunCountRollup" ("workspaceId", "flowId", "deploymentId", "bucket", "stateType", "n")
SELECT "workspaceId", "flowId", COALESCE("deploymentId", '00000000-0000-0000-0000-000000000000'::uuid),
       date_trunc('hour', "expectedStartTime", 'UTC'), "stateType", count(*)::int
  FROM "FlowRun"
 GROUP BY 1, 2, 3, 4, 5;
