// "Run now": a form generated from the deployment's parameter schema, or a JSON editor when the
// deployment declares none. Submitting creates the run and opens its page to watch it live.
import { useMutation } from "@tanstack/react-query";
import { useMemo, useState, type FormEvent } from "react";
import { errorMessage, type Deployment } from "../api/client.ts";
import { useTRPC } from "../api/provider.tsx";
import { collectParameters, fieldsFromSchema, initialValues, type Field, type FormValue } from "../lib/schema-form.ts";
import { navigate } from "../router.tsx";
import "./run-form.css";

export function RunForm({ deployment, onDone }: { deployment: Deployment; onDone: () => void }) {
  const trpc = useTRPC();
  const defaults = (deployment.parameters ?? {}) as Record<string, unknown>;
  const fields = useMemo(() => fieldsFromSchema(deployment.parameterSchema), [deployment.parameterSchema]);
  const [values, setValues] = useState<Record<string, FormValue>>(() =>
    fields ? initialValues(fields, defaults) : {},
  );
  const [rawJson, setRawJson] = useState(() => JSON.stringify(defaults, null, 2));
  const [errors, setErrors] = useState<Record<string, string>>({});
  const run = useMutation(
    trpc.deployments.run.mutationOptions({
      onSuccess: (created) => {
        onDone();
        navigate(`/runs/${created.id}`);
      },
    }),
  );

  function submit(e: FormEvent) {
    e.preventDefault();
    if (fields) {
      const out = collectParameters(fields, values);
      if (!out.ok) {
        setErrors(out.errors);
        document.getElementById(`param-${Object.keys(out.errors)[0]}`)?.focus();
        return;
      }
      setErrors({});
      run.mutate({ id: deployment.id, parameters: out.parameters });
    } else {
      try {
        const parsed: unknown = rawJson.trim() ? JSON.parse(rawJson) : {};
        if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
          throw new Error("parameters must be a JSON object");
        setErrors({});
        run.mutate({ id: deployment.id, parameters: parsed as Record<string, unknown> });
      } catch (err) {
        setErrors({ __json: (err as Error).message });
        document.getElementById("param-json")?.focus();
      }
    }
  }

  return (
    <form className="run-form" onSubmit={submit} noValidate aria-describedby="run-form-help">
      <p id="run-form-help" className="muted small">
        Creates a run of <strong>{deployment.qualifiedName}</strong> now
        {deployment.workPoolName ? ` in pool “${deployment.workPoolName}”` : ""}. Values start from the deployment's
        defaults.
      </p>
      {fields ? (
        fields.length === 0 ? (
          <p className="muted">This flow takes no parameters.</p>
        ) : (
          fields.map((f) => (
            <ParamField
              key={f.name}
              field={f}
              value={values[f.name] ?? ""}
              error={errors[f.name]}
              onChange={(v) => setValues((s) => ({ ...s, [f.name]: v }))}
            />
          ))
        )
      ) : (
        <div className="field">
          <label htmlFor="param-json">Parameters (JSON object)</label>
          <textarea
            id="param-json"
            rows={8}
            value={rawJson}
            onChange={(e) => setRawJson(e.target.value)}
            spellCheck={false}
            aria-invalid={errors.__json ? true : undefined}
            aria-describedby={errors.__json ? "param-json-error" : undefined}
          />
          {errors.__json ? (
            <p id="param-json-error" className="field-error">
              {errors.__json}
            </p>
          ) : (
            <p className="muted small">
              This deployment has no parameter schema; declare one with a zod schema in the flow's `parameters` option
              to get a form.
            </p>
          )}
        </div>
      )}
      {run.error ? (
        <p className="field-error" role="alert">
          The run was not created: {errorMessage(run.error)}
        </p>
      ) : null}
      <div className="dialog-actions">
        <button type="button" className="button" onClick={onDone}>
          Cancel
        </button>
        <button type="submit" className="button primary" disabled={run.isPending}>
          {run.isPending ? "Starting…" : "Run now"}
        </button>
      </div>
    </form>
  );
}

function ParamField({
  field: f,
  value,
  error,
  onChange,
}: {
  field: Field;
  value: FormValue;
  error: string | undefined;
  onChange: (v: FormValue) => void;
}) {
  const id = `param-${f.name}`;
  const describedBy =
    [f.description ? `${id}-desc` : null, error ? `${id}-error` : null].filter(Boolean).join(" ") || undefined;
  const common = {
    id,
    name: f.name,
    "aria-invalid": error ? true : undefined,
    "aria-describedby": describedBy,
    required: f.required,
  } as const;
  const label = (
    <>
      {f.title}
      {f.required ? (
        <span aria-hidden="true" className="required">
          {" "}
          *
        </span>
      ) : (
        <span className="muted small"> (optional)</span>
      )}
      <span className="muted small kind"> {f.kind === "json" ? (f.jsonType ?? "JSON") : f.kind}</span>
    </>
  );
  if (f.kind === "boolean") {
    return (
      <div className="field">
        <label className="checkbox">
          <input type="checkbox" {...common} checked={value === true} onChange={(e) => onChange(e.target.checked)} />
          {label}
        </label>
        {f.description ? (
          <p id={`${id}-desc`} className="muted small">
            {f.description}
          </p>
        ) : null}
      </div>
    );
  }
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {f.kind === "enum" ? (
        <select {...common} value={String(value)} onChange={(e) => onChange(e.target.value)}>
          <option value="">{f.required ? "Choose…" : "(none)"}</option>
          {f.enumValues.map((v, i) => (
            <option key={i} value={String(i)}>
              {typeof v === "string" ? v : JSON.stringify(v)}
            </option>
          ))}
        </select>
      ) : f.kind === "json" ? (
        <textarea
          {...common}
          rows={4}
          spellCheck={false}
          value={String(value)}
          onChange={(e) => onChange(e.target.value)}
          placeholder={f.jsonType === "array" ? "[ ]" : "{ }"}
        />
      ) : (
        <input
          {...common}
          type={f.kind === "string" ? "text" : "number"}
          inputMode={f.kind === "integer" ? "numeric" : f.kind === "number" ? "decimal" : undefined}
          step={f.kind === "integer" ? 1 : f.kind === "number" ? "any" : undefined}
          min={f.minimum ?? undefined}
          max={f.maximum ?? undefined}
          value={String(value)}
          onChange={(e) => onChange(e.target.value)}
        />
      )}
      {f.description ? (
        <p id={`${id}-desc`} className="muted small">
          {f.description}
        </p>
      ) : null}
      {error ? (
        <p id={`${id}-error`} className="field-error">
          {error}
        </p>
      ) : null}
    </div>
  );
}
