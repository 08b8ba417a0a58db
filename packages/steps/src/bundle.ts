// Bundles: the project's files as a content-addressed tarball in S3-compatible object storage.
// upload_bundle (at deploy) packs the files git would keep (.gitignore honoured, .git left out)
// into a reproducible tarball — sorted, owner and times zeroed, gzip without a timestamp — so the
// same files always give the same sha256, and a redeploy of unchanged code uploads nothing and
// makes no new deployment version. download_bundle (where a run starts) fetches it once per digest
// into the cache, verifying the sha256 before anything is extracted.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { lstat, mkdtemp, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { Transform, type Readable } from "node:stream";
import { createGzip } from "node:zlib";
import type { Cache } from "./cache.ts";
import { runCommand, type CommandOptions } from "./command.ts";
import type { StepArguments } from "./schema.ts";

interface BundleContext {
  cwd: string;
  env: NodeJS.ProcessEnv;
  log: (line: string) => void;
  redactor: CommandOptions["redactor"];
  cache: Cache;
}

type Storage = Pick<
  StepArguments<"upload_bundle">,
  "bucket" | "endpoint" | "region" | "access_key_id" | "secret_access_key"
>;

async function s3Client(storage: Storage) {
  const { S3Client } = await import("@aws-sdk/client-s3");
  return new S3Client({
    region: storage.region ?? "us-east-1",
    ...(storage.endpoint ? { endpoint: storage.endpoint, forcePathStyle: true } : {}),
    ...(storage.access_key_id && storage.secret_access_key
      ? { credentials: { accessKeyId: storage.access_key_id, secretAccessKey: storage.secret_access_key } }
      : {}),
    maxAttempts: 2,
    // Checksums only where S3 requires them: the default (aws-chunked uploads with trailing
    // checksums) is not spoken by every S3-compatible store, and the bundle's sha256 is verified
    // end to end anyway.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
}

function where(storage: Storage): string {
  return `bucket "${storage.bucket}"${storage.endpoint ? ` at ${storage.endpoint}` : ""}`;
}

/** The S3 client's error, said plainly (its messages are often just the HTTP status name). */
function storageError(err: unknown, storage: Storage, doing: string): Error {
  const e = err as { name?: string; message?: string; code?: string; $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode;
  const reason =
    e.code === "ECONNREFUSED" || /ECONNREFUSED|getaddrinfo|socket hang up/.test(e.message ?? "")
      ? "unreachable"
      : `${e.name ?? "error"}${status ? ` (HTTP ${status})` : ""}: ${e.message ?? ""}`;
  return new Error(`${doing} ${where(storage)}: ${reason}`);
}

/** The files of `dir` a bundle carries: what git would track (tracked, plus untracked not ignored). */
export async function bundleFiles(dir: string, env: NodeJS.ProcessEnv): Promise<string[]> {
  const clean = { ...env };
  delete clean.GIT_DIR;
  delete clean.GIT_WORK_TREE;
  const inRepo = await runCommand("git", ["rev-parse", "--is-inside-work-tree"], {
    cwd: dir,
    env: clean,
    quiet: true,
  }).then(
    (s) => s.trim() === "true",
    () => false,
  );
  let scratch: string | null = null;
  try {
    const gitArgs = inRepo
      ? []
      : ["--git-dir", (scratch = await mkdtemp(path.join(os.tmpdir(), "flowplane-bundle-git-"))), "--work-tree", "."];
    if (scratch) await runCommand("git", ["init", "--quiet", "--bare", scratch], { cwd: dir, env: clean, quiet: true });
    const listed = await runCommand(
      "git",
      [...gitArgs, "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", "."],
      {
        cwd: dir,
        env: clean,
        quiet: true,
      },
    );
    // Tracked files deleted from the working tree are listed too; only what exists is bundled.
    // Symbolic links are kept as links (git tracks them so).
    const files: string[] = [];
    for (const file of listed.split("\0").filter(Boolean)) {
      const info = await lstat(path.join(dir, file)).catch(() => null);
      if (info?.isFile() || info?.isSymbolicLink()) files.push(file);
    }
    return files.sort();
  } finally {
    if (scratch) await rm(scratch, { recursive: true, force: true });
  }
}

/** Writes the bundle of `dir` to `file`; answers its sha256 (hex). */
export async function packBundle(dir: string, file: string, env: NodeJS.ProcessEnv): Promise<string> {
  const files = await bundleFiles(dir, env);
  if (files.length === 0) throw new Error(`nothing to bundle in ${dir}`);
  const tar = spawn(
    "tar",
    [
      "--create",
      "--format=gnu",
      "--sort=name",
      "--mtime=@0",
      "--owner=0",
      "--group=0",
      "--numeric-owner",
      "--mode=go-w",
      "--no-recursion",
      "--null",
      "--files-from=-",
    ],
    { cwd: dir, stdio: ["pipe", "pipe", "pipe"] },
  );
  let errors = "";
  tar.stderr.on("data", (d: Buffer) => (errors += d.toString()));
  tar.stdin.end(files.join("\0") + "\0");
  const hash = createHash("sha256");
  const exited = new Promise<number | null>((resolve) => tar.once("close", resolve));
  await pipeline(tar.stdout, createGzip({ level: 6 }), tap(hash), createWriteStream(file));
  const code = await exited;
  if (code !== 0) throw new Error(`tar exited with code ${code}: ${errors.trim()}`);
  return hash.digest("hex");
}

function tap(hash: ReturnType<typeof createHash>): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      done(null, chunk);
    },
  });
}

export async function uploadBundle(args: StepArguments<"upload_bundle">, ctx: BundleContext) {
  const dir = path.resolve(ctx.cwd, args.directory ?? ".");
  const scratch = await mkdtemp(path.join(os.tmpdir(), "flowplane-bundle-"));
  try {
    const file = path.join(scratch, "bundle.tar.gz");
    const sha256 = await packBundle(dir, file, ctx.env);
    const key = `${args.prefix ?? "flowplane/bundles/"}${sha256}.tar.gz`;
    const { HeadObjectCommand, PutObjectCommand } = await import("@aws-sdk/client-s3");
    const s3 = await s3Client(args);
    try {
      const exists = await s3.send(new HeadObjectCommand({ Bucket: args.bucket, Key: key })).then(
        () => true,
        (err: { $metadata?: { httpStatusCode?: number } }) => {
          if (err.$metadata?.httpStatusCode === 404) return false;
          throw err;
        },
      );
      const size = (await stat(file)).size;
      if (exists) ctx.log(`upload_bundle: ${key} is already in ${where(args)}`);
      else {
        await s3.send(
          new PutObjectCommand({
            Bucket: args.bucket,
            Key: key,
            Body: createReadStream(file),
            ContentLength: size,
            ContentType: "application/gzip",
            Metadata: { sha256 },
          }),
        );
        ctx.log(`upload_bundle: ${key} (${size} bytes) uploaded to ${where(args)}`);
      }
    } catch (err) {
      throw storageError(err, args, "upload to");
    } finally {
      s3.destroy();
    }
    return {
      bucket: args.bucket,
      key,
      sha256,
      endpoint: args.endpoint ?? "",
      region: args.region ?? "",
    };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

export async function downloadBundle(args: StepArguments<"download_bundle">, ctx: BundleContext) {
  const expected = args.sha256.toLowerCase().replace(/^sha256:/, "");
  if (!/^[0-9a-f]{64}$/.test(expected))
    throw new Error(`sha256 ${JSON.stringify(args.sha256)}: expected 64 hex digits`);
  const entry = await ctx.cache.get("bundles", expected, async (dir) => {
    const { GetObjectCommand } = await import("@aws-sdk/client-s3");
    const s3 = await s3Client(args);
    const file = path.join(path.dirname(dir), `${path.basename(dir)}.tar.gz`);
    try {
      let body: Readable;
      try {
        const got = await s3.send(new GetObjectCommand({ Bucket: args.bucket, Key: args.key }));
        body = got.Body as Readable;
      } catch (err) {
        throw storageError(err, args, `download of ${args.key} from`);
      }
      const hash = createHash("sha256");
      await pipeline(body, tap(hash), createWriteStream(file));
      const actual = hash.digest("hex");
      if (actual !== expected)
        throw new Error(
          `checksum mismatch for ${args.key}: expected sha256 ${expected}, got ${actual}; nothing was extracted`,
        );
      await runCommand("tar", ["-x", "-z", "-f", file, "-C", dir], { cwd: dir, log: ctx.log });
      ctx.log(`download_bundle: ${args.key} from ${where(args)}, sha256 verified`);
    } finally {
      s3.destroy();
      await rm(file, { force: true });
    }
  });
  if (entry.hit) ctx.log(`download_bundle: sha256 ${expected.slice(0, 12)} (cached)`);
  return { directory: entry.dir, sha256: expected };
}
