// getSecret / getVariable outside a control plane (FLOWPLANE_SECRET_<NAME> / FLOWPLANE_VARIABLE_<NAME>),
// their types, and the redaction of every secret value a run obtained from what the run records.
import { randomBytes } from "node:crypto";
import { afterEach, describe, expect, expectTypeOf, it } from "vitest";
import { flow } from "./flow.ts";
import { getRunLogger } from "./context.ts";
import { createMarkdownArtifact } from "./artifacts.ts";
import { getSecret, getVariable, SecretNotFoundError, VariableNotFoundError, type JsonValue } from "./secrets.ts";
import { setTracker } from "./tracking/select.ts";
import { MemoryTracker } from "./tracking/memory-tracker.ts";

afterEach(() => {
  setTracker(undefined);
});

describe("getSecret / getVariable locally", () => {
  it("read FLOWPLANE_SECRET_<NAME> and FLOWPLANE_VARIABLE_<NAME> (JSON when it parses), typed", async () => {
    process.env.FLOWPLANE_SECRET_LOCAL_TOKEN = "tok-1";
    process.env.FLOWPLANE_VARIABLE_limits = '{"cpu":2}';
    process.env.FLOWPLANE_VARIABLE_plain = "just text";
    const secret = getSecret("LOCAL_TOKEN");
    expectTypeOf(secret).toEqualTypeOf<Promise<string>>();
    expect(await secret).toBe("tok-1");
    const limits = getVariable<{ cpu: number }>("limits");
    expectTypeOf(limits).toEqualTypeOf<Promise<{ cpu: number }>>();
    expectTypeOf(getVariable("plain")).toEqualTypeOf<Promise<JsonValue>>();
    expect(await limits).toEqual({ cpu: 2 });
    expect(await getVariable("plain")).toBe("just text");
  });

  it("a missing one is a typed error that says how to provide it; a bad name is refused", async () => {
    await expect(getSecret("NOT_SET_ANYWHERE")).rejects.toThrow(
      new SecretNotFoundError("NOT_SET_ANYWHERE", "set FLOWPLANE_SECRET_NOT_SET_ANYWHERE to run locally"),
    );
    await expect(getVariable("absent_var")).rejects.toBeInstanceOf(VariableNotFoundError);
    expect(() => getSecret("no-dashes")).toThrow(/secret name "no-dashes"/);
  });
});

describe("redaction", () => {
  it("a secret a run read is *** in its logs, captured prints, artifacts, sub-flow parameters and final state", async () => {
    const value = `local-${randomBytes(8).toString("hex")}`;
    process.env.FLOWPLANE_SECRET_REDACT_ME = value;
    const tracker = new MemoryTracker();
    setTracker(tracker);
    const child = flow({ name: "child" }, async (params: { token: string }) => params.token.length);
    const leaky = flow({ name: "leaky_local", logPrints: true }, async () => {
      const secret = await getSecret("REDACT_ME");
      getRunLogger().info(`value=${secret}`);
      console.log("printed", secret);
      createMarkdownArtifact(`token ${secret}`);
      await child({ token: secret });
      throw new Error(`failing with ${secret}`);
    });
    await expect(leaky()).rejects.toThrow(); // the caller's own exception keeps its message
    const recorded = JSON.stringify({
      logs: tracker.logs,
      artifacts: tracker.artifacts,
      proposals: tracker.proposals,
      runs: [...tracker.book.runs.values()].map((r) => r.info),
    });
    expect(recorded).not.toContain(value);
    expect(tracker.logs.map((l) => l.message)).toEqual(expect.arrayContaining(["value=***", "printed ***"]));
    expect(tracker.artifacts.map((a) => a.data)).toContain("token ***");
    expect(recorded).toContain("failing with ***");
    expect(recorded).toContain('"token":"***"');
  });
});
