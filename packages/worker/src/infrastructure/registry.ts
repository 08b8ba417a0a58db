import { DockerInfrastructure } from "./docker.ts";
import { EcsInfrastructure } from "./ecs.ts";
import { KubernetesInfrastructure } from "./kubernetes.ts";
import { ProcessInfrastructure } from "./process.ts";
import type { Infrastructure } from "./types.ts";

/**
 * The infrastructure implementation for a pool type, configured from the environment the way each
 * platform's own tools are: DOCKER_HOST, the AWS SDK's chain (AWS_REGION, AWS_PROFILE,
 * AWS_ENDPOINT_URL_ECS, roles), and in-cluster service account or KUBECONFIG.
 */
export function infrastructureFor(type: string): Infrastructure {
  switch (type) {
    case "process":
      return new ProcessInfrastructure();
    case "docker":
      return new DockerInfrastructure();
    case "ecs":
      return new EcsInfrastructure();
    case "kubernetes":
      return new KubernetesInfrastructure();
    default:
      throw new Error(`this worker cannot run ${type} pools`);
  }
}
