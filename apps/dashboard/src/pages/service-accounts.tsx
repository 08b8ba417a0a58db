// Service accounts of this workspace (workers, CI) and their keys; admins only.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { isForbidden } from "../api/client.ts";
import { useTRPC } from "../api/provider.tsx";
import { ACTIONS_HEADER, DataTable } from "../components/data-table.tsx";
import {
  EmptyState,
  InputField,
  PageHeader,
  QueryList,
  RequestError,
  Section,
  SelectField,
} from "../components/ui.tsx";
import { useDocumentTitle } from "../lib/hooks.ts";

const ROLES = ["VIEWER", "DEVELOPER", "ADMIN"] as const;
const KEY_SCOPES = {
  VIEWER: ["READ"],
  DEVELOPER: ["READ", "WORKER", "DEVELOPER"],
  ADMIN: ["READ", "WORKER", "DEVELOPER", "ADMIN"],
} as const;

export function ServiceAccountsPage() {
  useDocumentTitle("Service accounts");
  const trpc = useTRPC();
  const qc = useQueryClient();
  const accounts = useQuery(trpc.serviceAccounts.list.queryOptions(undefined, { retry: false }));
  const refresh = () => void qc.invalidateQueries(trpc.serviceAccounts.list.pathFilter());
  const [name, setName] = useState("");
  const [role, setRole] = useState<(typeof ROLES)[number]>("DEVELOPER");
  const [newKey, setNewKey] = useState<{ account: string; key: string } | null>(null);
  const create = useMutation(
    trpc.serviceAccounts.create.mutationOptions({ onSuccess: () => (setName(""), refresh()) }),
  );
  const createKey = useMutation(
    trpc.serviceAccounts.createKey.mutationOptions({
      onSuccess: (res, input) => {
        setNewKey({ account: input.serviceAccount, key: res.key });
        refresh();
      },
    }),
  );
  const remove = useMutation(trpc.serviceAccounts.delete.mutationOptions({ onSuccess: refresh }));

  if (accounts.error && isForbidden(accounts.error))
    return (
      <>
        <PageHeader title="Service accounts" />
        <EmptyState title="Only admins manage service accounts" />
      </>
    );

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (name.trim()) create.mutate({ name: name.trim(), role });
  };
  return (
    <>
      <PageHeader
        title="Service accounts"
        subtitle="Members for workers and CI. Their keys never do more than the account's role, which can be lowered at any time."
      />
      {newKey ? (
        <div className="card reveal" role="region" aria-label="New service account key" data-testid="new-key">
          <h2>Copy the key for “{newKey.account}” now</h2>
          <p>It will not be shown again.</p>
          <div className="command">
            <code data-testid="new-key-value">{newKey.key}</code>
          </div>
          <button type="button" className="button small ghost" onClick={() => setNewKey(null)}>
            Done, I saved it
          </button>
        </div>
      ) : null}
      <Section title="Create a service account">
        <form className="inline-form" onSubmit={submit} aria-label="Create a service account">
          <InputField label="Name" value={name} onChange={setName} placeholder="e.g. ci" maxLength={100} />
          <SelectField
            label="Role"
            value={role}
            options={ROLES.map((r) => ({ value: r, label: r.toLowerCase() }))}
            onChange={(value) => setRole(value as (typeof ROLES)[number])}
          />
          <button type="submit" className="button primary" disabled={create.isPending || !name.trim()}>
            Create
          </button>
        </form>
        <RequestError error={create.error ?? createKey.error ?? remove.error} />
      </Section>
      <Section title="Accounts">
        <QueryList query={accounts}>
          {(rows) => (
            <DataTable
              rows={rows}
              rowKey={(a) => a.id}
              testId="service-accounts-table"
              columns={[
                { header: "Name", cell: (a) => a.name },
                { header: "Role", cell: (a) => a.role.toLowerCase() },
                {
                  header: "Keys",
                  cell: (a) =>
                    a.keys.length === 0 ? (
                      <span className="muted">none</span>
                    ) : (
                      a.keys.map((k) => (
                        <div key={k.id}>
                          <code>{k.prefix}</code> {k.name} ({k.scope.toLowerCase()})
                        </div>
                      ))
                    ),
                },
                {
                  header: ACTIONS_HEADER,
                  cellClassName: "actions",
                  cell: (a) => (
                    <>
                      {KEY_SCOPES[a.role].map((scope) => (
                        <button
                          key={scope}
                          type="button"
                          className="button small"
                          onClick={() =>
                            createKey.mutate({
                              serviceAccount: a.name,
                              name: `${a.name}-${scope.toLowerCase()}`,
                              scope,
                            })
                          }
                        >
                          New {scope.toLowerCase()} key
                        </button>
                      ))}
                      <button
                        type="button"
                        className="button small danger-outline"
                        onClick={() => remove.mutate({ name: a.name })}
                        aria-label={`Delete service account ${a.name}`}
                      >
                        Delete
                      </button>
                    </>
                  ),
                },
              ]}
            />
          )}
        </QueryList>
      </Section>
    </>
  );
}
