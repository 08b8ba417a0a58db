// A stored step split into its parts. Apart from schema.ts, so that running steps (the runner,
// before every flow run) does not load the schema's validator.
import type { StepName } from "./schema.ts";

/** A step split into its name, id and arguments. */
export interface Step {
  name: StepName;
  id: string | null;
  args: Record<string, unknown>;
}

/** The name, id and arguments of a stored step (already validated). */
export function stepOf(spec: Record<string, unknown>): Step {
  const name = Object.keys(spec).find((k) => k !== "id") as StepName;
  return {
    name,
    id: typeof spec["id"] === "string" ? spec["id"] : null,
    args: (spec[name] ?? {}) as Record<string, unknown>,
  };
}
