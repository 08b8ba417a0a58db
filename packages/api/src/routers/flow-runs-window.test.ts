import { describe, expect, it } from "vitest";
import { useTestApi } from "../testing.ts";

const api = useTestApi();

describe("flowRuns.list in a time window", () => {
  it("pages through the window by expected start, newest first, without gaps or repeats", async () => {
    const admin = api.a.as.ADMIN;
    // Created in one order, expected to start in another: ids and times disagree on purpose.
    const base = Date.parse("2026-02-01T00:00:00Z");
    const created: { id: string; at: string }[] = [];
    for (let i = 0; i < 25; i++) {
      const at = new Date(base + ((i * 7) % 25) * 3_600_000).toISOString();
      const run = await admin.flowRuns.create({
        flowName: "windowed",
        state: { type: "SCHEDULED", details: { scheduledTime: at } },
      });
      created.push({ id: run.id, at });
    }
    const from = new Date(base + 5 * 3_600_000).toISOString();
    const to = new Date(base + 20 * 3_600_000).toISOString();
    const expected = created
      .filter((r) => r.at >= from && r.at < to)
      .sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : a.id < b.id ? 1 : -1));

    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await admin.flowRuns.list({
        flowName: "windowed",
        from,
        to,
        limit: 4,
        ...(cursor ? { cursor } : {}),
      });
      seen.push(...page.items.map((r) => r.id));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(seen).toEqual(expected.map((r) => r.id));
  });
});
