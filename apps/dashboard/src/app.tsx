// The shell: sign-in when there is no session, otherwise the navigation and the routed page.
import { useState, type ReactNode } from "react";
import { ApiProvider, useConnectionStatus } from "./api/provider.tsx";
import { createAccountApi, enterWorkspace } from "./api/account.ts";
import { errorMessage } from "./api/client.ts";
import { signOut, signOutAll, switchWorkspace, useAllSessions, useSession, type Session } from "./api/session.ts";
import { BrandMark } from "./components/ui.tsx";
import { ApiKeysPage } from "./pages/api-keys.tsx";
import { AuditPage } from "./pages/audit.tsx";
import { DeploymentPage } from "./pages/deployment.tsx";
import { DeploymentsPage } from "./pages/deployments.tsx";
import { FlowsPage } from "./pages/flows.tsx";
import { AcceptInvitePage, DevicePage, ResetPasswordPage } from "./pages/links.tsx";
import { MembersPage } from "./pages/members.tsx";
import { ServiceAccountsPage } from "./pages/service-accounts.tsx";
import { RunPage } from "./pages/run.tsx";
import { RunsPage } from "./pages/runs.tsx";
import { SecretsPage } from "./pages/secrets.tsx";
import { SignInPage } from "./pages/sign-in.tsx";
import { SsoPage } from "./pages/sso.tsx";
import { WorkPoolPage } from "./pages/work-pool.tsx";
import { WorkPoolsPage } from "./pages/work-pools.tsx";
import { Link, matchPath, navigate, useLocation } from "./router.tsx";
import "./app.css";

/** `admin`: shown only to sessions that may use it (the server refuses the others anyway). */
const NAV: { to: string; label: string; match: string; admin?: boolean }[] = [
  { to: "/runs", label: "Runs", match: "/runs" },
  { to: "/flows", label: "Flows", match: "/flows" },
  { to: "/deployments", label: "Deployments", match: "/deployments" },
  { to: "/work-pools", label: "Work pools", match: "/work-pools" },
  { to: "/secrets", label: "Secrets", match: "/secrets" },
  { to: "/members", label: "Members", match: "/members" },
  { to: "/service-accounts", label: "Service accounts", match: "/service-accounts", admin: true },
  { to: "/api-keys", label: "API keys", match: "/api-keys", admin: true },
  { to: "/audit", label: "Audit log", match: "/audit", admin: true },
  // Workspace admins read it; organisation owners and admins also change it (on the page).
  { to: "/sso", label: "Single sign-on", match: "/sso", admin: true },
];

export function App() {
  const session = useSession();
  const { pathname } = useLocation();
  // Single-use links work signed in or not.
  if (pathname === "/accept-invite") return <AcceptInvitePage />;
  if (pathname === "/reset-password") return <ResetPasswordPage />;
  if (!session || pathname === "/sign-in") return <SignInPage adding={Boolean(session)} />;
  return (
    <ApiProvider key={session.token} session={session}>
      <Shell session={session}>
        <Routes pathname={pathname} />
      </Shell>
    </ApiProvider>
  );
}

function Routes({ pathname }: { pathname: string }) {
  let m: Record<string, string> | null;
  if (pathname === "/" || pathname === "/runs") return <RunsPage />;
  if ((m = matchPath("/runs/:id", pathname))) return <RunPage key={m.id} id={m.id!} />;
  if (pathname === "/flows") return <FlowsPage />;
  if (pathname === "/deployments") return <DeploymentsPage />;
  if ((m = matchPath("/deployments/:id", pathname))) return <DeploymentPage key={m.id} id={m.id!} />;
  if (pathname === "/work-pools") return <WorkPoolsPage />;
  if ((m = matchPath("/work-pools/:name", pathname))) return <WorkPoolPage key={m.name} name={m.name!} />;
  if (pathname === "/api-keys") return <ApiKeysPage />;
  if (pathname === "/secrets") return <SecretsPage />;
  if (pathname === "/members") return <MembersPage />;
  if (pathname === "/service-accounts") return <ServiceAccountsPage />;
  if (pathname === "/device") return <DevicePage />;
  if (pathname === "/audit") return <AuditPage />;
  if (pathname === "/sso") return <SsoPage />;
  return (
    <div className="empty-state" role="status">
      <h1>Page not found</h1>
      <p>
        <Link to="/runs">Go to the runs list</Link>
      </p>
    </div>
  );
}

function Shell({ session, children }: { session: Session; children: ReactNode }) {
  const { pathname } = useLocation();
  const sessions = useAllSessions();
  const status = useConnectionStatus();
  const names = Object.keys(sessions);
  // A person's choices are every workspace they may enter (across organisations); a key's, the
  // workspaces signed in with keys in this tab.
  const choices = session.user
    ? session.user.workspaces.map((w) => ({ value: w.name, label: `${w.organization} / ${w.name}` }))
    : names.map((n) => ({ value: n, label: n }));
  const isAdmin = session.scope === "ADMIN";
  const [switchError, setSwitchError] = useState<string | null>(null);
  const endSignIn = (everywhere: boolean) => {
    if (!session.user) return signOut();
    const api = createAccountApi();
    void (everywhere ? api.auth.signOutEverywhere.mutate() : api.auth.signOut.mutate())
      .catch(() => {})
      .finally(() => signOutAll(everywhere ? "Signed out on every device." : null));
  };
  return (
    <div className="shell">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <Link to="/runs" className="brand" aria-label="Flowplane home">
          <BrandMark size={22} />
        </Link>
        <div className="topbar-right">
          <span
            className={`live-status live-${status}`}
            role="status"
            aria-live="polite"
            title="Live updates over websocket"
          >
            <span className="live-dot" aria-hidden="true" />
            {status === "open" ? "Live" : status === "connecting" ? "Connecting…" : "Reconnecting…"}
          </span>
          <label className="workspace-switcher">
            <span className="visually-hidden">Workspace</span>
            <span aria-hidden="true" className="muted small">
              Workspace
            </span>
            <select
              value={session.workspace.name}
              onChange={(e) => {
                const name = e.target.value;
                setSwitchError(null);
                if (name === "__add") navigate("/sign-in");
                else if (session.user) enterWorkspace(name).catch((err: unknown) => setSwitchError(errorMessage(err)));
                else switchWorkspace(name);
              }}
              data-testid="workspace"
            >
              {choices.map((c) => (
                <option key={c.value} value={c.value}>
                  {c.label}
                </option>
              ))}
              {session.user ? null : <option value="__add">Sign in to another workspace…</option>}
            </select>
          </label>
          {switchError ? (
            <span className="field-error" role="alert">
              {switchError}
            </span>
          ) : null}
          {session.user ? (
            <span className="muted small" data-testid="signed-in-as">
              {session.user.email}
            </span>
          ) : null}
          <span className="scope-pill" title="What this session may do">
            {session.scope.toLowerCase()}
          </span>
          <button type="button" className="button ghost small" onClick={() => endSignIn(false)}>
            Sign out
          </button>
          {session.user ? (
            <button type="button" className="button ghost small" onClick={() => endSignIn(true)}>
              Sign out everywhere
            </button>
          ) : null}
        </div>
      </header>
      <nav className="sidenav" aria-label="Main">
        <ul>
          {NAV.filter((item) => !item.admin || isAdmin).map((item) => {
            const active =
              pathname === item.match ||
              pathname.startsWith(`${item.match}/`) ||
              (item.match === "/runs" && pathname === "/");
            return (
              <li key={item.to}>
                <Link to={item.to} aria-current={active ? "page" : undefined}>
                  {item.label}
                </Link>
              </li>
            );
          })}
        </ul>
      </nav>
      <main id="main" className="main" tabIndex={-1}>
        {children}
      </main>
    </div>
  );
}
