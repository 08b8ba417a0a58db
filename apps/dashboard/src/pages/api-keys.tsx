import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef, useState, type FormEvent } from "react";
import { isForbidden, type ApiKeyRow } from "../api/client.ts";
import { useCurrentSession, useTRPC } from "../api/provider.tsx";
import { ConfirmDialog } from "../components/confirm.tsx";
import { ACTIONS_HEADER, DataTable } from "../components/data-table.tsx";
import {
  EmptyState,
  InputField,
  PageHeader,
  QueryList,
  RelativeTime,
  RequestError,
  Section,
  SelectField,
} from "../components/ui.tsx";
import { formatTime } from "../lib/format.ts";
import { useDocumentTitle } from "../lib/hooks.ts";
import "./api-keys.css";

const SCOPES = [
  { value: "READ", label: "Read", help: "Read keys can view runs, logs and pools" },
  { value: "WORKER", label: "Worker", help: "Worker keys run workers: they claim runs and report states and logs" },
  { value: "DEVELOPER", label: "Developer", help: "Developer keys can deploy, run, cancel and manage pools" },
  { value: "ADMIN", label: "Admin", help: "Admin keys can do everything, including managing API keys" },
] as const;
type Scope = (typeof SCOPES)[number]["value"];

export function ApiKeysPage() {
  useDocumentTitle("API keys");
  const trpc = useTRPC();
  const session = useCurrentSession();
  const qc = useQueryClient();
  const keys = useQuery(trpc.apiKeys.list.queryOptions(undefined, { retry: false }));
  // Which key this session came from: it cannot revoke itself.
  const me = useQuery(trpc.auth.whoami.queryOptions(undefined, { staleTime: Infinity }));
  const ownKeyId = me.data?.apiKeyId ?? null;
  const [name, setName] = useState("");
  const [scope, setScope] = useState<Scope>("DEVELOPER");
  const [expires, setExpires] = useState("");
  const [created, setCreated] = useState<{ key: string; name: string } | null>(null);
  const [revoking, setRevoking] = useState<ApiKeyRow | null>(null);
  const revealRef = useRef<HTMLDivElement>(null);
  const [copied, setCopied] = useState(false);

  const create = useMutation(
    trpc.apiKeys.create.mutationOptions({
      onSuccess: (res) => {
        setCreated({ key: res.key, name: res.apiKey.name });
        setCopied(false);
        setName("");
        setExpires("");
        void qc.invalidateQueries(trpc.apiKeys.list.pathFilter());
      },
    }),
  );
  // A new key's reveal takes focus, so screen readers read it out and keyboards land on "Copy".
  useEffect(() => {
    if (created) revealRef.current?.focus();
  }, [created]);
  const revoke = useMutation(
    trpc.apiKeys.revoke.mutationOptions({
      onSuccess: () => {
        setRevoking(null);
        void qc.invalidateQueries(trpc.apiKeys.list.pathFilter());
      },
    }),
  );

  if (keys.error && isForbidden(keys.error)) {
    return (
      <>
        <PageHeader title="API keys" />
        <EmptyState title="Only admins manage API keys">
          <p>
            You signed in with a {session.scope.toLowerCase()} key. Sign in with an admin key of workspace “
            {session.workspace.name}” to create or revoke keys.
          </p>
        </EmptyState>
      </>
    );
  }

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (name.trim())
      create.mutate({ name: name.trim(), scope, ...(expires ? { expiresInDays: Number(expires) } : {}) });
  };

  return (
    <>
      <PageHeader
        title="API keys"
        subtitle={`Keys of workspace “${session.workspace.name}”. A key is shown once, when it is created; only its hash is stored.`}
      />
      {created ? (
        <div
          className="card reveal"
          ref={revealRef}
          tabIndex={-1}
          role="region"
          aria-label="New API key"
          data-testid="new-key"
        >
          <h2>Copy the key for “{created.name}” now</h2>
          <p>It will not be shown again.</p>
          <div className="command">
            <code data-testid="new-key-value">{created.key}</code>
            <button
              type="button"
              className="button small"
              onClick={() => {
                void navigator.clipboard?.writeText(created.key).then(() => setCopied(true));
              }}
            >
              {copied ? "Copied" : "Copy"}
            </button>
          </div>
          <p className="muted small">
            Use it with <code>pnpm flowplane login --url {location.origin} --key …</code> or{" "}
            <code>FLOWPLANE_API_KEY</code>.
          </p>
          <button type="button" className="button small ghost" onClick={() => setCreated(null)}>
            Done, I saved it
          </button>
        </div>
      ) : null}
      <Section title="Create a key">
        <form className="inline-form" onSubmit={submit}>
          <InputField
            label="Name"
            type="text"
            name="name"
            value={name}
            onChange={setName}
            required
            placeholder="e.g. ci-deploy"
            maxLength={200}
          />
          <SelectField
            label="Scope"
            name="scope"
            value={scope}
            options={SCOPES}
            onChange={(value) => setScope(value as Scope)}
            aria-describedby="scope-help"
          />
          <InputField
            label="Expires in (days)"
            type="number"
            name="expires"
            min={1}
            max={3650}
            step={1}
            value={expires}
            onChange={setExpires}
            placeholder="never"
          />
          <button type="submit" className="button primary" disabled={create.isPending || !name.trim()}>
            {create.isPending ? "Creating…" : "Create key"}
          </button>
        </form>
        <p id="scope-help" className="muted small">
          {SCOPES.find((s) => s.value === scope)?.help}.
        </p>
        <RequestError error={create.error} />
      </Section>
      <Section title="Keys">
        <QueryList query={keys}>
          {(rows) => (
            <DataTable
              rows={rows}
              rowKey={(k) => k.id}
              rowProps={(k) => ({ "data-key-name": k.name })}
              testId="keys-table"
              columns={[
                {
                  header: "Name",
                  cell: (k) => (
                    <>
                      {k.name}
                      {k.id === ownKeyId ? <span className="muted small"> (this session)</span> : null}
                    </>
                  ),
                },
                { header: "Prefix", cell: (k) => <code>{k.prefix}</code> },
                { header: "Scope", cell: (k) => k.scope.toLowerCase() },
                {
                  header: "Status",
                  cell: (k) => (
                    <span className={`status-pill ${k.status === "active" ? "active" : "offline"}`}>{k.status}</span>
                  ),
                },
                { header: "Last used", className: "hide-sm", cell: (k) => <RelativeTime iso={k.lastUsedAt} /> },
                {
                  header: "Expires",
                  className: "hide-md",
                  cell: (k) => (k.expiresAt ? formatTime(k.expiresAt) : <span className="muted">never</span>),
                },
                { header: "Created", className: "hide-md", cell: (k) => <RelativeTime iso={k.createdAt} /> },
                {
                  header: ACTIONS_HEADER,
                  cellClassName: "actions",
                  cell: (k) =>
                    k.status === "active" && k.id !== ownKeyId ? (
                      <button
                        type="button"
                        className="button small danger-outline"
                        onClick={() => setRevoking(k)}
                        aria-label={`Revoke key ${k.name}`}
                      >
                        Revoke
                      </button>
                    ) : null,
                },
              ]}
            />
          )}
        </QueryList>
      </Section>
      <ConfirmDialog
        open={revoking !== null}
        title={`Revoke “${revoking?.name ?? ""}”?`}
        confirmLabel="Revoke key"
        danger
        busy={revoke.isPending}
        onConfirm={() => revoking && revoke.mutate({ id: revoking.id })}
        onCancel={() => {
          setRevoking(null);
          revoke.reset();
        }}
      >
        <p>Anything using this key — CLIs, workers, CI — stops working at once. This cannot be undone.</p>
        <RequestError error={revoke.error} />
      </ConfirmDialog>
    </>
  );
}
