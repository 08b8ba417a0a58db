// Secrets and variables of the workspace. Secret values go one way: typed into a password field and
// sent; the API never returns them, so this page shows names and metadata only.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { errorMessage } from "../api/client.ts";
import { useCurrentSession, useTRPC } from "../api/provider.tsx";
import { ErrorNote, PageHeader, RelativeTime, Section, Skeleton } from "../components/ui.tsx";
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

  return (
    <>
      <PageHeader
        title="Secrets & variables"
        subtitle={`Workspace “${session.workspace.name}”. Reference them as {{ secret.NAME }} and {{ variable.NAME }} in deployment parameters and job variables, or read them with getSecret() and getVariable().`}
      />
      <Section title="Secrets">
        <p className="muted small">
          Values are encrypted at rest and only given to flow runs and workers; nobody can read them here.
        </p>
        {canWrite ? (
          <form className="inline-form" onSubmit={submitSecret} data-testid="secret-form">
            <label className="field">
              <span>Name</span>
              <input name="secret-name" value={secretName} onChange={(e) => setSecretName(e.target.value)} required />
            </label>
            <label className="field">
              <span>Value</span>
              <input
                name="secret-value"
                type="password"
                autoComplete="off"
                value={secretValue}
                onChange={(e) => setSecretValue(e.target.value)}
                required
              />
            </label>
            <button type="submit" className="button primary" disabled={setSecret.isPending}>
              Save secret
            </button>
          </form>
        ) : null}
        {setSecret.error ? (
          <p className="field-error" role="alert">
            {errorMessage(setSecret.error)}
          </p>
        ) : null}
        {secrets.error ? <ErrorNote error={secrets.error} /> : null}
        {secrets.isPending ? (
          <Skeleton />
        ) : (
          <div className="table-wrap">
            <table className="table" data-testid="secrets-table">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Updated</th>
                  <th scope="col" className="hide-sm">
                    By
                  </th>
                  <th scope="col">Last read</th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {(secrets.data ?? []).map((s) => (
                  <tr key={s.name}>
                    <td>
                      <code>{s.name}</code>
                    </td>
                    <td>
                      <RelativeTime iso={s.updatedAt} />
                    </td>
                    <td className="hide-sm">{s.updatedBy?.name ?? "-"}</td>
                    <td>
                      <RelativeTime iso={s.lastReadAt} />
                    </td>
                    <td className="actions">
                      {canWrite ? (
                        <button
                          type="button"
                          className="button small danger-outline"
                          aria-label={`Delete secret ${s.name}`}
                          onClick={() => deleteSecret.mutate({ name: s.name })}
                        >
                          Delete
                        </button>
                      ) : null}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Section>
      <Section title="Variables">
        {canWrite ? (
          <form className="inline-form" onSubmit={submitVariable} data-testid="variable-form">
            <label className="field">
              <span>Name</span>
              <input
                name="variable-name"
                value={variableName}
                onChange={(e) => setVariableName(e.target.value)}
                required
              />
            </label>
            <label className="field">
              <span>Value (JSON)</span>
              <input
                name="variable-value"
                value={variableJson}
                onChange={(e) => setVariableJson(e.target.value)}
                placeholder='"eu-west-1" or {"cpu": 2}'
                required
              />
            </label>
            <button type="submit" className="button primary" disabled={setVariable.isPending}>
              Save variable
            </button>
          </form>
        ) : null}
        {(jsonError ?? setVariable.error) ? (
          <p className="field-error" role="alert">
            {jsonError ?? errorMessage(setVariable.error)}
          </p>
        ) : null}
        {variables.error ? <ErrorNote error={variables.error} /> : null}
        {variables.isPending ? (
          <Skeleton />
        ) : (
          <div className="table-wrap">
            <table className="table" data-testid="variables-table">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Value</th>
                  <th scope="col">Updated</th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {(variables.data ?? []).map((v) => (
                  <tr key={v.name}>
                    <td>
                      <code>{v.name}</code>
                    </td>
                    <td>
                      <code>{JSON.stringify(v.value)}</code>
                    </td>
                    <td>
                      <RelativeTime iso={v.updatedAt} />
                    </td>
                    <td className="actions">
                      {canWrite ? (
                        <button
                          type="button"
                          className="button small danger-outline"
                          aria-label={`Delete variable ${v.name}`}
                          onClick={() => deleteVariable.mutate({ name: v.name })}
                        >
                          Delete
                        </button>
                      ) : null}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Section>
    </>
  );
}
