// Hand-written SQL for the hot paths (claims, proposals, ingestion), on the pg pool that the
// Prisma client shares. Prisma's interactive transactions cost extra round trips we cannot afford
// there; everything else goes through Prisma.
import type pg from "pg";

export type Sql = pg.Pool | pg.PoolClient;

export async function inTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    const result = await work(client);
    await client.query("COMMIT");
    return result;
  } catch (err) {
    await client.query("ROLLBACK").catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}
