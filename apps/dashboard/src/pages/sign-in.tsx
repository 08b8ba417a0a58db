import { useEffect, useState, type FormEvent, type ReactNode } from "react";
import { createAccountApi, enterWorkspace, hasSignIn } from "../api/account.ts";
import { createAnonymousApi, errorMessage } from "../api/client.ts";
import { signIn, takeEndedReason } from "../api/session.ts";
import { BrandMark, Command, InputField } from "../components/ui.tsx";
import { useDocumentTitle } from "../lib/hooks.ts";
import { navigate } from "../router.tsx";
import "./sign-in.css";

/** Where to go after signing in: `?next=` when it is a path of ours, else the runs list. */
function goBack(): void {
  const back = new URLSearchParams(location.search).get("next");
  const here = ["/sign-in", "/accept-invite", "/reset-password"].includes(location.pathname)
    ? "/runs"
    : location.pathname + location.search;
  navigate(back && back.startsWith("/") && !back.startsWith("//") ? back : here, { replace: true });
}

export function SignInCard({ title, children }: { title: string; children: ReactNode }) {
  return (
    <main className="sign-in">
      <div className="sign-in-card">
        <div className="brand large">
          <BrandMark size={32} />
        </div>
        <h1>{title}</h1>
        {children}
      </div>
    </main>
  );
}

export function SignInPage({ adding }: { adding: boolean }) {
  useDocumentTitle("Sign in");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [apiKey, setApiKey] = useState("");
  // A refused single sign-on comes back here with its reason (/sign-in?sso_error=…).
  const [error, setError] = useState<{ form: "password" | "key" | "reset" | "sso"; message: string } | null>(() => {
    const ssoError = new URLSearchParams(location.search).get("sso_error");
    return ssoError ? { form: "sso", message: `Single sign-on: ${ssoError}` } : null;
  });
  const [busy, setBusy] = useState(false);
  const [notice, setNotice] = useState(() => takeEndedReason());

  // A sign-in cookie from earlier (another tab, a reload): enter without typing anything.
  useEffect(() => {
    if (!adding && hasSignIn()) enterWorkspace().then(goBack, () => {});
  }, [adding]);

  async function run(form: "password" | "key", work: () => Promise<void>) {
    setBusy(true);
    setError(null);
    try {
      await work();
      goBack();
    } catch (err) {
      setError({ form, message: errorMessage(err) });
    } finally {
      setBusy(false);
    }
  }

  const submitPassword = (e: FormEvent) => {
    e.preventDefault();
    void run("password", async () => {
      await createAccountApi().auth.signIn.mutate({ email: email.trim(), password });
      setPassword("");
      await enterWorkspace();
    });
  };

  const submitKey = (e: FormEvent) => {
    e.preventDefault();
    void run("key", async () => {
      const res = await createAnonymousApi().auth.createSession.mutate({ apiKey: apiKey.trim() });
      signIn({ token: res.token, expiresAt: res.expiresAt, workspace: res.workspace, scope: res.scope });
    });
  };

  /** Single sign-on: the server finds the organisation by the email's domain and sends the browser to its provider. */
  const signInWithSso = () => {
    if (!email.trim()) {
      setError({ form: "sso", message: "email: enter your work email to sign in with SSO" });
      return;
    }
    // A navigation, not a form post: the form-action policy would stop the redirect to the provider.
    location.assign(`/auth/sso/start?${new URLSearchParams({ email: email.trim() })}`);
  };

  const forgot = async () => {
    if (!email.trim()) {
      setError({ form: "reset", message: "email: enter your email above first" });
      return;
    }
    try {
      const res = await createAnonymousApi().auth.requestPasswordReset.mutate({ email: email.trim() });
      setError(null);
      setNotice(
        res.mailed
          ? "If an account has this email, a link to choose a new password is on its way."
          : "This server sends no mail: ask an admin of your organisation for a password reset link.",
      );
    } catch (err) {
      setError({ form: "reset", message: errorMessage(err) });
    }
  };

  return (
    <SignInCard title={adding ? "Sign in to another workspace" : "Sign in"}>
      {notice ? (
        <p className="notice" role="status">
          {notice}
        </p>
      ) : null}
      <form onSubmit={submitPassword} noValidate>
        <InputField
          label="Email"
          name="email"
          type="email"
          autoComplete="username"
          value={email}
          onChange={setEmail}
          required
          autoFocus
        />
        <InputField
          label="Password"
          name="password"
          type="password"
          autoComplete="current-password"
          value={password}
          onChange={setPassword}
          aria-invalid={error?.form === "password" ? true : undefined}
          aria-describedby={error?.form === "password" ? "password-error" : undefined}
          required
        />
        {error && error.form !== "key" ? (
          <p id="password-error" className="field-error" role="alert">
            {error.message}
          </p>
        ) : null}
        <button type="submit" className="button primary" disabled={busy || !email.trim() || !password}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
        <button type="button" className="button" onClick={signInWithSso} disabled={busy}>
          Sign in with SSO
        </button>
        <button type="button" className="button ghost small" onClick={() => void forgot()}>
          Forgot password?
        </button>
      </form>
      <form onSubmit={submitKey} noValidate className="key-form">
        <InputField
          label="API key"
          name="apiKey"
          type="password"
          autoComplete="off"
          spellCheck={false}
          placeholder="fp_…"
          value={apiKey}
          onChange={setApiKey}
          aria-invalid={error?.form === "key" ? true : undefined}
          aria-describedby={error?.form === "key" ? "api-key-error" : "api-key-help"}
          required
        />
        {error?.form === "key" ? (
          <p id="api-key-error" className="field-error" role="alert">
            {error.message}
          </p>
        ) : null}
        <button type="submit" className="button" disabled={busy || apiKey.trim() === ""}>
          Sign in with API key
        </button>
      </form>
      <div id="api-key-help" className="help">
        <p>
          A key is exchanged for a session that lasts an hour; the key itself is not stored. On the machine where the
          server runs, its CLI is already logged in:
        </p>
        <Command>pnpm flowplane user create you@example.com --role owner --password-stdin</Command>
      </div>
      {adding ? (
        <p>
          <a
            href="/runs"
            onClick={(e) => {
              e.preventDefault();
              navigate("/runs");
            }}
          >
            Back to the dashboard
          </a>
        </p>
      ) : null}
    </SignInCard>
  );
}
