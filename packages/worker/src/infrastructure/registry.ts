import { ProcessInfrastructure } from "./process.ts";
import type { Infrastructure } from "./types.ts";

/** The infrastructure implementation for a pool type. */
export function infrastructureFor(type: string): Infrastructure {
  switch (type) {
    case "process":
      return new ProcessInfrastructure();
    default:
      throw new Error(`this worker cannot run ${type} pools yet`);
  }
}
