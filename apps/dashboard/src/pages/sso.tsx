// The organisation's single sign-on (the API's sso router, as `flowplane sso` uses it). Workspace
// admins read it; organisation owners and admins set, replace and remove it. The client secret goes
// one way: typed into a password field and sent; the API never returns it.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Fragment, useState, type FormEvent, type ReactNode } from "react";
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

/** What the API shows of a connection, as terms and their values (the client secret is not among them). */
function details(connection: Connection): [string, ReactNode][] {
  return [
    ["Issuer", <code>{connection.issuer}</code>],
    ["Client id", <code>{connection.clientId}</code>],
    ["Allowed email domains", connection.allowedDomains.join(", ")],
    [
      "New people join",
      `workspace “${connection.workspaceName}” as ${roleLabel(connection.defaultRole).toLowerCase()}`,
    ],
    ["Password sign-in", connection.required ? "refused: members must use single sign-on" : "still allowed"],
    [
      "Redirect URI",
      connection.redirectUri ? <code>{connection.redirectUri}</code> : <span className="muted">unknown</span>,
    ],
    ["Updated", <RelativeTime iso={connection.updatedAt} />],
  ];
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
        {details(connection).map(([term, value]) => (
          <Fragment key={term}>
            <dt>{term}</dt>
            <dd>{value}</dd>
          </Fragment>
        ))}
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

/** The form's text inputs, each named by the settings field the API's refusals blame. */
type TextField = keyof Settings & ("issuer" | "clientId" | "clientSecret" | "allowedDomains" | "workspaceName");
const TEXT_FIELDS: readonly {
  field: TextField;
  label: string;
  input: { type?: string; placeholder?: string; autoComplete?: string };
  /** Required to set SSO up; a change may leave it empty to keep the stored value. */
  onlyFirstTime?: boolean;
}[] = [
  { field: "issuer", label: "Issuer URL", input: { type: "url", placeholder: "https://login.example.com" } },
  { field: "clientId", label: "Client id", input: {} },
  {
    field: "clientSecret",
    label: "Client secret",
    input: { type: "password", autoComplete: "off" },
    onlyFirstTime: true,
  },
  { field: "allowedDomains", label: "Allowed email domains", input: { placeholder: "acme.com, acme.co.uk" } },
  { field: "workspaceName", label: "Workspace new people join", input: {} },
];

/** Sets SSO up, or replaces it: every field is sent again; an empty client secret keeps the stored one. */
function SsoForm({ connection, onDone }: { connection: Connection | null; onDone: () => void }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const session = useCurrentSession();
  const [text, setText] = useState<Record<TextField, string>>({
    issuer: connection?.issuer ?? "",
    clientId: connection?.clientId ?? "",
    clientSecret: "",
    allowedDomains: connection?.allowedDomains.join(", ") ?? "",
    workspaceName: connection?.workspaceName ?? session.workspace.name,
  });
  const [defaultRole, setDefaultRole] = useState<Role>(connection?.defaultRole ?? "VIEWER");
  const [required, setRequired] = useState(connection?.required ?? false);
  const configure = useMutation(
    trpc.sso.configure.mutationOptions({
      onSuccess: () => {
        // The secret leaves the page's state as soon as the server has it.
        setText((t) => ({ ...t, clientSecret: "" }));
        onDone();
        void qc.invalidateQueries(trpc.sso.get.pathFilter());
      },
    }),
  );
  const blamed = errorField(configure.error);
  const shownAtField = TEXT_FIELDS.some((f) => f.field === blamed);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    configure.mutate({
      issuer: text.issuer.trim(),
      clientId: text.clientId,
      ...(text.clientSecret ? { clientSecret: text.clientSecret } : {}),
      allowedDomains: text.allowedDomains
        .split(/[\s,]+/)
        .map((d) => d.trim())
        .filter(Boolean),
      workspaceName: text.workspaceName.trim(),
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
        {TEXT_FIELDS.map(({ field, label, input, onlyFirstTime }) => (
          <InputField
            key={field}
            {...input}
            label={onlyFirstTime && connection ? `${label} (empty keeps the stored one)` : label}
            name={field}
            value={text[field]}
            onChange={(value) => setText((t) => ({ ...t, [field]: value }))}
            error={blamed === field ? configure.error?.message : null}
            required={!(onlyFirstTime && connection)}
          />
        ))}
        <SelectField
          label="Their role there"
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
