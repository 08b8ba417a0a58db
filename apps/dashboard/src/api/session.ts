// Dashboard sessions. A person signs in with email and password: the server keeps the sign-in in an
// httpOnly cookie this script cannot read, and hands out short-lived tokens per workspace. An API key
// can also be exchanged for a token. Only tokens are kept, in sessionStorage (gone when the tab
// closes). Several workspaces can be open at once and the header switches between them.
import { useSyncExternalStore } from "react";

export interface Session {
  token: string;
  expiresAt: string;
  workspace: { id: string; name: string };
  scope: string;
  /** Present for a person's sign-in (not for an API key's session). */
  user?: {
    email: string;
    orgRole: string;
    organization: string;
    /** Every workspace the person may enter (the switcher's choices). */
    workspaces: { name: string; organization: string; scope: string }[];
  };
}

interface Stored {
  active: string | null;
  sessions: Record<string, Session>;
}

const KEY = "flowplane.sessions";
const listeners = new Set<() => void>();
let cache: Stored = load();
/** Why the last session ended, shown on the sign-in page. */
let endedReason: string | null = null;

function load(): Stored {
  try {
    const raw = sessionStorage.getItem(KEY);
    if (raw) {
      const parsed = JSON.parse(raw) as Stored;
      if (parsed && typeof parsed === "object" && parsed.sessions) return parsed;
    }
  } catch {
    // A corrupt entry is treated as signed out.
  }
  return { active: null, sessions: {} };
}

function save(next: Stored): void {
  cache = next;
  sessionStorage.setItem(KEY, JSON.stringify(next));
  listeners.forEach((l) => l());
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function currentSession(): Session | null {
  const s = cache.active ? cache.sessions[cache.active] : undefined;
  return s ?? null;
}

export function useSession(): Session | null {
  return useSyncExternalStore(subscribe, currentSession);
}

const getAll = () => cache.sessions;
export function useAllSessions(): Record<string, Session> {
  return useSyncExternalStore(subscribe, getAll);
}

export function signIn(session: Session): void {
  endedReason = null;
  save({ active: session.workspace.name, sessions: { ...cache.sessions, [session.workspace.name]: session } });
}

export function switchWorkspace(name: string): void {
  if (cache.sessions[name]) save({ ...cache, active: name });
}

/** Forgets every session of this tab (a person signed out, here or everywhere). */
export function signOutAll(reason: string | null = null): void {
  endedReason = reason;
  save({ active: null, sessions: {} });
}

/** Signs out of the active workspace; another signed-in workspace becomes active, if any. */
export function signOut(reason: string | null = null): void {
  const sessions = { ...cache.sessions };
  if (cache.active) delete sessions[cache.active];
  endedReason = reason;
  save({ active: Object.keys(sessions)[0] ?? null, sessions });
}

export function takeEndedReason(): string | null {
  return endedReason;
}

export function isExpired(session: Session, now = Date.now()): boolean {
  return new Date(session.expiresAt).getTime() <= now;
}
