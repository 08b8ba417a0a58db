import type { Infrastructure } from "./types.ts";

/**
 * The infrastructure implementation for a pool type, configured from the environment the way each
 * platform's own tools are: DOCKER_HOST, the AWS SDK's chain (AWS_REGION, AWS_PROFILE,
 * AWS_ENDPOINT_URL_ECS, roles), and in-cluster service account or KUBECONFIG.
 *
 * Each implementation is imported only when its pool type is used: the Docker, AWS and Kubernetes
 * clients take a noticeable share of a CLI start, and a process worker needs none of them.
 */
export async function infrastructureFor(type: string): Promise<Infrastructure> {
  switch (type) {
    case "process":
      return new (await import("./process.ts")).ProcessInfrastructure();
    case "docker":
      return new (await import("./docker.ts")).DockerInfrastructure();
    case "ecs":
      return new (await import("./ecs.ts")).EcsInfrastructure();
    case "kubernetes":
      return new (await import("./kubernetes.ts")).KubernetesInfrastructure();
    default:
      throw new Error(`this worker cannot run ${type} pools`);
  }
}
