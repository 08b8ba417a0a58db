import { useState, type FormEvent } from "react";
import { createAnonymousApi, errorMessage } from "../api/client.ts";
import { signIn, takeEndedReason } from "../api/session.ts";
import { BrandMark, Command } from "../components/ui.tsx";
import { useDocumentTitle } from "../lib/hooks.ts";
import { navigate } from "../router.tsx";
import "./sign-in.css";

export function SignInPage({ adding }: { adding: boolean }) {
  useDocumentTitle("Sign in");
  const [apiKey, setApiKey] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [notice] = useState(() => takeEndedReason());

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const res = await createAnonymousApi().auth.createSession.mutate({ apiKey: apiKey.trim() });
      signIn({ token: res.token, expiresAt: res.expiresAt, workspace: res.workspace, scope: res.scope });
      const back = new URLSearchParams(location.search).get("next");
      navigate(
        back && back.startsWith("/") && !back.startsWith("//")
          ? back
          : location.pathname === "/sign-in"
            ? "/runs"
            : location.pathname + location.search,
        { replace: true },
      );
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="sign-in">
      <div className="sign-in-card">
        <div className="brand large">
          <BrandMark size={32} />
        </div>
        <h1>{adding ? "Sign in to another workspace" : "Sign in"}</h1>
        {notice ? (
          <p className="notice" role="status">
            {notice}
          </p>
        ) : null}
        <form onSubmit={(e) => void submit(e)} noValidate>
          <label htmlFor="api-key">API key</label>
          <input
            id="api-key"
            name="apiKey"
            type="password"
            autoComplete="off"
            spellCheck={false}
            placeholder="fp_…"
            value={apiKey}
            onChange={(e) => setApiKey(e.target.value)}
            aria-invalid={error ? true : undefined}
            aria-describedby={error ? "api-key-error" : "api-key-help"}
            required
            autoFocus
          />
          {error ? (
            <p id="api-key-error" className="field-error" role="alert">
              {error}
            </p>
          ) : null}
          <button type="submit" className="button primary" disabled={busy || apiKey.trim() === ""}>
            {busy ? "Signing in…" : "Sign in"}
          </button>
        </form>
        <div id="api-key-help" className="help">
          <p>
            The key is exchanged for a session that lasts an hour; the key itself is not stored. To make a key for the
            dashboard, run this where the server runs (its CLI is already logged in):
          </p>
          <Command>pnpm flowplane api-key create dashboard --scope admin</Command>
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
      </div>
    </main>
  );
}
