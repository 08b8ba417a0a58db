// The shell: sign-in when there is no session, otherwise the navigation and the routed page.
import type { ReactNode } from "react";
import { ApiProvider, useConnectionStatus } from "./api/provider.tsx";
import { signOut, switchWorkspace, useAllSessions, useSession, type Session } from "./api/session.ts";
import { BrandMark } from "./components/ui.tsx";
import { ApiKeysPage } from "./pages/api-keys.tsx";
import { DeploymentPage } from "./pages/deployment.tsx";
import { DeploymentsPage } from "./pages/deployments.tsx";
import { FlowsPage } from "./pages/flows.tsx";
import { RunPage } from "./pages/run.tsx";
import { RunsPage } from "./pages/runs.tsx";
import { SecretsPage } from "./pages/secrets.tsx";
import { SignInPage } from "./pages/sign-in.tsx";
import { WorkPoolPage } from "./pages/work-pool.tsx";
import { WorkPoolsPage } from "./pages/work-pools.tsx";
import { Link, matchPath, navigate, useLocation } from "./router.tsx";
import "./app.css";

const NAV: { to: string; label: string; match: string }[] = [
  { to: "/runs", label: "Runs", match: "/runs" },
  { to: "/flows", label: "Flows", match: "/flows" },
  { to: "/deployments", label: "Deployments", match: "/deployments" },
  { to: "/work-pools", label: "Work pools", match: "/work-pools" },
  { to: "/secrets", label: "Secrets", match: "/secrets" },
  { to: "/api-keys", label: "API keys", match: "/api-keys" },
];

export function App() {
  const session = useSession();
  const { pathname } = useLocation();
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
                if (e.target.value === "__add") navigate("/sign-in");
                else switchWorkspace(e.target.value);
              }}
              data-testid="workspace"
            >
              {names.map((n) => (
                <option key={n} value={n}>
                  {n}
                </option>
              ))}
              <option value="__add">Sign in to another workspace…</option>
            </select>
          </label>
          <span className="scope-pill" title="What this session may do">
            {session.scope.toLowerCase()}
          </span>
          <button type="button" className="button ghost small" onClick={() => signOut()}>
            Sign out
          </button>
        </div>
      </header>
      <nav className="sidenav" aria-label="Main">
        <ul>
          {NAV.map((item) => {
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
