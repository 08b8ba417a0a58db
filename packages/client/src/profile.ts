// The local profile: where the CLI, the SDK and workers find the API URL and key when the
// environment does not say. The server writes it on first start so the same machine needs no setup.
import { readFileSync } from "node:fs";
import { chmod, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

export interface Profile {
  apiUrl: string;
  /** The workspace commands use when `--workspace` is not given. */
  workspace: string;
  /** One key per workspace the profile can act in. */
  apiKeys: Record<string, string>;
}

export interface ProfileFile {
  active: string;
  profiles: Record<string, Profile>;
}

export function flowplaneHome(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(env.FLOWPLANE_HOME || path.join(os.homedir(), ".flowplane"));
}

export function profilePath(home = flowplaneHome()): string {
  return path.join(home, "profiles.json");
}

export async function readProfiles(home = flowplaneHome()): Promise<ProfileFile | null> {
  try {
    return JSON.parse(await readFile(profilePath(home), "utf8")) as ProfileFile;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw new Error(`cannot read ${profilePath(home)}: ${(err as Error).message}`);
  }
}

function readProfilesSync(home: string): ProfileFile | null {
  try {
    return JSON.parse(readFileSync(profilePath(home), "utf8")) as ProfileFile;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw new Error(`cannot read ${profilePath(home)}: ${(err as Error).message}`);
  }
}

/** Writes the profile file atomically with owner-only permissions (it holds API keys). */
export async function writeProfiles(file: ProfileFile, home = flowplaneHome()): Promise<void> {
  const target = profilePath(home);
  await mkdir(path.dirname(target), { recursive: true });
  const tmp = `${target}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(file, null, 2) + "\n", { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, target);
}

/** Adds or replaces a key for `workspace` in profile `name`, creating the profile as needed. */
export async function saveProfileKey(
  opts: { name?: string; apiUrl: string; workspace: string; apiKey: string; makeDefaultWorkspace?: boolean },
  home = flowplaneHome(),
): Promise<void> {
  const name = opts.name ?? "local";
  const file = (await readProfiles(home)) ?? { active: name, profiles: {} };
  const existing = file.profiles[name];
  file.profiles[name] = {
    apiUrl: opts.apiUrl,
    workspace: existing && !opts.makeDefaultWorkspace ? existing.workspace : opts.workspace,
    apiKeys: { ...(existing?.apiKeys ?? {}), [opts.workspace]: opts.apiKey },
  };
  if (!file.profiles[file.active]) file.active = name;
  await writeProfiles(file, home);
}

export interface Connection {
  apiUrl: string;
  /**
   * The bearer credential: an API key, or in a flow run a worker launched, the run's own token
   * (FLOWPLANE_RUN_TOKEN; `runToken` is then true and keepRunTokenFresh replaces it as it renews).
   */
  apiKey: string;
  workspace: string | null;
  runToken?: boolean;
}

/**
 * Where to connect: in a flow run a worker launched, FLOWPLANE_API_URL with the run's token
 * (FLOWPLANE_RUN_TOKEN), which is all such a run is given; otherwise FLOWPLANE_API_URL /
 * FLOWPLANE_API_KEY win over the profile, and `workspace` (from --workspace) picks that
 * workspace's key from the profile. Returns null when nothing is configured.
 */
export async function resolveConnection(
  opts: { workspace?: string | null; env?: NodeJS.ProcessEnv } = {},
): Promise<Connection | null> {
  return resolveConnectionSync(opts);
}

/** The same, synchronously: the SDK decides at a flow's first call whether to record it. */
export function resolveConnectionSync(
  opts: { workspace?: string | null; env?: NodeJS.ProcessEnv } = {},
): Connection | null {
  const env = opts.env ?? process.env;
  const runToken = env.FLOWPLANE_RUN_TOKEN || undefined;
  if (runToken && env.FLOWPLANE_API_URL)
    // The token names its workspace; no profile is read (a run has none of its worker's files).
    return { apiUrl: env.FLOWPLANE_API_URL.replace(/\/+$/, ""), apiKey: runToken, workspace: null, runToken: true };
  const file = readProfilesSync(flowplaneHome(env));
  const profile = file?.profiles[file.active];
  const workspace = opts.workspace ?? env.FLOWPLANE_WORKSPACE ?? null;
  const apiUrl = env.FLOWPLANE_API_URL || profile?.apiUrl;
  let apiKey = env.FLOWPLANE_API_KEY || undefined;
  if (!apiKey && profile) apiKey = profile.apiKeys[workspace ?? profile.workspace];
  if (!apiUrl || !apiKey) return null;
  return {
    apiUrl: apiUrl.replace(/\/+$/, ""),
    apiKey,
    workspace: workspace ?? (env.FLOWPLANE_API_KEY ? null : (profile?.workspace ?? null)),
  };
}
