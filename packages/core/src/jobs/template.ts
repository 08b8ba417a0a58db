// Base job templates: a work pool's job configuration with `{{ variable }}` placeholders, and the
// JSON Schema of those variables. The job a run gets is the configuration rendered with
//   schema defaults < the deployment's job variables < the run's job variables,
// where map variables (env, labels, tags) merge key by key instead of being replaced.
import {
  checkSchema,
  checkValue,
  isPlainObject,
  joinPath,
  type JsonSchema,
  type JsonSchemaObject,
  type SchemaIssue,
} from "./json-schema.ts";
import { findPlaceholders, renderTemplate, VARIABLE_NAME_RE } from "./templating.ts";

export interface BaseJobTemplate {
  jobConfiguration: Record<string, unknown>;
  variables: JsonSchemaObject;
}

export interface JobTemplateIssue extends SchemaIssue {
  /** Whose input is wrong: the pool's template, the deployment's or the run's job variables. */
  source: "template" | "deployment" | "run";
}

export type BaseJobTemplateValidation =
  { ok: true; template: BaseJobTemplate } | { ok: false; errors: JobTemplateIssue[] };

export type ResolvedJobConfiguration =
  | {
      ok: true;
      /** The rendered job configuration the worker launches. */
      configuration: Record<string, unknown>;
      /** Every variable that has a value after merging, by name. */
      variables: Record<string, unknown>;
    }
  | { ok: false; errors: JobTemplateIssue[] };

/** Object variables with these names merge key by key across layers instead of being replaced. */
export const MERGED_VARIABLES: readonly string[] = ["env", "labels", "tags"];

const fromTemplate = (issues: SchemaIssue[]): JobTemplateIssue[] => issues.map((i) => ({ ...i, source: "template" }));

/**
 * Checks a template from an untrusted source (`--base-job-template FILE`, the API). Also accepts
 * Prefect's snake_case `job_configuration`, so a Prefect template file works as it is; the result
 * always uses `jobConfiguration`.
 */
export function validateBaseJobTemplate(t: unknown): BaseJobTemplateValidation {
  if (!isPlainObject(t)) {
    return {
      ok: false,
      errors: fromTemplate([
        { path: "", message: "a base job template must be an object with jobConfiguration and variables" },
      ]),
    };
  }
  const issues: SchemaIssue[] = [];
  for (const key of Object.keys(t)) {
    if (!["jobConfiguration", "job_configuration", "variables"].includes(key)) {
      issues.push({ path: key, message: "unknown field (a base job template has jobConfiguration and variables)" });
    }
  }
  if (t.jobConfiguration !== undefined && t.job_configuration !== undefined) {
    issues.push({ path: "job_configuration", message: "give jobConfiguration or job_configuration, not both" });
  }
  const jobConfiguration = t.jobConfiguration ?? t.job_configuration;
  if (!isPlainObject(jobConfiguration)) {
    issues.push({
      path: "jobConfiguration",
      message: "must be an object mapping configuration keys to values or {{ placeholders }}",
    });
  }

  const variables = t.variables;
  const declared: string[] = [];
  if (!isPlainObject(variables)) {
    issues.push({
      path: "variables",
      message: 'must be a JSON Schema object: { "type": "object", "properties": { ... } }',
    });
  } else {
    if (variables.type !== "object") issues.push({ path: "variables.type", message: `must be "object"` });
    if (!isPlainObject(variables.properties)) {
      issues.push({ path: "variables.properties", message: "must be an object with one schema per variable" });
    } else {
      issues.push(...checkSchema(variables, "variables").filter((i) => i.path !== "variables.type"));
      for (const [name, schema] of Object.entries(variables.properties)) {
        const path = joinPath("variables.properties", name);
        if (!VARIABLE_NAME_RE.test(name)) {
          issues.push({
            path,
            message: "a variable name must start with a letter or _ and hold only letters, digits, _ and -",
          });
        }
        declared.push(name);
        if (isPlainObject(schema) && Object.hasOwn(schema, "default") && checkSchema(schema, path).length === 0) {
          issues.push(...checkValue(schema.default, schema as JsonSchema, joinPath(path, "default")));
        }
      }
      if (Array.isArray(variables.required)) {
        variables.required.forEach((name, i) => {
          if (typeof name === "string" && !declared.includes(name)) {
            issues.push({ path: `variables.required[${i}]`, message: `"${name}" is not a declared variable` });
          }
        });
      }
    }
  }

  if (isPlainObject(jobConfiguration) && isPlainObject(variables) && isPlainObject(variables.properties)) {
    for (const use of findPlaceholders(jobConfiguration, "jobConfiguration")) {
      if (!VARIABLE_NAME_RE.test(use.name)) {
        issues.push({ path: use.path, message: `invalid placeholder "${use.text}": expected {{ variable_name }}` });
      } else if (!declared.includes(use.name)) {
        issues.push({
          path: use.path,
          message: `placeholder "${use.text}" names no declared variable (declared: ${declared.join(", ") || "none"})`,
        });
      }
    }
  }

  if (issues.length > 0) return { ok: false, errors: fromTemplate(issues) };
  return {
    ok: true,
    template: {
      jobConfiguration: jobConfiguration as Record<string, unknown>,
      variables: variables as unknown as JsonSchemaObject,
    },
  };
}

function mergesKeyWise(name: string, schema: JsonSchema): boolean {
  if (!MERGED_VARIABLES.includes(name)) return false;
  const types = schema.type === undefined ? undefined : Array.isArray(schema.type) ? schema.type : [schema.type];
  return types === undefined || types.includes("object");
}

/**
 * The job configuration for one run. Unknown variable names, values of the wrong type and required
 * variables left without a value are errors (all of them, each naming the variable), so a typo in
 * `--job-var` fails the deployment instead of being ignored by the worker.
 */
export function resolveJobConfiguration(
  template: BaseJobTemplate,
  deploymentVariables: Record<string, unknown>,
  runVariables: Record<string, unknown>,
): ResolvedJobConfiguration {
  const checked = validateBaseJobTemplate(template);
  if (!checked.ok) return checked;
  const properties = checked.template.variables.properties;
  const known = Object.keys(properties);
  const layers = [
    ["deployment", deploymentVariables],
    ["run", runVariables],
  ] as const;

  const errors: JobTemplateIssue[] = [];
  for (const [source, vars] of layers) {
    if (!isPlainObject(vars)) {
      errors.push({ path: "job_variables", message: `the ${source}'s job variables must be an object`, source });
      continue;
    }
    for (const [name, value] of Object.entries(vars)) {
      if (value === undefined) continue;
      const path = joinPath("job_variables", name);
      const schema = Object.hasOwn(properties, name) ? properties[name] : undefined;
      if (!schema) {
        errors.push({ path, message: `unknown variable "${name}" (known: ${known.join(", ") || "none"})`, source });
      } else {
        errors.push(...checkValue(value, schema, path).map((i) => ({ ...i, source })));
      }
    }
  }
  if (errors.length > 0) return { ok: false, errors };

  const values: Record<string, unknown> = {};
  for (const [name, schema] of Object.entries(properties)) {
    if (Object.hasOwn(schema, "default") && schema.default !== undefined)
      values[name] = structuredClone(schema.default);
  }
  for (const [, vars] of layers) {
    for (const [name, value] of Object.entries(vars)) {
      if (value === undefined) continue;
      const current = values[name];
      const schema = properties[name] as JsonSchema;
      values[name] =
        mergesKeyWise(name, schema) && isPlainObject(current) && isPlainObject(value)
          ? { ...current, ...structuredClone(value) }
          : structuredClone(value);
    }
  }
  // A null in a merged map removes the key a lower layer set (unset a pool-wide env var for one run).
  for (const [name, schema] of Object.entries(properties)) {
    const value = values[name];
    if (mergesKeyWise(name, schema) && isPlainObject(value)) {
      values[name] = Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null && v !== undefined));
    }
  }

  for (const name of checked.template.variables.required ?? []) {
    if (values[name] === undefined) {
      errors.push({
        path: joinPath("job_variables", name),
        message: `required variable "${name}" has no value (set it in the deployment's or the run's job variables)`,
        // Required variables are per-deployment settings (an image, a cluster) in practice.
        source: "deployment",
      });
    }
  }
  if (errors.length > 0) return { ok: false, errors };

  const configuration = renderTemplate(checked.template.jobConfiguration, values) as Record<string, unknown>;
  return { ok: true, configuration, variables: values };
}
