/**
 * @flowplane/worker — pull-based workers and the infrastructure they launch runs on.
 *
 * ```ts
 * const worker = new Worker({ api, connection, poolName: "local", infrastructure: new ProcessInfrastructure() });
 * process.on("SIGTERM", () => worker.stop());
 * await worker.run();
 * ```
 */
export { Worker, defaultRunnerCommand, type WorkerOptions } from "./worker.ts";
export { ProcessInfrastructure } from "./infrastructure/process.ts";
export { DockerInfrastructure } from "./infrastructure/docker.ts";
export { EcsInfrastructure } from "./infrastructure/ecs.ts";
export { KubernetesInfrastructure } from "./infrastructure/kubernetes.ts";
export {
  InfrastructureError,
  type Infrastructure,
  type JobSpec,
  type RunningJob,
  type ExitResult,
} from "./infrastructure/types.ts";
export { infrastructureFor } from "./infrastructure/registry.ts";
