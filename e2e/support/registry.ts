// A real image registry on loopback: Debian's `docker-registry` (distribution 2.8), storing in a
// temporary directory. The Docker engine treats 127.0.0.0/8 registries as insecure (plain HTTP).
import { execFile, spawn } from "node:child_process";
import { promisify } from "node:util";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { freePort } from "./server-process.ts";

export interface Registry {
  /** host:port, the prefix of image names pushed to it. */
  host: string;
  close(): Promise<void>;
}

/** With `auth`, pushes and pulls need that user's password (basic auth over an htpasswd file). */
export async function startRegistry(auth?: { username: string; password: string }): Promise<Registry> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "flowplane-registry-"));
  const port = await freePort();
  const config = path.join(dir, "config.yml");
  if (auth) {
    // The registry reads bcrypt hashes only; the system's crypt(3) (libxcrypt) makes them.
    const { stdout } = await promisify(execFile)("python3", [
      "-W",
      "ignore",
      "-c",
      "import crypt,sys; print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH)))",
      auth.password,
    ]);
    await writeFile(path.join(dir, "htpasswd"), `${auth.username}:${stdout.trim()}\n`);
  }
  await writeFile(
    config,
    [
      "version: 0.1",
      "log: { level: error }",
      "storage:",
      `  filesystem: { rootdirectory: ${path.join(dir, "data")} }`,
      "  delete: { enabled: true }",
      `http: { addr: "127.0.0.1:${port}" }`,
      ...(auth ? [`auth: { htpasswd: { realm: flowplane-test, path: ${path.join(dir, "htpasswd")} } }`] : []),
      "",
    ].join("\n"),
  );
  const child = spawn("docker-registry", ["serve", config], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const spawned = await new Promise<Error | null>((resolve) => {
    child.once("spawn", () => resolve(null));
    child.once("error", resolve);
  });
  if (spawned)
    throw new Error(
      `docker-registry could not start (${spawned.message}); install it: apt-get install docker-registry`,
    );
  for (let i = 0; ; i++) {
    const ok = await fetch(`http://127.0.0.1:${port}/v2/`)
      .then((r) => r.ok || r.status === 401)
      .catch(() => false);
    if (ok) break;
    if (child.exitCode !== null || i > 200) throw new Error(`docker-registry did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    host: `127.0.0.1:${port}`,
    async close() {
      if (child.exitCode === null) {
        const gone = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        await gone;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
