/**
 * @flowplane/steps — build, push and pull steps: how a deployment's code reaches workers in other
 * networks. `flowplane deploy` validates the step lists of flowplane.yaml and runs build and push
 * (prepareDelivery); the runner runs the stored pull steps before every flow run (runSteps), with
 * caches under $FLOWPLANE_HOME/cache. Bundled into the `flowplane` CLI; never a dependency of the SDK.
 *
 * ```ts
 * const steps = parseStepList(doc.pull, "pull", "pull");
 * const { cwd, outputs } = await runSteps(steps, "pull", { cwd: process.cwd(), home, env: process.env, log: console.log });
 * ```
 */
export { Cache, type CacheEntry, type CacheOptions } from "./cache.ts";
export { CommandError } from "./command.ts";
export { codeVersionOf, prepareDelivery, type Delivery, type DeliveryInput } from "./delivery.ts";
export { gitProject, publicUrl, type GitProject } from "./git.ts";
export { detectPackageManager, type PackageManager } from "./install.ts";
export { runSteps, StepFailedError, type StepContext, type StepSecrets, type StepsResult } from "./run-steps.ts";
export {
  parseStepList,
  STEP_ARGUMENTS,
  STEP_NAMES,
  STEP_OUTPUTS,
  StepSpecError,
  stepOf,
  type Phase,
  type Step,
  type StepName,
  type StepSpec,
} from "./schema.ts";
