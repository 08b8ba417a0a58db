function iso(slot: Date): string {
  if (!(slot instanceof Date) || Number.isNaN(slot.getTime())) throw new RangeError("slot must be a valid Date");
  return slot.toISOString();
}

/**
 * Idempotency key of the one run a schedule creates for a slot. Every server replica derives the
 * same key, so a unique index on it turns concurrent inserts for one slot into one run. Ids are
 * URI-encoded so a ':' inside an id cannot make two different (deployment, schedule) pairs collide.
 */
export function scheduleSlotKey(deploymentId: string, scheduleId: string, slot: Date): string {
  return `scheduled:${encodeURIComponent(deploymentId)}:${encodeURIComponent(scheduleId)}:${iso(slot)}`;
}

/**
 * The partition key a scheduled or backfilled run carries: the slot in ISO-8601 UTC with
 * milliseconds (`2026-03-08T07:00:00.000Z`). One fixed width, so keys sort as their times do.
 */
export function partitionKeyFor(slot: Date): string {
  return iso(slot);
}
