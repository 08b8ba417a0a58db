// UUIDv7: 48-bit millisecond timestamp, then random bits. Time-ordered ids keep B-tree inserts at
// the right edge of the index. Random bytes come from a pooled buffer: one getRandomValues call
// per 512 ids keeps id generation off the SDK's per-task budget.
const POOL_IDS = 512;
const pool = new Uint8Array(POOL_IDS * 10);
let offset = pool.length;
const hex: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

export function uuidv7(now: number = Date.now()): string {
  if (offset + 10 > pool.length) {
    crypto.getRandomValues(pool);
    offset = 0;
  }
  const r = offset;
  offset += 10;
  const ms = Math.max(0, Math.floor(now));
  const hi = Math.floor(ms / 0x1_0000_0000);
  const lo = ms >>> 0;
  return (
    hex[(hi >>> 8) & 0xff]! + hex[hi & 0xff]! + hex[(lo >>> 24) & 0xff]! + hex[(lo >>> 16) & 0xff]! + "-" +
    hex[(lo >>> 8) & 0xff]! + hex[lo & 0xff]! + "-" +
    hex[0x70 | (pool[r]! & 0x0f)]! + hex[pool[r + 1]!]! + "-" +
    hex[0x80 | (pool[r + 2]! & 0x3f)]! + hex[pool[r + 3]!]! + "-" +
    hex[pool[r + 4]!]! + hex[pool[r + 5]!]! + hex[pool[r + 6]!]! + hex[pool[r + 7]!]! + hex[pool[r + 8]!]! + hex[pool[r + 9]!]!
  );
}
