// UUIDv7 (RFC 9562): 48-bit Unix ms timestamp, then randomness. Ids are made client-side for every
// task run, state and log line, so this sits on the hot path: randomness comes from one pooled
// buffer refilled in bulk, and hex comes from a lookup table.
//
// Within one millisecond the 12-bit rand_a field is a counter (RFC 9562 §6.2, method 1), so ids
// from this process sort in creation order — the control plane orders timelines by id.

const POOL_SIZE = 16 * 1024; // 1,638 ids per getRandomValues call
const pool = new Uint8Array(POOL_SIZE);
let poolOffset = POOL_SIZE;

const HEX: string[] = [];
for (let i = 0; i < 256; i++) HEX.push(i.toString(16).padStart(2, "0"));

let lastMs = -1;
let seq = 0;

function randomBytes(n: number): number {
  if (poolOffset + n > POOL_SIZE) {
    crypto.getRandomValues(pool);
    poolOffset = 0;
  }
  const at = poolOffset;
  poolOffset += n;
  return at;
}

/** A new UUIDv7; `now` (ms) defaults to the clock and never makes ids go backwards. */
export function uuidv7(now: number = Date.now()): string {
  let ms = Math.floor(now);
  const r = randomBytes(10);
  if (ms > lastMs) {
    lastMs = ms;
    // Start below 0x800 so there is room to count up before overflowing into the next ms.
    seq = ((pool[r]! & 0x07) << 8) | pool[r + 1]!;
  } else {
    ms = lastMs; // clock went backwards or same ms: stay monotonic
    seq++;
    if (seq > 0xfff) {
      lastMs++;
      ms = lastMs;
      seq = 0;
    }
  }
  // 48-bit timestamp split so no step exceeds 32-bit integer math.
  const hi = Math.floor(ms / 0x1000000); // top 24 bits
  const lo = ms % 0x1000000; // bottom 24 bits
  return (
    HEX[(hi >>> 16) & 0xff]! +
    HEX[(hi >>> 8) & 0xff]! +
    HEX[hi & 0xff]! +
    HEX[(lo >>> 16) & 0xff]! +
    "-" +
    HEX[(lo >>> 8) & 0xff]! +
    HEX[lo & 0xff]! +
    "-" +
    HEX[0x70 | (seq >>> 8)]! +
    HEX[seq & 0xff]! +
    "-" +
    HEX[0x80 | (pool[r + 2]! & 0x3f)]! +
    HEX[pool[r + 3]!]! +
    "-" +
    HEX[pool[r + 4]!]! +
    HEX[pool[r + 5]!]! +
    HEX[pool[r + 6]!]! +
    HEX[pool[r + 7]!]! +
    HEX[pool[r + 8]!]! +
    HEX[pool[r + 9]!]!
  );
}

/** The creation time encoded in a UUIDv7, in ms since the epoch. */
export function uuidv7Timestamp(id: string): number {
  return parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}
