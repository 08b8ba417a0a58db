// Signing in and out. API keys exchange for dashboard tokens (automation, and the dashboard's "use an
// API key" form); people sign in with email and password into a server-side session held in an
// httpOnly cookie, and exchange it for short-lived dashboard tokens per workspace. Calls that read the
// cookie require the session's CSRF token in the `x-flowplane-csrf` header.
import { z } from "zod";
import { clearSessionCookies, SESSION_COOKIE, setSessionCookies } from "../auth/cookies.ts";
import { issueRunToken, runTokenClaimsFor } from "../auth/run-tokens.ts";
import { issueSessionToken } from "../auth/session-tokens.ts";
import { ApiError } from "../errors.ts";
import { userActor } from "../services/audit/procedure-calls.ts";
import {
  acceptInvitation,
  describeInvitation,
  requestPasswordReset,
  resetPassword,
} from "../services/accounts/links.ts";
import {
  decideDeviceAuthorization,
  pollDeviceAuthorization,
  startDeviceAuthorization,
} from "../services/accounts/device.ts";
import {
  issueAccessToken,
  revokeSession,
  revokeUserSessions,
  sessionFromCookie,
  signInWithPassword,
  throttleAddress,
} from "../services/accounts/sessions.ts";
import { assertAttemptCurrent } from "../services/flow-runs/attempts.ts";
import {
  changingAccess,
  publicProcedure,
  readProcedure,
  router,
  runReadProcedure,
  runTokenProcedure,
  type ProcedureContext,
  type HttpExchange,
} from "../trpc.ts";

/** The HTTP request behind a cookie-based call; such calls make no sense without one. */
function httpOf(ctx: ProcedureContext): HttpExchange {
  if (!ctx.http) throw new ApiError("PRECONDITION_FAILED", "this call needs the dashboard's HTTP request (cookies)");
  return ctx.http;
}

const clientOf = (ctx: ProcedureContext) => ctx.client ?? { ip: null, userAgent: null };

const email = z.string().trim().min(3).max(320).email("not an email address");
const password = z.string().min(1, "required").max(1024);
const token = z.string().min(16).max(200);
const workspace = z.string().min(1).max(100).nullish();

export const authRouter = router({
  /** Exchanges an API key for a short-lived dashboard session token. */
  createSession: publicProcedure.input(z.object({ apiKey: z.string().min(1) })).mutation(async ({ ctx, input }) => {
    const auth = await ctx.services.authenticator.authenticate(input.apiKey);
    if (!auth.ok) throw new ApiError("UNAUTHENTICATED", auth.reason, { path: "apiKey" });
    if (auth.principal.via !== "api-key" || auth.principal.apiKeyId === null)
      throw new ApiError("UNAUTHENTICATED", "a session can only be created from an API key", { path: "apiKey" });
    ctx.audit.principal = auth.principal;
    const { token, expiresAt } = await issueSessionToken(
      ctx.services.tokens,
      { kind: "api-key", apiKeyId: auth.principal.apiKeyId, workspaceId: auth.principal.workspaceId },
      ctx.services.config.sessionTtlSeconds,
    );
    return {
      token,
      expiresAt: expiresAt.toISOString(),
      workspace: { id: auth.principal.workspaceId, name: auth.principal.workspaceName },
      scope: auth.principal.scope,
    };
  }),

  /**
   * Email and password sign-in. Always a new session id (a session id planted before sign-in is
   * worthless after it), and the cookie the browser sent, if any, is ended.
   */
  signIn: publicProcedure.input(z.object({ email, password })).mutation(async ({ ctx, input }) => {
    const http = httpOf(ctx);
    const session = await signInWithPassword(ctx.services.resources, ctx.services.config, {
      ...input,
      ...clientOf(ctx),
    });
    ctx.audit.actor = userActor(session.userId, input.email);
    await endCookieSession(ctx, http);
    setSessionCookies(http, session);
    return { csrfToken: session.csrfToken, expiresAt: session.expiresAt.toISOString() };
  }),

  /** A dashboard token for one workspace (default: the first the person may enter), from the sign-in cookie. */
  accessToken: publicProcedure.input(z.object({ workspace }).default({})).mutation(async ({ ctx, input }) => {
    const http = httpOf(ctx);
    const session = await sessionFromCookie(ctx.services.resources, http.cookies[SESSION_COOKIE], http.csrfToken);
    ctx.audit.actor = userActor(session.userId, session.email);
    return issueAccessToken(
      ctx.services.resources,
      ctx.services.tokens,
      ctx.services.config.sessionTtlSeconds,
      session,
      input.workspace ?? null,
    );
  }),

  signOut: publicProcedure.mutation(async ({ ctx }) => {
    const http = httpOf(ctx);
    const session = await sessionFromCookie(ctx.services.resources, http.cookies[SESSION_COOKIE], http.csrfToken);
    ctx.audit.actor = userActor(session.userId, session.email);
    await revokeSession(ctx.services.resources, session.id);
    ctx.services.authenticator.invalidate();
    clearSessionCookies(http);
    return { signedOut: 1 };
  }),

  /** Ends every sign-in of this person, on every device (their API keys stay). */
  signOutEverywhere: publicProcedure.mutation(async ({ ctx }) => {
    const http = httpOf(ctx);
    const session = await sessionFromCookie(ctx.services.resources, http.cookies[SESSION_COOKIE], http.csrfToken);
    ctx.audit.actor = userActor(session.userId, session.email);
    const count = await revokeUserSessions(ctx.services.resources, session.userId);
    ctx.services.authenticator.invalidate();
    clearSessionCookies(http);
    return { signedOut: count };
  }),

  requestPasswordReset: publicProcedure.input(z.object({ email })).mutation(async ({ ctx, input }) => {
    // Each request may send a mail: an address must not be able to flood someone's inbox.
    await throttleAddress(ctx.services.resources, ctx.services.config, "password-reset", clientOf(ctx).ip);
    return requestPasswordReset(ctx.services.resources, ctx.services.mailer, ctx.services.config, input.email);
  }),

  resetPassword: publicProcedure
    .input(z.object({ token, password }))
    .mutation(({ ctx, input }) =>
      changingAccess(ctx, resetPassword(ctx.services.resources, ctx.services.config, input)),
    ),

  invitation: publicProcedure
    .input(z.object({ token }))
    .query(({ ctx, input }) => describeInvitation(ctx.services.resources, input.token)),

  /** Accepts an invitation (or the first-owner link) and signs the person in. */
  acceptInvitation: publicProcedure
    .input(z.object({ token, password, email: email.optional(), name: z.string().max(200).optional() }))
    .mutation(async ({ ctx, input }) => {
      const http = httpOf(ctx);
      const session = await acceptInvitation(ctx.services.resources, ctx.services.config, input, clientOf(ctx));
      await endCookieSession(ctx, http);
      setSessionCookies(http, session);
      return { csrfToken: session.csrfToken, expiresAt: session.expiresAt.toISOString() };
    }),

  /** The CLI starts a device sign-in (`flowplane login --url URL`). */
  deviceStart: publicProcedure
    .input(z.object({ clientName: z.string().min(1).max(100) }))
    .mutation(async ({ ctx, input }) => {
      await throttleAddress(ctx.services.resources, ctx.services.config, "device-start", clientOf(ctx).ip);
      return startDeviceAuthorization(ctx.services.resources, ctx.services.config, input.clientName);
    }),
  devicePoll: publicProcedure
    .input(z.object({ deviceCode: token }))
    .mutation(({ ctx, input }) => pollDeviceAuthorization(ctx.services.resources, input.deviceCode)),
  /** A signed-in person confirms or refuses the code their terminal shows, for the workspace they are in. */
  deviceDecide: readProcedure
    .input(z.object({ userCode: z.string().min(4).max(20), approve: z.boolean() }))
    .mutation(({ ctx, input }) => {
      if (ctx.principal.actor.type !== "user" || ctx.principal.userSessionId === null)
        throw new ApiError("FORBIDDEN", "only a person signed in to the dashboard can confirm a device sign-in");
      return decideDeviceAuthorization(
        ctx.services.resources,
        { userId: ctx.principal.actor.id, workspaceId: ctx.workspaceId },
        input,
      );
    }),

  whoami: runReadProcedure.query(({ ctx }) => ({
    workspace: { id: ctx.principal.workspaceId, name: ctx.principal.workspaceName },
    organizationId: ctx.principal.organizationId,
    apiKeyId: ctx.principal.apiKeyId,
    actor: ctx.principal.actor,
    scope: ctx.principal.scope,
    via: ctx.principal.via,
    flowRunId: ctx.runScope?.flowRunId ?? null,
  })),
  /**
   * A fresh token for the calling run token's attempt, while it still holds its run's claim and the
   * run has not ended. Runs renew at half-life (see @flowplane/client's run-token renewal).
   */
  renewRunToken: runTokenProcedure.mutation(async ({ ctx }) => {
    const attempt = ctx.runScope;
    await assertAttemptCurrent(ctx.services.resources, ctx.workspaceId, attempt);
    return issueRunToken(
      ctx.services.tokens,
      runTokenClaimsFor(ctx.principal, attempt),
      ctx.services.config.runTokenTtlSeconds,
    );
  }),
});

/** Ends the session the browser's cookie names, if it is a live one (before a new sign-in replaces it). */
async function endCookieSession(ctx: ProcedureContext, http: HttpExchange): Promise<void> {
  const previous = http.cookies[SESSION_COOKIE];
  if (!previous) return;
  const old = await sessionFromCookie(ctx.services.resources, previous, http.csrfToken).catch(() => null);
  if (old) await revokeSession(ctx.services.resources, old.id);
}
