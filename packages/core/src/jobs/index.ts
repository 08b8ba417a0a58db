/**
 * Base job templates: how a work pool turns a flow run into a job on its infrastructure.
 *
 * ```ts
 * const template = defaultBaseJobTemplate("docker");
 * const job = resolveJobConfiguration(template, { image: "acme/etl:1.4", env: { STAGE: "prod" } }, { env: { DEBUG: "1" } });
 * if (job.ok) job.configuration; // { image: "acme/etl:1.4", env: { STAGE: "prod", DEBUG: "1" }, network_mode: "host", ... }
 * else job.errors;               // [{ path: "job_variables.imag", message: 'unknown variable "imag" (known: ...)', source: "deployment" }]
 * ```
 */
export {
  validateBaseJobTemplate,
  resolveJobConfiguration,
  MERGED_VARIABLES,
  type BaseJobTemplate,
  type BaseJobTemplateValidation,
  type JobTemplateIssue,
  type ResolvedJobConfiguration,
} from "./template.ts";
export {
  defaultBaseJobTemplate,
  isWorkPoolType,
  WORK_POOL_TYPES,
  DEFAULT_FLOW_RUN_IMAGE,
  type WorkPoolType,
} from "./defaults.ts";
export {
  checkValue as checkJsonValue,
  describeSchemaType,
  JSON_SCHEMA_TYPES,
  type JsonSchema,
  type JsonSchemaObject,
  type JsonSchemaType,
  type SchemaIssue,
} from "./json-schema.ts";
export { findPlaceholders, renderTemplate, type PlaceholderUse } from "./templating.ts";
export { commandArgv, CommandSyntaxError } from "./command.ts";
