// Real git servers on loopback for code-delivery tests: `git daemon` (git://) and `git
// http-backend` (smart HTTP) behind a small Node server that asks for basic auth, as a hosted git
// service does.
import { spawn, execFile, type ChildProcess } from "node:child_process";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { promisify } from "node:util";
import { freePort } from "./server-process.ts";

const run = promisify(execFile);

export async function git(cwd: string, ...args: string[]): Promise<string> {
  const env = { ...process.env };
  delete env.GIT_DIR;
  const { stdout } = await run("git", args, {
    cwd,
    env: {
      ...env,
      GIT_AUTHOR_NAME: "t",
      GIT_AUTHOR_EMAIL: "t@example.com",
      GIT_COMMITTER_NAME: "t",
      GIT_COMMITTER_EMAIL: "t@example.com",
    },
  });
  return stdout.trim();
}

export interface GitDaemon {
  url(repo: string): string;
  close(): Promise<void>;
}

/** `git daemon` serving every repository under `base` (read-only). */
export async function startGitDaemon(base: string): Promise<GitDaemon> {
  const port = await freePort();
  const child = spawn(
    "git",
    ["daemon", "--export-all", "--reuseaddr", `--base-path=${base}`, "--listen=127.0.0.1", `--port=${port}`, base],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  await waitForPort(port, () => stderr, child);
  return {
    url: (repo) => `git://127.0.0.1:${port}/${repo}`,
    close: () => stop(child),
  };
}

export interface GitHttpServer {
  url(repo: string): string;
  /** Requests seen, with whether they carried the right credentials. */
  requests: { path: string; authorized: boolean }[];
  close(): Promise<void>;
}

/** Smart HTTP through `git http-backend` (CGI), refusing requests without `user:password`. */
export async function startGitHttp(base: string, user: string, password: string): Promise<GitHttpServer> {
  const expected = `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
  const requests: GitHttpServer["requests"] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const authorized = req.headers.authorization === expected;
    requests.push({ path: url.pathname, authorized });
    if (!authorized) {
      res.writeHead(401, { "WWW-Authenticate": 'Basic realm="git"' }).end("authentication required\n");
      return;
    }
    const cgi = spawn("git", ["http-backend"], {
      env: {
        PATH: process.env.PATH,
        GIT_PROJECT_ROOT: base,
        GIT_HTTP_EXPORT_ALL: "1",
        REQUEST_METHOD: req.method ?? "GET",
        PATH_INFO: url.pathname,
        QUERY_STRING: url.search.slice(1),
        CONTENT_TYPE: req.headers["content-type"] ?? "",
        ...(req.headers["content-length"] ? { CONTENT_LENGTH: req.headers["content-length"] } : {}),
        ...(req.headers["git-protocol"] ? { GIT_PROTOCOL: String(req.headers["git-protocol"]) } : {}),
        HTTP_CONTENT_ENCODING: req.headers["content-encoding"] ?? "",
        REMOTE_USER: user,
        REMOTE_ADDR: "127.0.0.1",
      },
      stdio: ["pipe", "pipe", "ignore"],
    });
    req.pipe(cgi.stdin);
    // CGI output: headers, a blank line, then the body.
    let head = Buffer.alloc(0);
    let headersDone = false;
    cgi.stdout.on("data", (chunk: Buffer) => {
      if (headersDone) {
        res.write(chunk);
        return;
      }
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf("\r\n\r\n");
      if (end < 0) return;
      headersDone = true;
      let status = 200;
      for (const line of head.subarray(0, end).toString().split("\r\n")) {
        const colon = line.indexOf(":");
        const name = line.slice(0, colon).trim();
        const value = line.slice(colon + 1).trim();
        if (name.toLowerCase() === "status") status = Number(value.split(" ")[0]);
        else res.setHeader(name, value);
      }
      res.writeHead(status);
      res.write(head.subarray(end + 4));
    });
    cgi.stdout.on("end", () => res.end());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: (repo) => `http://127.0.0.1:${port}/${repo}`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function waitForPort(port: number, output: () => string, child: ChildProcess): Promise<void> {
  const net = await import("node:net");
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`git daemon exited: ${output()}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, "127.0.0.1", () => {
        socket.end();
        resolve(true);
      });
      socket.on("error", () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`git daemon did not listen on ${port}: ${output()}`);
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });
}
