// Invalid input is answered BAD_REQUEST over HTTP, and the answer names the offending field both in
// the message and in data.path (the CLI prints it; forms highlight it).
import { describe, expect, it } from "vitest";
import { useTestApi, httpCall } from "../testing.ts";

const api = useTestApi();

async function badRequest(path: string, type: "query" | "mutation", input: unknown, credential = api.a.keys.ADMIN) {
  const res = await httpCall(api.services, { path, type, input, credential });
  expect(res.status, `${path} answered ${JSON.stringify(res)}`).toBe(400);
  expect(res.error?.data.code).toBe("BAD_REQUEST");
  return res.error!;
}

describe("validation errors", () => {
  it("flowRuns.get with a non-uuid id names `id`", async () => {
    const err = await badRequest("flowRuns.get", "query", { id: "not-a-uuid" });
    expect(err.data.path).toBe("id");
    expect(err.message).toMatch(/^id: /);
    expect(err.data.apiCode).toBe("INVALID_INPUT");
  });

  it("workPools.create with an unknown type names `type`", async () => {
    const err = await badRequest("workPools.create", "mutation", { name: "p", type: "nope" });
    expect(err.data.path).toBe("type");
    expect(err.message).toMatch(/^type: /);
  });

  it("nested fields are named by their dotted path", async () => {
    const run = await api.a.as.WORKER.flowRuns.create({ flowName: "v" });
    expect((await badRequest("flowRuns.setState", "mutation", { id: run.id, state: { type: "DONE" } })).data.path).toBe(
      "state.type",
    );
    expect(
      (
        await badRequest("flowRuns.setState", "mutation", {
          id: run.id,
          state: { type: "SCHEDULED", details: { scheduledTime: "tomorrow" } },
        })
      ).data.path,
    ).toBe("state.details.scheduledTime");
    const log = { id: run.id, flowRunId: "x", name: "n", level: 20, message: "m", timestamp: new Date().toISOString() };
    // A bad ingested record is refused alone, named by its path, rather than failing its batch.
    const result = await api.a.as.WORKER.ingest.batch({ logs: [log] });
    expect(result.rejected).toEqual([
      { path: "logs.0.flowRunId", id: run.id, message: expect.stringMatching(/^logs\.0\.flowRunId: /) },
    ]);
  });

  it("names the field for errors found by the service too", async () => {
    const err = await badRequest("workPools.create", "mutation", {
      name: "tmpl",
      type: "process",
      baseJobTemplate: { job_configuration: 1 },
    });
    expect(err.data.path).toMatch(/^baseJobTemplate/);
    expect(err.message).toMatch(/^baseJobTemplate/);
    const key = await badRequest("apiKeys.create", "mutation", { name: "  " });
    expect(key.data.path).toBe("name");
  });

  it("authentication comes before validation: a caller without a key learns nothing about the input", async () => {
    const res = await httpCall(api.services, {
      path: "flowRuns.get",
      type: "query",
      input: { id: "not-a-uuid" },
      credential: null,
    });
    expect(res.status).toBe(401);
    expect(res.error?.data.code).toBe("UNAUTHORIZED");
  });
});
