import { describe, expect, it } from "vitest";
import { resolveConnectionSync } from "./profile.ts";
import { runTokenExpiry } from "./run-token.ts";

const payload = (claims: object) => Buffer.from(JSON.stringify(claims)).toString("base64url");

describe("a run's connection", () => {
  it("uses FLOWPLANE_RUN_TOKEN as the bearer credential when present, over FLOWPLANE_API_KEY and any profile", () => {
    const env = {
      FLOWPLANE_HOME: "/nonexistent-flowplane-home",
      FLOWPLANE_API_URL: "http://127.0.0.1:4200/",
      FLOWPLANE_API_KEY: "fp_000000000000_leftover-key-of-somebody-elses-env",
      FLOWPLANE_RUN_TOKEN: "fpr_a.b.c",
    };
    expect(resolveConnectionSync({ env })).toEqual({
      apiUrl: "http://127.0.0.1:4200",
      apiKey: "fpr_a.b.c",
      workspace: null,
      runToken: true,
    });
    const { FLOWPLANE_RUN_TOKEN: _token, ...withoutToken } = env;
    expect(resolveConnectionSync({ env: withoutToken })).toMatchObject({ apiKey: env.FLOWPLANE_API_KEY });
    expect(resolveConnectionSync({ env: withoutToken })?.runToken).toBeUndefined();
  });

  it("reads a run token's expiry from its payload, and null from anything else", () => {
    expect(runTokenExpiry(`fpr_h.${payload({ exp: 1_900_000_000 })}.s`)).toEqual(new Date(1_900_000_000_000));
    expect(runTokenExpiry("fpr_not-a-jwt")).toBeNull();
    expect(runTokenExpiry(`fpr_h.${payload({ sub: "x" })}.s`)).toBeNull();
  });
});
