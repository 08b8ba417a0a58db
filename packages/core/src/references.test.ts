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
      env: [],
      outputs: ["not.a.reference"],
    });
    expect(findReferences({ a: 1, b: null, c: "{{ image }}" })).toEqual({
      secrets: [],
      variables: [],
      env: [],
      outputs: [],
    });
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

describe("env and step-output references (flowplane.yaml steps)", () => {
  const step = {
    git_clone: {
      repository: "https://{{ env.GIT_USER }}:{{ secret.GIT_TOKEN }}@git.example/app.git",
      commit: "{{ build-image.image }}",
      depth: "{{ pull-code.depth }}",
    },
  };

  it("finds env names and step outputs beside secrets", () => {
    expect(findReferences(step)).toEqual({
      secrets: ["GIT_TOKEN"],
      variables: [],
      env: ["GIT_USER"],
      outputs: ["build-image.image", "pull-code.depth"],
    });
  });

  it("resolves only the kinds it is given; the others stay as written", () => {
    const partly = resolveReferences(step, { secrets: { GIT_TOKEN: "t" }, variables: {}, env: { GIT_USER: "me" } });
    expect(partly).toEqual({
      git_clone: {
        repository: "https://me:t@git.example/app.git",
        commit: "{{ build-image.image }}",
        depth: "{{ pull-code.depth }}",
      },
    });
    const all = resolveReferences(partly, {
      secrets: {},
      variables: {},
      outputs: { "build-image.image": "registry/app:abc", "pull-code.depth": 1 },
    });
    expect(all).toEqual({
      git_clone: { repository: "https://me:t@git.example/app.git", commit: "registry/app:abc", depth: 1 },
    });
  });

  it("an unset environment variable is empty text; a missing step output is an error", () => {
    expect(resolveReferences("a{{ env.FLOWPLANE_UNSET_FOR_TEST }}b", { secrets: {}, variables: {}, env: {} })).toBe(
      "ab",
    );
    expect(() => resolveReferences("{{ nope.out }}", { secrets: {}, variables: {}, outputs: {} })).toThrow(
      'step output "nope.out" was not resolved',
    );
  });
});
