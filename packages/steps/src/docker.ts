// docker_build and docker_push, through the Docker engine's API (dockerode). The build context is
// the bundle of the context directory (.gitignore honoured, reproducible), and the default tag is
// that context's content hash, so unchanged code builds to the same tag and, pushed, the same
// digest: the deployment's code version does not move unless the code does.
import { mkdtemp, rm } from "node:fs/promises";
import { createReadStream } from "node:fs";
import os from "node:os";
import path from "node:path";
import type Docker from "dockerode";
import { packBundle } from "./bundle.ts";
import type { CommandOptions } from "./command.ts";
import type { StepArguments } from "./schema.ts";

interface DockerContext {
  cwd: string;
  env: NodeJS.ProcessEnv;
  log: (line: string) => void;
  redactor: CommandOptions["redactor"];
}

async function engine(): Promise<Docker> {
  const { default: Dockerode } = await import("dockerode");
  return new Dockerode();
}

/** `registry:5000/team/app:tag` → name and tag (a port's colon is not a tag's). */
export function splitImage(image: string): { name: string; tag: string | null } {
  const at = image.indexOf("@");
  const bare = at >= 0 ? image.slice(0, at) : image;
  const colon = bare.lastIndexOf(":");
  if (colon > bare.lastIndexOf("/")) return { name: bare.slice(0, colon), tag: bare.slice(colon + 1) };
  return { name: bare, tag: null };
}

interface ProgressEvent {
  stream?: string;
  status?: string;
  error?: string;
  errorDetail?: { message?: string };
  aux?: { ID?: string; Digest?: string; Tag?: string };
}

/** Follows an engine progress stream; the last error event rejects with the output before it. */
function follow(docker: Docker, stream: NodeJS.ReadableStream, log: (line: string) => void): Promise<ProgressEvent[]> {
  return new Promise((resolve, reject) => {
    const tail: string[] = [];
    docker.modem.followProgress(
      stream,
      (err: Error | null, events: ProgressEvent[]) => {
        const failed = events?.find((e) => e.error || e.errorDetail);
        if (err || failed) {
          const message = failed?.errorDetail?.message ?? failed?.error ?? err?.message ?? "failed";
          reject(new Error(`${message}${tail.length ? `\n${tail.slice(-10).join("\n")}` : ""}`));
        } else resolve(events);
      },
      (event: ProgressEvent) => {
        const line = (event.stream ?? event.status ?? "").trimEnd();
        if (line) {
          tail.push(line);
          log(line);
        }
      },
    );
  });
}

export async function dockerBuild(args: StepArguments<"docker_build">, ctx: DockerContext) {
  const context = path.resolve(ctx.cwd, args.context ?? ".");
  const scratch = await mkdtemp(path.join(os.tmpdir(), "flowplane-build-"));
  try {
    const file = path.join(scratch, "context.tar.gz");
    const digest = await packBundle(context, file, ctx.env);
    const tag = args.tag ?? digest.slice(0, 16);
    const image = `${args.image}:${tag}`;
    const docker = await engine();
    ctx.log(`docker_build: ${image} from ${context}`);
    let stream: NodeJS.ReadableStream;
    try {
      stream = await docker.buildImage(createReadStream(file), {
        t: image,
        dockerfile: args.dockerfile ?? "Dockerfile",
        ...(args.build_args ? { buildargs: args.build_args } : {}),
        // The build reaches what the deployer's machine reaches (no engine bridge is assumed).
        networkmode: "host",
      });
    } catch (err) {
      throw new Error(`the Docker engine is unreachable: ${(err as Error).message}`);
    }
    await follow(docker, stream, ctx.log);
    return { image, image_name: args.image, tag };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

export async function dockerPush(args: StepArguments<"docker_push">, ctx: DockerContext) {
  const split = splitImage(args.image);
  const tag = args.tag ?? split.tag ?? "latest";
  const reference = `${split.name}:${tag}`;
  const docker = await engine();
  const registry =
    split.name.includes("/") && /[.:]|^localhost$/.test(split.name.split("/")[0]!)
      ? split.name.split("/")[0]!
      : "docker.io";
  ctx.log(`docker_push: ${reference}`);
  let stream: NodeJS.ReadableStream;
  try {
    stream = await docker.getImage(reference).push({
      tag,
      authconfig: args.credentials
        ? { username: args.credentials.username ?? "", password: args.credentials.password, serveraddress: registry }
        : { serveraddress: registry },
    });
  } catch (err) {
    throw new Error(`push of ${reference}: ${(err as Error).message}`);
  }
  const events = await follow(docker, stream, ctx.log).catch((err: Error) => {
    throw new Error(`push of ${reference} to ${registry}: ${err.message}`);
  });
  const digest = events.map((e) => e.aux?.Digest).find(Boolean);
  if (!digest) throw new Error(`push of ${reference}: the registry reported no digest`);
  return { image: `${split.name}@${digest}`, image_name: split.name, tag, digest };
}
