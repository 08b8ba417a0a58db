// The organisation's single sign-on (the API's sso router, as `flowplane sso` uses it). Workspace
// admins read it; organisation owners and admins set, replace and remove it. The client secret goes
// one way: typed into a password field and sent; the API never returns it.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { errorField, isForbidden, type Inputs, type Outputs } from "../api/client.ts";
import { useCurrentSession, useTRPC } from "../api/provider.tsx";
import type { Session } from "../api/session.ts";
import { ConfirmDialog } from "../components/confirm.tsx";
import {
  EmptyState,
  ErrorNote,
  Field,
  InputField,
  PageHeader,
  RelativeTime,
  RequestError,
  Section,
  SelectField,
  Skeleton,
} from "../components/ui.tsx";
import { useDocumentTitle } from "../lib/hooks.ts";
import "./sso.css";

type Connection = NonNullable<Outputs["sso"]["get"]>;
type Settings = Inputs["sso"]["configure"];
type Role = Settings["defaultRole"] & string;

const ROLES: readonly { value: Role; label: string }[] = [
  { value: "VIEWER", label: "Viewer" },
  { value: "DEVELOPER", label: "Developer" },
  { value: "ADMIN", label: "Workspace admin" },
];
const roleLabel = (role: string) => ROLES.find((r) => r.value === role)?.label ?? role;
/** The form's text inputs: a refusal that blames one of them is shown next to it. */
const TEXT_FIELDS: readonly string[] = ["issuer", "clientId", "clientSecret", "allowedDomains", "workspaceName"];

/**
 * The server lets organisation owners and admins change SSO, and admin keys of service accounts
 * (services/sso.ts). A key's session does not say whose key it is, so it is offered the form and
 * the server has the last word.
 */
function managesOrganization(session: Session): boolean {
  return session.user ? session.user.orgRole === "OWNER" || session.user.orgRole === "ADMIN" : true;
}

export function SsoPage() {
  useDocumentTitle("Single sign-on");
  const trpc = useTRPC();
  const session = useCurrentSession();
  const sso = useQuery(trpc.sso.get.queryOptions(undefined, { retry: false }));
  const [editing, setEditing] = useState(false);
  const canManage = managesOrganization(session);

  const header = (
    <PageHeader
      title="Single sign-on"
      subtitle={`How people of ${session.user?.organization ?? "this organisation"} sign in through your OpenID Connect provider.`}
    />
  );
  if (sso.error && isForbidden(sso.error))
    return (
      <>
        {header}
        <EmptyState title="Only admins see single sign-on" />
      </>
    );
  if (sso.isPending || sso.error)
    return (
      <>
        {header}
        {sso.error ? <ErrorNote error={sso.error} /> : <Skeleton />}
      </>
    );
  const connection = sso.data;
  return (
    <>
      {header}
      {connection ? (
        <ConnectionView connection={connection} canManage={canManage} onEdit={() => setEditing(true)} />
      ) : (
        <EmptyState title="Single sign-on is not set up">
          <p>People sign in with their email and password{canManage ? "" : "; organisation admins can set it up"}.</p>
        </EmptyState>
      )}
      {canManage && (editing || !connection) ? (
        <SsoForm key={connection?.updatedAt ?? "new"} connection={connection} onDone={() => setEditing(false)} />
      ) : null}
    </>
  );
}

function ConnectionView({
  connection,
  canManage,
  onEdit,
}: {
  connection: Connection;
  canManage: boolean;
  onEdit: () => void;
}) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const [confirming, setConfirming] = useState(false);
  const remove = useMutation(
    trpc.sso.remove.mutationOptions({
      onSuccess: () => (setConfirming(false), void qc.invalidateQueries(trpc.sso.get.pathFilter())),
    }),
  );
  return (
    <Section
      title="Connection"
      actions={
        canManage ? (
          <div className="sso-actions">
            <button type="button" className="button small" onClick={onEdit}>
              Change
            </button>
            <button type="button" className="button small danger-outline" onClick={() => setConfirming(true)}>
              Remove
            </button>
          </div>
        ) : null
      }
    >
      <dl className="kv" data-testid="sso-connection">
        <dt>Issuer</dt>
        <dd>
          <code>{connection.issuer}</code>
        </dd>
        <dt>Client id</dt>
        <dd>
          <code>{connection.clientId}</code>
        </dd>
        <dt>Allowed email domains</dt>
        <dd>{connection.allowedDomains.join(", ")}</dd>
        <dt>New people join</dt>
        <dd>
          workspace “{connection.workspaceName}” as {roleLabel(connection.defaultRole).toLowerCase()}
        </dd>
        <dt>Password sign-in</dt>
        <dd>{connection.required ? "refused: members must use single sign-on" : "still allowed"}</dd>
        <dt>Redirect URI</dt>
        <dd>
          {connection.redirectUri ? <code>{connection.redirectUri}</code> : <span className="muted">unknown</span>}
        </dd>
        <dt>Updated</dt>
        <dd>
          <RelativeTime iso={connection.updatedAt} />
        </dd>
      </dl>
      <RequestError error={remove.error} />
      <ConfirmDialog
        open={confirming}
        title="Remove single sign-on?"
        confirmLabel="Remove single sign-on"
        danger
        busy={remove.isPending}
        onConfirm={() => remove.mutate()}
        onCancel={() => setConfirming(false)}
      >
        <p>
          People can no longer sign in through {connection.issuer}. Members keep their accounts; those without a
          password need a reset link to sign in again.
        </p>
      </ConfirmDialog>
    </Section>
  );
}

/** Sets SSO up, or replaces it: every field is sent again; an empty client secret keeps the stored one. */
function SsoForm({ connection, onDone }: { connection: Connection | null; onDone: () => void }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const session = useCurrentSession();
  const [issuer, setIssuer] = useState(connection?.issuer ?? "");
  const [clientId, setClientId] = useState(connection?.clientId ?? "");
  const [clientSecret, setClientSecret] = useState("");
  const [domains, setDomains] = useState(connection?.allowedDomains.join(", ") ?? "");
  const [workspaceName, setWorkspaceName] = useState(connection?.workspaceName ?? session.workspace.name);
  const [defaultRole, setDefaultRole] = useState<Role>(connection?.defaultRole ?? "VIEWER");
  const [required, setRequired] = useState(connection?.required ?? false);
  const configure = useMutation(
    trpc.sso.configure.mutationOptions({
      onSuccess: () => {
        // The secret leaves the page's state as soon as the server has it.
        setClientSecret("");
        onDone();
        void qc.invalidateQueries(trpc.sso.get.pathFilter());
      },
    }),
  );
  const blamed = errorField(configure.error);
  const errorOf = (field: keyof Settings) => (blamed === field ? configure.error?.message : null);
  const shownAtField = blamed !== null && TEXT_FIELDS.includes(blamed);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    configure.mutate({
      issuer: issuer.trim(),
      clientId,
      ...(clientSecret ? { clientSecret } : {}),
      allowedDomains: domains
        .split(/[\s,]+/)
        .map((d) => d.trim())
        .filter(Boolean),
      workspaceName: workspaceName.trim(),
      defaultRole,
      required,
    });
  };
  return (
    <Section title={connection ? "Change single sign-on" : "Set up single sign-on"}>
      <p className="muted small">
        Register <code>{connection?.redirectUri ?? `${location.origin}/auth/sso/callback`}</code> as a redirect URI at
        your provider first. The issuer is checked by reading its discovery document.
      </p>
      <form className="sso-form" onSubmit={submit} aria-label="Single sign-on settings">
        <InputField
          label="Issuer URL"
          name="issuer"
          type="url"
          value={issuer}
          onChange={setIssuer}
          placeholder="https://login.example.com"
          error={errorOf("issuer")}
          required
        />
        <InputField
          label="Client id"
          name="client-id"
          value={clientId}
          onChange={setClientId}
          error={errorOf("clientId")}
          required
        />
        <InputField
          label={connection ? "Client secret (empty keeps the stored one)" : "Client secret"}
          name="client-secret"
          type="password"
          autoComplete="off"
          value={clientSecret}
          onChange={setClientSecret}
          error={errorOf("clientSecret")}
          required={!connection}
        />
        <InputField
          label="Allowed email domains"
          name="domains"
          value={domains}
          onChange={setDomains}
          placeholder="acme.com, acme.co.uk"
          error={errorOf("allowedDomains")}
          required
        />
        <InputField
          label="Workspace new people join"
          name="workspace"
          value={workspaceName}
          onChange={setWorkspaceName}
          error={errorOf("workspaceName")}
          required
        />
        <SelectField
          label="Their role there"
          name="default-role"
          value={defaultRole}
          options={ROLES}
          onChange={(value) => setDefaultRole(value as Role)}
        />
        <Field label="Password sign-in" inline className="sso-required">
          <input type="checkbox" checked={required} onChange={(e) => setRequired(e.target.checked)} />
          refuse it: members must sign in through single sign-on
        </Field>
        <div className="sso-actions">
          <button type="submit" className="button primary" disabled={configure.isPending}>
            {connection ? "Save changes" : "Turn on single sign-on"}
          </button>
          {connection ? (
            <button type="button" className="button ghost" onClick={onDone}>
              Cancel
            </button>
          ) : null}
        </div>
      </form>
      {shownAtField ? null : <RequestError error={configure.error} />}
    </Section>
  );
}
