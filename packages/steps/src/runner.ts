/**
 * @flowplane/steps/runner — what the runner needs before every flow run: running pull steps, with
 * none of deploy's validation (so the run's start does not load it).
 *
 * ```ts
 * const { cwd } = await runSteps(pullSteps, "pull", { cwd: process.cwd(), home, env: process.env, log });
 * process.chdir(cwd);
 * ```
 */
export { runSteps, StepFailedError, type StepContext, type StepsResult } from "./run-steps.ts";
