import { z } from "zod";
import { registerRunKey } from "./engine/common.ts";
import {
  effectiveParameterSchema,
  runFlow,
  type FlowDefinition,
  type FlowValue,
  type RunFlowOptions,
} from "./engine/run-flow.ts";
import { checkRunOptions, type FlowOptions } from "./options.ts";

export type JsonSchema = Record<string, unknown>;

export interface Flow<Args extends unknown[], R> {
  /**
   * Runs the flow: a new flow run, or a sub-flow run when called inside another flow run. A
   * returned future (or array of futures) is resolved to its value; a failed one fails the run.
   */
  (...args: Args): Promise<FlowValue<Awaited<R>>>;
  readonly name: string;
  readonly options: Readonly<FlowOptions>;
  /** JSON Schema of the parameters (from the `parameters` zod schema), or undefined without one. */
  parameterJsonSchema(): JsonSchema | undefined;
  /** The same flow with some options changed. */
  withOptions(options: Partial<FlowOptions>): Flow<Args, R>;
}

/** Parameters tuple of a flow with a schema: optional when every field of the schema is. */
type SchemaArgs<S extends z.ZodType> = {} extends z.input<S> ? [params?: z.input<S>] : [params: z.input<S>];

/**
 * Wraps a function as a flow. With a `parameters` zod schema, the function receives the parsed
 * parameters (its argument type comes from the schema) and callers pass the schema's input type.
 */
export function flow<S extends z.ZodType, R>(
  options: FlowOptions & { parameters: S },
  fn: (params: z.output<S>) => R,
): Flow<SchemaArgs<S>, R>;
export function flow<Args extends unknown[], R>(
  options: FlowOptions & { parameters?: undefined },
  fn: (...args: Args) => R,
): Flow<Args, R>;
export function flow(options: FlowOptions, fn: (...args: unknown[]) => unknown): Flow<unknown[], unknown> {
  return makeFlow(options, fn, registerRunKey(options.name, fn));
}

const FLOW_DEFINITION = Symbol("flowplane.flowDefinition");

function makeFlow<Args extends unknown[], R>(
  options: FlowOptions,
  fn: (...args: Args) => R,
  flowKey: string,
): Flow<Args, R> {
  checkRunOptions("flow", options);
  const frozen = Object.freeze({ ...options, ...(options.tags ? { tags: Object.freeze([...options.tags]) } : {}) });
  const parameterSchema = options.parameters && effectiveParameterSchema(options.parameters);
  const def: FlowDefinition<Args, R> = {
    fn,
    options: frozen,
    flowKey,
    tags: [...(options.tags ?? [])],
    ...(parameterSchema !== undefined ? { parameterSchema } : {}),
  };
  const callable = (...args: Args): Promise<FlowValue<Awaited<R>>> => runFlow(def, args);
  Object.defineProperty(callable, "name", { value: options.name });
  Object.defineProperty(callable, FLOW_DEFINITION, { value: def });
  return Object.assign(callable, {
    options: frozen,
    parameterJsonSchema(): JsonSchema | undefined {
      // Callers supply the schema's input (before defaults and transforms), so describe that.
      return parameterSchema === undefined
        ? undefined
        : z.toJSONSchema(parameterSchema, { io: "input", unrepresentable: "any" });
    },
    withOptions(changes: Partial<FlowOptions>): Flow<Args, R> {
      return makeFlow({ ...options, ...changes }, fn, flowKey);
    },
  }) as Flow<Args, R>;
}

/**
 * Runs a flow with engine-level options — for the process runner, which executes an existing flow
 * run (`flowRunId`) that a worker launched. `args` are the flow's call arguments; for a stored
 * parameters record use argsFromParameters().
 */
export function runFlowWith<Args extends unknown[], R>(
  flowFn: Flow<Args, R>,
  args: Args,
  options: RunFlowOptions,
): Promise<FlowValue<Awaited<R>>> {
  const def = (flowFn as unknown as { [FLOW_DEFINITION]?: FlowDefinition<Args, R> })[FLOW_DEFINITION];
  if (def === undefined) throw new TypeError("runFlowWith: not a flow created by flow()");
  return runFlow(def, args, options);
}
