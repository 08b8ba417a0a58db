// A started SSO sign-in lives in the browser that started it, in a cookie sealed with the master
// key (crypto/envelope.ts): the server keeps nothing per attempt, any replica can finish it, and the
// state, nonce and PKCE verifier never leave the server readable. Only the browser holding the
// cookie can finish the sign-in, which is what makes the state check a defence against login CSRF.
import type { MasterKeyring } from "../../crypto/envelope.ts";
import { OidcError, type PendingSignIn } from "./client.ts";

export const PENDING_COOKIE = "flowplane_sso";
/** How long a person may spend at the identity provider. */
export const PENDING_TTL_MS = 10 * 60_000;
const CONTEXT = "oidc-pending-sign-in";

export interface PendingSsoSignIn extends PendingSignIn {
  organizationId: string;
}

export function sealPending(keys: MasterKeyring, pending: PendingSsoSignIn): string {
  return keys.seal(JSON.stringify(pending), CONTEXT);
}

export function openPending(
  keys: MasterKeyring,
  sealed: string | null | undefined,
  now = Date.now(),
): PendingSsoSignIn {
  if (!sealed) throw new OidcError("NO_PENDING_SIGN_IN", "no sign-in was started in this browser; start again");
  let pending: PendingSsoSignIn;
  try {
    pending = JSON.parse(keys.openText(sealed, CONTEXT)) as PendingSsoSignIn;
  } catch {
    throw new OidcError("NO_PENDING_SIGN_IN", "this browser's sign-in could not be read; start again");
  }
  if (now - pending.startedAt > PENDING_TTL_MS)
    throw new OidcError("NO_PENDING_SIGN_IN", "the sign-in took longer than 10 minutes; start again");
  return pending;
}
