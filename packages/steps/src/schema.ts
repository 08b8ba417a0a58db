// The build, push and pull steps of flowplane.yaml: what each step accepts and produces, and the
// check `flowplane deploy` runs before anything is built or written. Every problem names its place
// in the file (`deployments[0].pull[1].git_clone.branch: ...`), as the rest of deploy's errors do.
import { findReferences } from "@flowplane/core";
import { z } from "zod";

/** A secret-carrying pair, given by reference: `{ username: "{{ env.USER }}", password: "{{ secret.TOKEN }}" }`. */
const credentials = z.strictObject({ username: z.string().optional(), password: z.string().min(1) });

/** Where a bundle is kept: any S3-compatible object store. */
const storage = {
  bucket: z.string().min(1),
  /** Custom endpoint (MinIO, s3rver, ...); path-style addressing is used with one. */
  endpoint: z.string().min(1).optional(),
  region: z.string().min(1).optional(),
  access_key_id: z.string().min(1).optional(),
  secret_access_key: z.string().min(1).optional(),
};

export const STEP_ARGUMENTS = {
  git_clone: z.strictObject({
    repository: z.string().min(1),
    /** Branch or tag; resolved to a commit where the step runs. */
    branch: z.string().min(1).optional(),
    /** A full commit SHA: the run is pinned to it (and the clone cache needs no network). */
    commit: z.string().min(1).optional(),
    credentials: credentials.optional(),
    /** Fetch only the commit itself (default true). */
    shallow: z.boolean().optional(),
    /** Only these paths of the repository are checked out. */
    sparse: z.array(z.string().min(1)).min(1).optional(),
  }),
  set_working_directory: z.strictObject({ directory: z.string().min(1) }),
  install_dependencies: z.strictObject({
    /** Default: the working directory. */
    directory: z.string().min(1).optional(),
  }),
  upload_bundle: z.strictObject({
    ...storage,
    /** Key prefix of the bundle (default `flowplane/bundles/`). */
    prefix: z.string().optional(),
    /** The directory to bundle (default: flowplane.yaml's). */
    directory: z.string().min(1).optional(),
  }),
  download_bundle: z.strictObject({ ...storage, key: z.string().min(1), sha256: z.string().min(1) }),
  docker_build: z.strictObject({
    /** Repository name of the image, e.g. registry.example:5000/team/etl. */
    image: z.string().min(1),
    /** Default: the content hash of the build context and Dockerfile. */
    tag: z.string().min(1).optional(),
    dockerfile: z.string().min(1).optional(),
    context: z.string().min(1).optional(),
    build_args: z.record(z.string(), z.string()).optional(),
  }),
  docker_push: z.strictObject({
    image: z.string().min(1),
    tag: z.string().min(1).optional(),
    credentials: credentials.optional(),
  }),
} as const;

export type StepName = keyof typeof STEP_ARGUMENTS;
export { stepOf, type Step } from "./step.ts";
export type StepArguments<N extends StepName> = z.infer<(typeof STEP_ARGUMENTS)[N]>;
export const STEP_NAMES = Object.keys(STEP_ARGUMENTS) as StepName[];

/** What each step produces, for `{{ step-id.output }}` (checked at deploy time). */
export const STEP_OUTPUTS: Record<StepName, readonly string[]> = {
  git_clone: ["directory", "commit"],
  set_working_directory: ["directory"],
  install_dependencies: ["directory", "package_manager"],
  upload_bundle: ["bucket", "key", "sha256", "endpoint", "region"],
  download_bundle: ["directory", "sha256"],
  docker_build: ["image", "image_name", "tag"],
  docker_push: ["image", "image_name", "tag", "digest"],
};

export type Phase = "build" | "push" | "pull";

/**
 * Where each step may run: pull steps run where the flow run starts, build and push steps at
 * `flowplane deploy` on the deployer's machine.
 */
const PHASES: Record<StepName, readonly Phase[]> = {
  git_clone: ["pull"],
  set_working_directory: ["pull"],
  install_dependencies: ["pull"],
  download_bundle: ["pull"],
  upload_bundle: ["build", "push"],
  docker_build: ["build", "push"],
  docker_push: ["build", "push"],
};

/** One step as stored: `{ git_clone: { ... }, id: "clone" }`. */
export type StepSpec = { id?: string } & { [N in StepName]?: StepArguments<N> };

export class StepSpecError extends Error {
  override name = "StepSpecError";
  constructor(
    /** Where in the file, e.g. `deployments[0].pull[1].git_clone.branch`. */
    readonly path: string,
    readonly problem: string,
  ) {
    super(`${path}: ${problem}`);
  }
}

const ID_RE = /^[A-Za-z_][A-Za-z0-9_-]{0,62}$/;

/**
 * Checks one phase's step list as written in flowplane.yaml. `path` names the list (`pull`,
 * `deployments[2].build`); `earlier` holds the outputs steps of earlier phases produce (by id), and
 * gains this list's. References to outputs must name an earlier step and one of its outputs.
 */
export function parseStepList(
  raw: unknown,
  phase: Phase,
  path: string,
  earlier: Map<string, readonly string[]> = new Map(),
): StepSpec[] {
  if (raw === null || raw === undefined) return [];
  if (!Array.isArray(raw)) throw new StepSpecError(path, "expected a list of steps");
  return raw.map((item, i) => {
    const here = `${path}[${i}]`;
    if (!item || typeof item !== "object" || Array.isArray(item))
      throw new StepSpecError(here, `expected a step, e.g. { git_clone: { repository: URL } }`);
    const keys = Object.keys(item).filter((k) => k !== "id");
    if (keys.length !== 1)
      throw new StepSpecError(
        here,
        keys.length === 0 ? "no step given" : `one step per list item (found ${keys.join(", ")})`,
      );
    const name = keys[0]!;
    if (!(name in STEP_ARGUMENTS))
      throw new StepSpecError(`${here}.${name}`, `unknown step (known: ${STEP_NAMES.join(", ")})`);
    const stepName = name as StepName;
    if (!PHASES[stepName].includes(phase))
      throw new StepSpecError(`${here}.${name}`, `runs in ${PHASES[stepName].join(" or ")}, not in ${phase}`);
    const id = (item as Record<string, unknown>)["id"];
    if (id !== undefined) {
      if (typeof id !== "string" || !ID_RE.test(id))
        throw new StepSpecError(`${here}.id`, "expected a name of letters, digits, '_' and '-'");
      if (earlier.has(id)) throw new StepSpecError(`${here}.id`, `"${id}" is already the id of an earlier step`);
    }
    const args = (item as Record<string, unknown>)[name] ?? {};
    const parsed = STEP_ARGUMENTS[stepName].safeParse(args);
    if (!parsed.success) {
      // A misspelt argument also leaves a required one missing; the misspelling is the news.
      const issue = parsed.error.issues.find((i) => i.code === "unrecognized_keys") ?? parsed.error.issues[0]!;
      const unknownKey = issue.code === "unrecognized_keys" ? (issue as { keys: string[] }).keys[0] : undefined;
      const at = [...issue.path.map(String), ...(unknownKey ? [unknownKey] : [])];
      const problem = unknownKey
        ? `unknown argument (known: ${Object.keys(STEP_ARGUMENTS[stepName].shape).join(", ")})`
        : issue.message;
      throw new StepSpecError([`${here}.${name}`, ...at].join("."), problem);
    }
    // Secret references stay as written: pull steps' resolve where runs start, build and push
    // steps' at `flowplane deploy` (for secrets a workspace admin allowed at deploy).
    const refs = findReferences(args);
    const baked =
      stepName === "docker_build" ? findReferences((parsed.data as { build_args?: unknown }).build_args).secrets : [];
    if (baked.length > 0)
      // Build arguments are recorded in the image (`docker history`): whoever pulls it would read
      // the value.
      throw new StepSpecError(
        `${here}.${name}.build_args`,
        `{{ secret.${baked[0]} }}: build arguments are kept in the image's history, where whoever pulls it reads them; secrets go to docker_push or upload_bundle credentials`,
      );
    for (const output of refs.outputs) {
      const [ref, ...rest] = output.split(".");
      const produced = earlier.get(ref!);
      if (!produced) throw new StepSpecError(`${here}.${name}`, `{{ ${output} }}: no earlier step has the id "${ref}"`);
      if (!produced.includes(rest.join(".")))
        throw new StepSpecError(
          `${here}.${name}`,
          `{{ ${output} }}: step "${ref}" has no output "${rest.join(".")}" (it has ${produced.join(", ")})`,
        );
    }
    if (typeof id === "string") earlier.set(id, STEP_OUTPUTS[stepName]);
    return { ...(typeof id === "string" ? { id } : {}), [name]: parsed.data } as StepSpec;
  });
}
