// The pages single-use links open: accepting an invitation (or the first-owner link), choosing a new
// password, and confirming the CLI's device sign-in. Link secrets ride in the URL fragment, which the
// browser never sends to the server, and are dropped from the address bar once read.
import { useMutation } from "@tanstack/react-query";
import { useEffect, useState, type FormEvent } from "react";
import { createAccountApi, enterWorkspace } from "../api/account.ts";
import { createAnonymousApi, errorMessage, type Outputs } from "../api/client.ts";
import { useTRPC } from "../api/provider.tsx";
import { signOutAll } from "../api/session.ts";
import { EmptyState, InputField, PageHeader, RequestError } from "../components/ui.tsx";
import { useDocumentTitle } from "../lib/hooks.ts";
import { navigate, useLocation } from "../router.tsx";
import { SignInCard } from "./sign-in.tsx";

function useLinkSecret(): string {
  const [secret] = useState(() => {
    const value = location.hash.slice(1);
    history.replaceState(null, "", location.pathname + location.search);
    return value;
  });
  return secret;
}

type Invitation = Outputs["auth"]["invitation"];

/** A form's submission outside the signed-in app (no query cache there): busy flag and error message. */
function useSubmit(work: () => Promise<void>) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    work()
      .catch((err: unknown) => setError(errorMessage(err)))
      .finally(() => setBusy(false));
  };
  return { busy, error, submit };
}

export function AcceptInvitePage() {
  useDocumentTitle("Accept invitation");
  const token = useLinkSecret();
  const [inv, setInv] = useState<Invitation | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  useEffect(() => {
    createAnonymousApi()
      .auth.invitation.query({ token })
      .then(setInv, (err: unknown) => setLoadError(errorMessage(err)));
  }, [token]);
  const [email, setEmail] = useState("");
  const [name, setName] = useState("");
  const [password, setPassword] = useState("");
  const accept = useSubmit(async () => {
    await createAccountApi().auth.acceptInvitation.mutate({
      token,
      password,
      ...(inv?.email ? {} : { email: email.trim() }),
      ...(name.trim() ? { name: name.trim() } : {}),
    });
    await enterWorkspace(inv?.workspace ?? undefined);
    navigate("/runs", { replace: true });
  });
  return (
    <SignInCard title={inv && !inv.email ? "Create the first owner" : "Join your team"}>
      <RequestError error={loadError} />
      {inv ? (
        <form onSubmit={accept.submit} noValidate aria-label="Accept the invitation">
          <p>
            {inv.email ? <strong>{inv.email}</strong> : "You"} will join <strong>{inv.organization}</strong> as{" "}
            <strong>{inv.role}</strong>
            {inv.workspace && inv.role !== "owner" && inv.role !== "admin" ? ` of workspace “${inv.workspace}”` : ""}.
          </p>
          {inv.email ? null : (
            <>
              <InputField label="Email" type="email" autoComplete="username" value={email} onChange={setEmail} />
            </>
          )}
          {inv.existingUser ? null : (
            <>
              <InputField label="Name (optional)" autoComplete="name" value={name} onChange={setName} />
            </>
          )}
          <InputField
            label={inv.existingUser ? "Your password" : "Choose a password"}
            type="password"
            autoComplete={inv.existingUser ? "current-password" : "new-password"}
            value={password}
            onChange={setPassword}
            aria-describedby="password-rules"
          />
          {inv.existingUser ? null : (
            <p id="password-rules" className="muted small">
              At least 12 characters; not a common password; not your email.
            </p>
          )}
          <RequestError error={accept.error} />
          <button type="submit" className="button primary" disabled={accept.busy || !password}>
            {accept.busy ? "Joining…" : "Accept and sign in"}
          </button>
        </form>
      ) : null}
    </SignInCard>
  );
}

export function ResetPasswordPage() {
  useDocumentTitle("Choose a new password");
  const token = useLinkSecret();
  const [password, setPassword] = useState("");
  const reset = useSubmit(async () => {
    await createAnonymousApi().auth.resetPassword.mutate({ token, password });
    signOutAll("Your password was changed and every sign-in ended. Sign in with the new password.");
    navigate("/sign-in", { replace: true });
  });
  return (
    <SignInCard title="Choose a new password">
      <form onSubmit={reset.submit} noValidate aria-label="Choose a new password">
        <InputField
          label="New password"
          type="password"
          autoComplete="new-password"
          value={password}
          onChange={setPassword}
        />
        <p className="muted small">At least 12 characters; not a common password; not your email.</p>
        <RequestError error={reset.error} />
        <button type="submit" className="button primary" disabled={reset.busy || !password}>
          Set password
        </button>
      </form>
    </SignInCard>
  );
}

/** `/device?code=…`: the person confirms the code their terminal shows (they are signed in already). */
export function DevicePage() {
  useDocumentTitle("Confirm a CLI sign-in");
  const trpc = useTRPC();
  const { search } = useLocation();
  const [code, setCode] = useState(search.get("code") ?? "");
  const decide = useMutation(trpc.auth.deviceDecide.mutationOptions());
  // Both answers wait for a code and for the previous answer to land.
  const answerButton = (approve: boolean, label: string) => (
    <button
      type="button"
      className={approve ? "button primary" : "button"}
      disabled={!code || decide.isPending}
      onClick={() => decide.mutate({ userCode: code, approve })}
    >
      {label}
    </button>
  );
  if (decide.data)
    return (
      <EmptyState title={decide.data.approved ? "The CLI is signed in" : "Sign-in refused"}>
        <p>
          {decide.data.approved
            ? `“${decide.data.clientName}” received a key of yours. You can close this page.`
            : "The CLI got nothing."}
        </p>
      </EmptyState>
    );
  return (
    <>
      <PageHeader title="Confirm a CLI sign-in" subtitle="Only confirm a code that your own terminal shows." />
      <form className="inline-form" onSubmit={(e) => e.preventDefault()} aria-label="Device code">
        <InputField label="Code" value={code} onChange={setCode} autoComplete="off" spellCheck={false} />
        {answerButton(true, "Confirm")}
        {answerButton(false, "Refuse")}
      </form>
      <RequestError error={decide.error} />
    </>
  );
}
