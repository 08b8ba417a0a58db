import { describe, expect, it } from "vitest";
import { findReferences, resolveReferences } from "./references.ts";

describe("secret and variable references", () => {
  const value = {
    url: "postgres://app:{{ secret.DB_PASSWORD }}@db/{{variable.db_name}}",
    token: "{{ secret.API_TOKEN }}",
    limits: ["{{ variable.limits }}", 3],
    env: { REGION: "{{ variable.region }}", PLAIN: "{{ not.a.reference }}" },
  };

  it("finds every name once, sorted", () => {
    expect(findReferences(value)).toEqual({
      secrets: ["API_TOKEN", "DB_PASSWORD"],
      variables: ["db_name", "limits", "region"],
    });
    expect(findReferences({ a: 1, b: null, c: "{{ image }}" })).toEqual({ secrets: [], variables: [] });
  });

  it("an exact reference takes the value itself; an embedded one is interpolated as text", () => {
    const resolved = resolveReferences(value, {
      secrets: { DB_PASSWORD: "pw", API_TOKEN: "tok" },
      variables: { db_name: "warehouse", limits: { cpu: 2 }, region: "eu" },
    });
    expect(resolved).toEqual({
      url: "postgres://app:pw@db/warehouse",
      token: "tok",
      limits: [{ cpu: 2 }, 3],
      env: { REGION: "eu", PLAIN: "{{ not.a.reference }}" },
    });
    // The input is left as written (it is what the run stores).
    expect(value.token).toBe("{{ secret.API_TOKEN }}");
  });

  it("a name that was not resolved is an error, not an empty string", () => {
    expect(() => resolveReferences("{{ secret.MISSING }}", { secrets: {}, variables: {} })).toThrow(
      'secret "MISSING" was not resolved',
    );
  });
});
