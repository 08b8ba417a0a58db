// A person's sign-in: calls that ride on the httpOnly sign-in cookie (the browser sends it; this
// script never sees it) and must echo the CSRF token, which the server also keeps in a readable cookie.
import { createTRPCClient, httpLink } from "@trpc/client";
import type { AppRouter } from "@flowplane/api";
import type { Api, Outputs } from "./client.ts";
import { signIn, type Session } from "./session.ts";

function csrfToken(): string | null {
  const match = /(?:^|;\s*)fp_csrf=([^;]+)/.exec(document.cookie);
  return match ? decodeURIComponent(match[1]!) : null;
}

/** Whether this browser holds a sign-in (the CSRF cookie lives as long as the session cookie). */
export const hasSignIn = (): boolean => csrfToken() !== null;

/** The client for the cookie's calls (sign-in, tokens, sign-out). */
export function createAccountApi(): Api {
  return createTRPCClient<AppRouter>({
    links: [
      httpLink({
        url: `${location.origin}/trpc`,
        headers: (): Record<string, string> => {
          const csrf = csrfToken();
          return csrf ? { "x-flowplane-csrf": csrf } : {};
        },
      }),
    ],
  });
}

type Access = Outputs["auth"]["accessToken"];

export function sessionOf(access: Access): Session {
  return {
    token: access.token,
    expiresAt: access.expiresAt,
    workspace: access.workspace,
    scope: access.scope,
    user: {
      email: access.user.email,
      orgRole: access.orgRole,
      organization: access.organization.name,
      workspaces: access.workspaces,
    },
  };
}

/** A token for `workspace` (default: the first the person may enter) from the sign-in cookie; becomes the active session. */
export async function enterWorkspace(workspace?: string): Promise<Session> {
  const access = await createAccountApi().auth.accessToken.mutate(workspace ? { workspace } : {});
  const session = sessionOf(access);
  signIn(session);
  return session;
}
