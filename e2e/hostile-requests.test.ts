// The control plane faces the internet: no request may crash it, leak its internals, or read files
// outside the dashboard. Each reproduction runs against a real server process on real PostgreSQL,
// then thousands of seeded mutations of paths, encodings, methods, headers, JSON and websocket
// frames check that every answer is below 500 and the process keeps serving.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { seededRandom } from "../examples/lib/simulate.ts";
import { rawRequest } from "./support/raw-http.ts";
import { startServerProcess, type ServerProcess } from "./support/server-process.ts";

let server: ServerProcess;
const METRICS_TOKEN = "metrics-secret-token";
let siteRoot: string;

beforeAll(async () => {
  // A dashboard build with a sibling directory beside it that must never be reachable.
  siteRoot = await mkdtemp(path.join(os.tmpdir(), "flowplane-site-"));
  await mkdir(path.join(siteRoot, "dist", "assets"), { recursive: true });
  await mkdir(path.join(siteRoot, "dist-secret"), { recursive: true });
  await writeFile(path.join(siteRoot, "dist", "index.html"), "<!doctype html><title>app</title>");
  await writeFile(path.join(siteRoot, "dist", "assets", "app.js"), "console.log(1)\n//# sourceMappingURL=app.js.map");
  await writeFile(path.join(siteRoot, "dist", "assets", "app.js.map"), '{"sources":["src/secret-logic.ts"]}');
  await writeFile(path.join(siteRoot, "dist-secret", "secret.txt"), "TOP-SECRET");
  // Rate limiting is off here: the mutations below would otherwise mostly measure the limiter.
  server = await startServerProcess({
    FLOWPLANE_DASHBOARD_DIR: path.join(siteRoot, "dist"),
    FLOWPLANE_RATE_LIMIT_PER_SECOND: "0",
    FLOWPLANE_METRICS_TOKEN: METRICS_TOKEN,
  });
}, 90_000);

afterAll(async () => {
  await server?.close();
  await rm(siteRoot, { recursive: true, force: true });
});

const get = (target: string, headers = "") =>
  rawRequest(server.port, `GET ${target} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n${headers}\r\n`);

describe("requests that used to crash the server", () => {
  it("GET // is answered and the server keeps serving (it used to exit on an Invalid URL)", async () => {
    const answer = await get("//");
    expect(answer.status).toBe(200);
    expect(answer.body).toContain("<title>app</title>");
    await server.assertHealthy();
  });

  it("GET /%E0%A4%A (malformed percent-encoding) is answered 400 and the server keeps serving (it used to exit on a URIError)", async () => {
    const answer = await get("/%E0%A4%A");
    expect(answer.status).toBe(400);
    expect(answer.body).toContain("percent-encoding");
    await server.assertHealthy();
  });

  it("a websocket upgrade to // or to an unknown path is refused with a status, not a crash", async () => {
    const upgrade = (target: string) =>
      get(
        target,
        "upgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
      );
    expect((await upgrade("//")).status).toBe(404);
    expect((await upgrade("/nowhere")).status).toBe(404);
    expect((await upgrade("/trpc-ws?token=%E0%A4%A")).status).toBe(401);
    expect((await upgrade("http://evil.example/trpc-ws")).status).toBe(400);
    await server.assertHealthy();
  });
});

describe("nothing leaks from errors and pages", () => {
  it("the unauthenticated 401 carries no stack trace (it used to carry the server's)", async () => {
    const res = await fetch(`${server.url}/trpc/flowRuns.list?input=${encodeURIComponent("{}")}`);
    expect(res.status).toBe(401);
    const body = await res.text();
    expect(body).not.toMatch(/stack|\bat .*\.(ts|js):\d+/);
    expect(JSON.parse(body)).toMatchObject({ error: { data: { code: "UNAUTHORIZED", httpStatus: 401 } } });
  });

  it("errors from bad input name the field and carry no stack trace", async () => {
    const res = await fetch(`${server.url}/trpc/workPools.create`, {
      method: "POST",
      headers: { authorization: `Bearer ${server.adminKey}`, "content-type": "application/json" },
      body: JSON.stringify({ name: 42, type: "process" }),
    });
    expect(res.status).toBe(400);
    const body = await res.text();
    expect(body).not.toContain("stack");
    expect((JSON.parse(body) as { error: { message: string } }).error.message).toMatch(/^name: /);
  });

  it("the API and the dashboard send CSP with frame-ancestors, nosniff and a referrer policy", async () => {
    for (const target of ["/", "/runs/123", "/assets/app.js", "/health", "/trpc/auth.whoami", "/%E0%A4%A"]) {
      const res = await fetch(`${server.url}${target}`);
      expect(res.headers.get("content-security-policy"), target).toContain("frame-ancestors 'none'");
      expect(res.headers.get("x-content-type-options"), target).toBe("nosniff");
      expect(res.headers.get("referrer-policy"), target).toBe("no-referrer");
    }
    const page = await fetch(`${server.url}/`);
    expect(page.headers.get("content-security-policy")).toContain("script-src 'self'");
  });

  it("/..%2fdist-secret/secret.txt cannot leave the dashboard directory (it served the sibling directory)", async () => {
    for (const target of [
      "/..%2fdist-secret/secret.txt",
      "/..%2f..%2f" + path.basename(siteRoot) + "%2fdist-secret%2fsecret.txt",
      "/assets/..%2f..%2fdist-secret/secret.txt",
      "/%2e%2e/dist-secret/secret.txt",
    ]) {
      const answer = await get(target);
      expect(answer.status, target).toBe(404);
      expect(answer.body, target).not.toContain("TOP-SECRET");
    }
    expect((await get("/assets/app.js%00.html")).status).toBe(400);
  });

  it("source maps are not served unless FLOWPLANE_SERVE_SOURCE_MAPS is set", async () => {
    expect((await fetch(`${server.url}/assets/app.js`)).status).toBe(200);
    const map = await fetch(`${server.url}/assets/app.js.map`);
    expect(map.status).toBe(404);
    expect(await map.text()).not.toContain("secret-logic");
  });
});

describe("bounded work per request", () => {
  it("a body declared above 10 MiB is refused with 413 before it is sent (100 MB bodies used to be parsed)", async () => {
    const answer = await rawRequest(
      server.port,
      `POST /trpc/ingest.batch HTTP/1.1\r\nhost: localhost\r\nauthorization: Bearer ${server.adminKey}\r\ncontent-type: application/json\r\ncontent-length: ${100 * 1024 * 1024}\r\n\r\n`,
    );
    expect(answer.status).toBe(413);
    expect(answer.body).toContain("exceeds the limit of 10485760");
    await server.assertHealthy();
  });

  it("a chunked body that grows past 10 MiB is cut off with 413", async () => {
    const chunk = new Uint8Array(1024 * 1024).fill(0x20);
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 12) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const res = await fetch(`${server.url}/trpc/ingest.batch`, {
      method: "POST",
      headers: { authorization: `Bearer ${server.adminKey}`, "content-type": "application/json" },
      body,
      duplex: "half",
    } as RequestInit);
    expect(res.status).toBe(413);
    await server.assertHealthy();
  });

  it("/metrics needs its bearer token when one is configured", async () => {
    expect((await fetch(`${server.url}/metrics`)).status).toBe(401);
    expect((await fetch(`${server.url}/metrics`, { headers: { authorization: "Bearer wrong" } })).status).toBe(401);
    const res = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("flowplane_http_requests_total");
  });
});

// ---------------------------------------------------------------------------------------------
// Fuzzing. Every case is generated from a seed, so a failure names the exact bytes to replay.

const KNOWN_PATHS = [
  "/",
  "/health",
  "/metrics",
  "/assets/app.js",
  "/trpc/flowRuns.list",
  "/trpc/workPools.create",
  "/trpc/logs.list",
  "/trpc/ingest.logs",
  "/trpc/auth.whoami",
  "/trpc/flowRuns.list,auth.whoami",
  "/trpc-ws",
];
const BAD_FRAGMENTS = [
  "%",
  "%E0%A4%A",
  "%zz",
  "%00",
  "%2f..%2f",
  "%C0%AE%C0%AE/",
  "%FF%FE",
  "..",
  "/",
  "//",
  "\\..\\",
  "%ED%A0%80",
  "?input=%7B",
  "?input={bad",
  "?batch=1&input=[",
  "?input=" + "%5B".repeat(200),
  ";a=b",
  "#frag",
  "é",
  "\u{1F600}",
];
const METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "TRACE", "PROPFIND", "FOO", "CONNECT"];
const JSON_BODIES = [
  "",
  "{",
  "null",
  "[]",
  '{"name":',
  '{"name":"\\ud800"}',
  '{"name":"a\\u0000b","type":"process"}',
  '{"limit":1e400}',
  '{"limit":-1,"state":"NOPE"}',
  '{"id":"' + "x".repeat(5000) + '"}',
  "[".repeat(5000) + "]".repeat(5000),
  '{"0":{"json":{"__proto__":{"admin":true}}}}',
  '{"name":"pool","type":"process","baseJobTemplate":{"jobConfiguration":"{{ x }}"}}',
  '{"flowRunId":"00000000-0000-0000-0000-000000000000","logs":[{"level":"NOPE"}]}',
  "\xff\xfe\xfd",
];

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}

function mutatePath(random: () => number): string {
  let target = pick(random, KNOWN_PATHS);
  const edits = 1 + Math.floor(random() * 3);
  for (let i = 0; i < edits; i++) {
    const at = Math.floor(random() * (target.length + 1));
    target = target.slice(0, at) + pick(random, BAD_FRAGMENTS) + target.slice(at);
  }
  return target.startsWith("/") || random() < 0.1 ? target : `/${target}`;
}

const CRLF = "\r\n";

/** One malformed request as raw bytes. */
function hostileRequest(random: () => number, adminKey: string): string {
  const kind = Math.floor(random() * 6);
  const auth = random() < 0.5 ? `authorization: Bearer ${adminKey}${CRLF}` : "";
  switch (kind) {
    case 0: // mutated path and encoding
      return `GET ${mutatePath(random)} HTTP/1.1${CRLF}host: localhost${CRLF}${auth}connection: close${CRLF}${CRLF}`;
    case 1: // odd methods on known and mutated paths
      return `${pick(random, METHODS)} ${random() < 0.5 ? pick(random, KNOWN_PATHS) : mutatePath(random)} HTTP/1.1${CRLF}host: localhost${CRLF}${auth}content-length: 0${CRLF}connection: close${CRLF}${CRLF}`;
    case 2: {
      // hostile headers
      const headers = [
        `content-length: ${pick(random, ["-1", "abc", "0, 5", "99999999999999999999"])}`,
        "transfer-encoding: chunked\r\ncontent-length: 3",
        `x-flowplane-workspace: ${pick(random, ["\u00ff\u00fe", "a".repeat(4000), "../../", ""])}`,
        `authorization: ${pick(random, ["Bearer", "Bearer \u00ff", "Basic Zm9vOmJhcg==", `Bearer ${"x".repeat(3000)}`])}`,
        `host: ${pick(random, ["a b", "[::1", "%%", ""])}`,
        `x-big: ${"h".repeat(20_000)}`,
        "bad header: 1",
        "x-ctl: a\u0001b",
        `content-type: ${pick(random, ["application/json; charset=ebcdic", "multipart/form-data", "text/plain"])}`,
      ];
      return `POST ${pick(random, KNOWN_PATHS)} HTTP/1.1${CRLF}host: localhost${CRLF}${pick(random, headers)}${CRLF}connection: close${CRLF}${CRLF}{}`;
    }
    case 3: {
      // hostile JSON to real procedures, mostly authenticated
      const body = pick(random, JSON_BODIES);
      const proc = pick(
        random,
        KNOWN_PATHS.filter((p) => p.startsWith("/trpc/")),
      );
      return `POST ${proc}${random() < 0.3 ? "?batch=1" : ""} HTTP/1.1${CRLF}host: localhost${CRLF}${auth}content-type: application/json${CRLF}content-length: ${Buffer.byteLength(body, "latin1")}${CRLF}connection: close${CRLF}${CRLF}${body}`;
    }
    case 4: {
      // hostile query input
      const input = encodeURIComponent(pick(random, JSON_BODIES)).replace(/%2/g, random() < 0.3 ? "%" : "%2");
      return `GET ${pick(
        random,
        KNOWN_PATHS.filter((p) => p.startsWith("/trpc/")),
      )}?input=${input} HTTP/1.1${CRLF}host: localhost${CRLF}${auth}connection: close${CRLF}${CRLF}`;
    }
    default: {
      // broken websocket upgrades
      const key = pick(random, ["dGhlIHNhbXBsZSBub25jZQ==", "", "short", "%%%"]);
      const version = pick(random, ["13", "8", "x"]);
      const token = pick(random, [encodeURIComponent(adminKey), "", "%E0%A4%A", "x".repeat(2000)]);
      return `GET ${random() < 0.7 ? `/trpc-ws?token=${token}` : mutatePath(random)} HTTP/1.1${CRLF}host: localhost${CRLF}upgrade: websocket${CRLF}connection: Upgrade${CRLF}sec-websocket-version: ${version}${CRLF}sec-websocket-key: ${key}${CRLF}${CRLF}`;
    }
  }
}

async function inBatches<T>(items: T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

describe("fuzzing", () => {
  it("5,000 malformed HTTP requests get answers below 500, and the server is healthy after every batch", async () => {
    const random = seededRandom(13);
    const statuses = new Map<string, number>();
    const total = 5_000;
    const batch = 500;
    for (let start = 0; start < total; start += batch) {
      const requests = Array.from({ length: batch }, () => hostileRequest(random, server.adminKey));
      await inBatches(requests, 16, async (request) => {
        const answer = await rawRequest(server.port, Buffer.from(request, "latin1"));
        const label = answer.status === null ? "closed" : String(answer.status);
        statuses.set(label, (statuses.get(label) ?? 0) + 1);
        if (answer.status === null || answer.status >= 500)
          throw new Error(
            `answered ${label} to ${JSON.stringify(request.slice(0, 300))}\n${answer.body.slice(0, 500)}`,
          );
      });
      await server.assertHealthy();
    }
    const answered4xx = [...statuses].filter(([s]) => s.startsWith("4")).reduce((sum, [, n]) => sum + n, 0);
    // Most cases are malformed by construction; the rest are odd but valid requests.
    expect(answered4xx).toBeGreaterThan(total * 0.6);
    console.log(`fuzzed ${total} HTTP requests: ${JSON.stringify(Object.fromEntries(statuses))}`);

    // Thousands of distinct paths later, /metrics still labels only known routes.
    const metrics = await (
      await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })
    ).text();
    const routes = new Set([...metrics.matchAll(/flowplane_http_requests_total\{route="([^"]*)"/g)].map((m) => m[1]!));
    const fixed = ["/", "/assets", "/health", "/metrics", "/trpc-ws", "batch", "other"];
    for (const route of routes) expect(fixed.includes(route) || /^[a-zA-Z]+\.[a-zA-Z]+$/.test(route), route).toBe(true);
    expect(routes.has("other")).toBe(true);
    expect(routes.size).toBeLessThan(20);
  }, 60_000);

  it("1,000 malformed websocket frames on authenticated sockets never take the server down", async () => {
    const random = seededRandom(7);
    const frames: (string | Buffer)[] = [
      "not json",
      "{",
      "[]",
      "null",
      '{"id":1,"method":"subscription","params":{"path":"nope","input":{}}}',
      '{"id":1,"method":"query","params":{"path":"flowRuns.list","input":"x"}}',
      '{"id":{"a":1},"method":"subscription","params":null}',
      '{"id":1,"method":"subscription.stop"}',
      '{"method":"connectionParams","data":{"a":"\\ud800"}}',
      '[{"id":1,"method":"subscription","params":{"path":"events.onFlowRun","input":{"flowRunId":"x"}}}]',
      Buffer.from([0xff, 0xfe, 0xfd]),
      "x".repeat(70_000),
    ];
    let sent = 0;
    const sockets = 20;
    for (let s = 0; s < sockets; s++) {
      const ws = new WebSocket(`ws://127.0.0.1:${server.port}/trpc-ws?token=${encodeURIComponent(server.adminKey)}`);
      await new Promise<void>((resolve, reject) => {
        ws.once("open", () => resolve());
        ws.once("error", reject);
      });
      const closed = new Promise<void>((resolve) => ws.once("close", () => resolve()));
      ws.on("error", () => {});
      for (let i = 0; i < 50 && ws.readyState === WebSocket.OPEN; i++) {
        const frame = pick(random, frames);
        // Text frames with invalid UTF-8 are a protocol violation the server must survive.
        ws.send(frame, { binary: random() < 0.2 });
        sent++;
      }
      ws.close();
      await closed;
      if (s % 5 === 4) await server.assertHealthy();
    }
    expect(sent).toBe(sockets * 50);
    await server.assertHealthy();
  }, 60_000);
});
