// Prisma's schema engine, compiled to WebAssembly, driven through the pg driver adapter.
// The Prisma CLI downloads a native engine binary that our machines cannot fetch; the WASM build
// is the same engine, shipped on npm. We instantiate the .wasm ourselves because Node 20 cannot
// `import` a .wasm module without --experimental-wasm-modules.
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { PrismaPg } from "@prisma/adapter-pg";
import {
  bindMigrationAwareSqlAdapterFactory,
  type SqlDriverAdapter,
  type SqlMigrationAwareDriverAdapterFactory,
} from "@prisma/driver-adapter-utils";
import type { SchemaEngine } from "@prisma/schema-engine-wasm";
import type * as EngineBindings from "@prisma/schema-engine-wasm/schema_engine_bg";
import { parse as parseConnectionString } from "pg-connection-string";
import pg, { type PoolConfig } from "pg";
import { randomUUID } from "node:crypto";

const require = createRequire(import.meta.url);
let loaded: Promise<typeof EngineBindings> | undefined;

function loadEngineModule() {
  loaded ??= (async () => {
    const bindings = await import("@prisma/schema-engine-wasm/schema_engine_bg");
    // The package's exports map does not list the .wasm file; it sits beside the entry module.
    const wasmPath = path.join(path.dirname(require.resolve("@prisma/schema-engine-wasm")), "schema_engine_bg.wasm");
    const { instance } = await WebAssembly.instantiate(await readFile(wasmPath), {
      "./schema_engine_bg.js": bindings as unknown as WebAssembly.ModuleImports,
    });
    const exports = instance.exports as WebAssembly.Exports & { __wbindgen_start: () => void };
    bindings.__wbg_set_wasm(exports);
    exports.__wbindgen_start();
    return bindings;
  })();
  return loaded;
}

/**
 * Runs `work` with a schema engine connected to `connectionString`, then frees the engine and
 * closes its connections. Closing matters: the engine holds a migration advisory lock on its
 * session, and a lingering pool would make the next migration wait out the lock timeout.
 */
export async function withSchemaEngine<T>(
  connectionString: string,
  schemaPath: string,
  schemaText: string,
  work: (engine: SchemaEngine) => Promise<T>,
): Promise<T> {
  const bindings = await loadEngineModule();
  // Parsed fields, not `connectionString`: a shadow database's config is `{ ...config, database }`,
  // and pg lets a connectionString override `database`, which would point the "shadow" at the
  // real database (@prisma/adapter-pg 7.10 does exactly that).
  const config = parseConnectionString(connectionString) as PoolConfig;
  const opened: SqlDriverAdapter[] = [];
  const adapter = bindMigrationAwareSqlAdapterFactory(engineAdapterFactory(config, opened));
  const engine = await bindings.SchemaEngine.new({ datamodels: [[schemaPath, schemaText]] }, () => {}, adapter);
  try {
    return await work(engine);
  } finally {
    engine.free();
    await Promise.allSettled(opened.map((a) => a.dispose()));
  }
}

/**
 * Three fixes over @prisma/adapter-pg 7.10 for the schema engine's use:
 * - The engine describes a database through pg_catalog columns of PostgreSQL's one-byte `"char"`
 *   type, which the adapter rejects as unsupported. Their values arrive as strings anyway, so we
 *   relabel those fields as text before the adapter maps column types.
 * - The adapter runs a migration script by splitting it at every `;` and sending the pieces one by
 *   one, which breaks function bodies (`$$ ... ; ... $$`) and commits a failing migration halfway.
 *   We send the script whole, as the native engine does: PostgreSQL then runs it as one implicit
 *   transaction, so a migration applies completely or not at all.
 * - Its shadow database is dropped while its own pool still holds a connection, so the drop
 *   fails. We create the shadow ourselves and drop it (WITH FORCE) after its pool has closed.
 */
function engineAdapterFactory(config: PoolConfig, opened: SqlDriverAdapter[]): SqlMigrationAwareDriverAdapterFactory {
  const factory = new PrismaPg(config);
  return {
    provider: factory.provider,
    adapterName: factory.adapterName,
    connect: async () => {
      const adapter = wholeScripts(readCharAsText(await factory.connect()));
      opened.push(adapter);
      return adapter;
    },
    connectToShadowDb: async () => {
      const name = `flowplane_shadow_${randomUUID().replaceAll("-", "")}`;
      await runAdminStatement(config, `CREATE DATABASE "${name}"`);
      const shadow = wholeScripts(readCharAsText(await new PrismaPg({ ...config, database: name }).connect()));
      const dispose = shadow.dispose.bind(shadow);
      shadow.dispose = async () => {
        await dispose();
        await runAdminStatement(config, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      };
      return shadow;
    },
  };
}

async function runAdminStatement(config: PoolConfig, sql: string): Promise<void> {
  const client = new pg.Client(config);
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

const PG_CHAR_OID = 18;
const PG_TEXT_OID = 25;

function readCharAsText<A extends SqlDriverAdapter>(adapter: A): A {
  const client = (
    adapter as unknown as { client: { query: (...args: unknown[]) => Promise<{ fields?: { dataTypeID: number }[] }> } }
  ).client;
  const query = client.query.bind(client);
  client.query = async (...args: unknown[]) => {
    const result = await query(...args);
    for (const field of result.fields ?? []) if (field.dataTypeID === PG_CHAR_OID) field.dataTypeID = PG_TEXT_OID;
    return result;
  };
  return adapter;
}

function wholeScripts<A extends SqlDriverAdapter>(adapter: A): A {
  const inner = adapter as unknown as {
    client: { query: (sql: string) => Promise<unknown> };
    onError: (err: unknown) => never;
  };
  // No parameters, so pg sends one simple-protocol Query message holding every statement.
  adapter.executeScript = async (script: string) => {
    try {
      await inner.client.query(script);
    } catch (err) {
      inner.onError(err);
    }
  };
  return adapter;
}
