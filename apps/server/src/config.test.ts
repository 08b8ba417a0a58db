import { describe, expect, it } from "vitest";
import { loadServerConfig } from "./config.ts";

describe("server configuration", () => {
  it("rejects a liveness sweep rarer than the run heartbeat timeout it enforces, naming both variables", () => {
    expect(() =>
      loadServerConfig({}, { FLOWPLANE_RUN_HEARTBEAT_TIMEOUT_SECONDS: "5", FLOWPLANE_LIVENESS_INTERVAL_MS: "10000" }),
    ).toThrow(
      /FLOWPLANE_LIVENESS_INTERVAL_MS \(10000\) must not exceed FLOWPLANE_RUN_HEARTBEAT_TIMEOUT_SECONDS \(5 s\)/,
    );
  });

  it("rejects timeouts too short to be met, naming the variable", () => {
    expect(() => loadServerConfig({}, { FLOWPLANE_RUN_HEARTBEAT_TIMEOUT_SECONDS: "0.5" })).toThrow(
      /FLOWPLANE_RUN_HEARTBEAT_TIMEOUT_SECONDS must be at least 1/,
    );
    expect(() => loadServerConfig({}, { FLOWPLANE_CLAIM_TIMEOUT_SECONDS: "0" })).toThrow(
      /FLOWPLANE_CLAIM_TIMEOUT_SECONDS must be at least 1/,
    );
  });

  it("accepts the defaults and a short timeout with a matching sweep (runs are told to heartbeat at a sixth of it)", () => {
    expect(loadServerConfig({}, {}).runHeartbeatTimeoutSeconds).toBe(90);
    expect(
      loadServerConfig({}, { FLOWPLANE_RUN_HEARTBEAT_TIMEOUT_SECONDS: "3", FLOWPLANE_LIVENESS_INTERVAL_MS: "300" })
        .runHeartbeatTimeoutSeconds,
    ).toBe(3);
  });
});
