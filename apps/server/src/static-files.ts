// The dashboard's built files, served at /. Paths are decoded and resolved by us, never by the
// filesystem: a request can name only a file inside the build directory, and a request that tries
// to leave it (`/..%2fsibling/x`) is answered 404 rather than falling back to the app.
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import type http from "node:http";
import path from "node:path";

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".json": "application/json",
  ".map": "application/json",
  ".ico": "image/x-icon",
  ".woff2": "font/woff2",
};

export type StaticLookup =
  | { kind: "file"; file: string }
  /** Client-side routes (no extension, no such file) get the app's index.html. */
  | { kind: "app" }
  | { kind: "not-found" }
  | { kind: "bad-request"; reason: string };

/** Maps a URL pathname (still percent-encoded) to a file under `root`; the caller checks it exists. */
export function resolveStaticPath(root: string, pathname: string, serveSourceMaps: boolean): StaticLookup {
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return { kind: "bad-request", reason: "malformed percent-encoding in the path" };
  }
  if (decoded.includes("\0")) return { kind: "bad-request", reason: "NUL in the path" };
  const file = path.resolve(root, `.${path.posix.sep}${decoded}`);
  const relative = path.relative(root, file);
  // `relative` starts with ".." exactly when `file` is outside root; a prefix test on the absolute
  // path would let `/x/dist-secret` pass for root `/x/dist`.
  if (relative.startsWith("..") || path.isAbsolute(relative)) return { kind: "not-found" };
  if (relative === "") return { kind: "app" };
  if (path.extname(file) === ".map" && !serveSourceMaps) return { kind: "not-found" };
  return { kind: "file", file };
}

export function createStaticHandler(opts: { root: string; serveSourceMaps: boolean }) {
  const root = path.resolve(opts.root);
  const index = path.join(root, "index.html");

  return async function serveStatic(pathname: string, req: http.IncomingMessage, res: http.ServerResponse) {
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain" }).end("method not allowed");
      return;
    }
    const lookup = resolveStaticPath(root, pathname, opts.serveSourceMaps);
    let file: string;
    switch (lookup.kind) {
      case "bad-request":
        res.writeHead(400, { "content-type": "text/plain" }).end(lookup.reason);
        return;
      case "not-found":
        res.writeHead(404, { "content-type": "text/plain" }).end("not found");
        return;
      case "app":
        file = index;
        break;
      case "file": {
        const info = await stat(lookup.file).catch(() => null);
        if (info?.isFile()) file = lookup.file;
        else if (path.extname(lookup.file) === "") file = index;
        else {
          res.writeHead(404, { "content-type": "text/plain" }).end("not found");
          return;
        }
        break;
      }
      default: {
        const unreachable: never = lookup;
        return unreachable;
      }
    }
    const immutable = file.startsWith(path.join(root, "assets") + path.sep);
    res.writeHead(200, {
      "content-type": CONTENT_TYPES[path.extname(file)] ?? "application/octet-stream",
      "cache-control": immutable ? "public, max-age=31536000, immutable" : "no-cache",
    });
    if (req.method === "HEAD") {
      res.end();
      return;
    }
    createReadStream(file)
      .on("error", () => res.destroy())
      .pipe(res);
  };
}

export function dashboardMissingPage(res: http.ServerResponse): void {
  res
    .writeHead(200, { "content-type": "text/html; charset=utf-8" })
    .end(
      "<!doctype html><title>Flowplane</title><p>The dashboard is not built. Run <code>pnpm --filter @flowplane/dashboard build</code>.</p>",
    );
}
