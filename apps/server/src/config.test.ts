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

  it("rejects a run token lifetime longer than any token may live, or too short to renew, naming the variables", () => {
    expect(loadServerConfig({}, {}).runTokenTtlSeconds).toBe(900);
    expect(() =>
      loadServerConfig({}, { FLOWPLANE_RUN_TOKEN_TTL_SECONDS: "7200", FLOWPLANE_MAX_TOKEN_TTL_SECONDS: "3600" }),
    ).toThrow(/FLOWPLANE_RUN_TOKEN_TTL_SECONDS \(7200\) must not exceed FLOWPLANE_MAX_TOKEN_TTL_SECONDS \(3600\)/);
    expect(() => loadServerConfig({}, { FLOWPLANE_RUN_TOKEN_TTL_SECONDS: "1" })).toThrow(
      /FLOWPLANE_RUN_TOKEN_TTL_SECONDS must be at least 2/,
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

// The protective limits are on unless configured off: a server started with no configuration
// rate-limits each key, schedules requests between workspaces and bounds request bodies.
describe("loadServerConfig", () => {
  it("turns the rate limit, request scheduling and the body limit on by default", () => {
    const config = loadServerConfig({}, {});
    expect(config.rateLimitPerSecond).toBe(300);
    expect(config.rateLimitBurst).toBe(600);
    expect(config.requestConcurrency).toBeGreaterThanOrEqual(2);
    expect(config.maxBodyBytes).toBe(10 * 1024 * 1024);
    expect(config.metricsToken).toBeNull();
    expect(config.serveSourceMaps).toBe(false);
  });

  it("turns them off with 0 and names a bad value", () => {
    const config = loadServerConfig({}, { FLOWPLANE_RATE_LIMIT_PER_SECOND: "0", FLOWPLANE_REQUEST_CONCURRENCY: "0" });
    expect(config.rateLimitPerSecond).toBe(0);
    expect(config.requestConcurrency).toBe(0);
    expect(() => loadServerConfig({}, { FLOWPLANE_MAX_BODY_BYTES: "ten" })).toThrow(
      'FLOWPLANE_MAX_BODY_BYTES must be a non-negative number, got "ten"',
    );
    expect(() => loadServerConfig({}, { FLOWPLANE_SERVE_SOURCE_MAPS: "yes" })).toThrow(
      'FLOWPLANE_SERVE_SOURCE_MAPS must be true or false, got "yes"',
    );
  });
});
