// Secrets and variables of the workspace. Secret values go one way: typed into a password field and
// sent; the API never returns them, so this page shows names and metadata only.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useCurrentSession, useTRPC } from "../api/provider.tsx";
import { ACTIONS_HEADER, DataTable, type Column } from "../components/data-table.tsx";
import { InputField, PageHeader, QueryList, RelativeTime, RequestError, Section } from "../components/ui.tsx";
import { useDocumentTitle } from "../lib/hooks.ts";

export function SecretsPage() {
  useDocumentTitle("Secrets & variables");
  const trpc = useTRPC();
  const session = useCurrentSession();
  const qc = useQueryClient();
  const secrets = useQuery(trpc.secrets.list.queryOptions());
  const variables = useQuery(trpc.variables.list.queryOptions());
  const [secretName, setSecretName] = useState("");
  const [secretValue, setSecretValue] = useState("");
  const [variableName, setVariableName] = useState("");
  const [variableJson, setVariableJson] = useState("");
  const [jsonError, setJsonError] = useState<string | null>(null);

  const setSecret = useMutation(
    trpc.secrets.set.mutationOptions({
      onSuccess: () => {
        // The value leaves the page's state as soon as the server has it.
        setSecretName("");
        setSecretValue("");
        void qc.invalidateQueries(trpc.secrets.list.pathFilter());
      },
    }),
  );
  // Whether `flowplane deploy` may read a secret for build and push steps: workspace admins decide.
  const setAllowDeploy = useMutation(
    trpc.secrets.setAllowDeploy.mutationOptions({
      onSuccess: () => void qc.invalidateQueries(trpc.secrets.list.pathFilter()),
    }),
  );
  const deleteSecret = useMutation(
    trpc.secrets.delete.mutationOptions({
      onSuccess: () => void qc.invalidateQueries(trpc.secrets.list.pathFilter()),
    }),
  );
  const setVariable = useMutation(
    trpc.variables.set.mutationOptions({
      onSuccess: () => {
        setVariableName("");
        setVariableJson("");
        void qc.invalidateQueries(trpc.variables.list.pathFilter());
      },
    }),
  );
  const deleteVariable = useMutation(
    trpc.variables.delete.mutationOptions({
      onSuccess: () => void qc.invalidateQueries(trpc.variables.list.pathFilter()),
    }),
  );
  type VariableValue = Parameters<typeof setVariable.mutate>[0]["value"];

  const submitSecret = (e: FormEvent) => {
    e.preventDefault();
    if (secretName.trim() && secretValue) setSecret.mutate({ name: secretName.trim(), value: secretValue });
  };
  const submitVariable = (e: FormEvent) => {
    e.preventDefault();
    try {
      setJsonError(null);
      setVariable.mutate({ name: variableName.trim(), value: JSON.parse(variableJson) as VariableValue });
    } catch (err) {
      setJsonError(`value: not valid JSON (${(err as Error).message})`);
    }
  };
  const canWrite = session.scope === "DEVELOPER" || session.scope === "ADMIN";
  const isAdmin = session.scope === "ADMIN";

  return (
    <>
      <PageHeader
        title="Secrets & variables"
        subtitle={`Workspace “${session.workspace.name}”. Reference them as {{ secret.NAME }} and {{ variable.NAME }} in deployment parameters and job variables, or read them with getSecret() and getVariable().`}
      />
      <Section title="Secrets">
        <p className="muted small">
          Values are encrypted at rest and only given to flow runs and workers; nobody can read them here. A workspace
          admin may also allow one at deploy, for the build and push steps of <code>flowplane deploy</code> (a registry
          password, say).
        </p>
        {canWrite ? (
          <form className="inline-form" onSubmit={submitSecret} data-testid="secret-form">
            <InputField label="Name" name="secret-name" value={secretName} onChange={setSecretName} required />
            <InputField
              label="Value"
              name="secret-value"
              type="password"
              autoComplete="off"
              value={secretValue}
              onChange={setSecretValue}
              required
            />
            <button type="submit" className="button primary" disabled={setSecret.isPending}>
              Save secret
            </button>
          </form>
        ) : null}
        <RequestError error={setSecret.error ?? setAllowDeploy.error} />
        <QueryList query={secrets}>
          {(rows) => (
            <DataTable
              rows={rows}
              rowKey={(row) => row.name}
              testId="secrets-table"
              columns={[
                { header: "Name", cell: (row) => <code>{row.name}</code> },
                { header: "Updated", cell: (row) => <RelativeTime iso={row.updatedAt} /> },
                { header: "By", className: "hide-sm", cell: (row) => row.updatedBy?.name ?? "-" },
                { header: "Last read", cell: (row) => <RelativeTime iso={row.lastReadAt} /> },
                {
                  header: "At deploy",
                  cell: (row) =>
                    isAdmin ? (
                      <label className="small">
                        <input
                          type="checkbox"
                          checked={row.allowDeploy}
                          disabled={setAllowDeploy.isPending}
                          aria-label={`Allow ${row.name} at deploy`}
                          onChange={(e) => setAllowDeploy.mutate({ name: row.name, allowDeploy: e.target.checked })}
                        />{" "}
                        allowed
                      </label>
                    ) : row.allowDeploy ? (
                      "allowed"
                    ) : (
                      "-"
                    ),
                },
                deleteColumn("secret", canWrite, (name) => deleteSecret.mutate({ name })),
              ]}
            />
          )}
        </QueryList>
      </Section>
      <Section title="Variables">
        {canWrite ? (
          <form className="inline-form" onSubmit={submitVariable} data-testid="variable-form">
            <InputField label="Name" name="variable-name" value={variableName} onChange={setVariableName} required />
            <InputField
              label="Value (JSON)"
              name="variable-value"
              value={variableJson}
              onChange={setVariableJson}
              placeholder='"eu-west-1" or {"cpu": 2}'
              required
            />
            <button type="submit" className="button primary" disabled={setVariable.isPending}>
              Save variable
            </button>
          </form>
        ) : null}
        <RequestError error={jsonError ?? setVariable.error} />
        <QueryList query={variables}>
          {(rows) => (
            <DataTable
              rows={rows}
              rowKey={(row) => row.name}
              testId="variables-table"
              columns={[
                { header: "Name", cell: (row) => <code>{row.name}</code> },
                { header: "Value", cell: (row) => <code>{JSON.stringify(row.value)}</code> },
                { header: "Updated", cell: (row) => <RelativeTime iso={row.updatedAt} /> },
                deleteColumn("variable", canWrite, (name) => deleteVariable.mutate({ name })),
              ]}
            />
          )}
        </QueryList>
      </Section>
    </>
  );
}

/** The actions column of a list of named things: a Delete button per row, for those who may write. */
function deleteColumn(kind: string, canWrite: boolean, onDelete: (name: string) => void): Column<{ name: string }> {
  return {
    header: ACTIONS_HEADER,
    cellClassName: "actions",
    cell: (row) =>
      canWrite ? (
        <button
          type="button"
          className="button small danger-outline"
          aria-label={`Delete ${kind} ${row.name}`}
          onClick={() => onDelete(row.name)}
        >
          Delete
        </button>
      ) : null,
  };
}
