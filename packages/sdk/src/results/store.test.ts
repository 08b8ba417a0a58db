import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ResultStore } from "./store.ts";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "flowplane-results-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("ResultStore", () => {
  it("round-trips JSON values and creates the directory on first write", async () => {
    const store = new ResultStore(join(dir, "nested", "results"));
    await store.write("k1", { rows: [1, 2], at: new Date("2024-01-01T00:00:00Z") });
    expect((await store.read("k1"))?.value).toEqual({ rows: [1, 2], at: "2024-01-01T00:00:00.000Z" });
  });

  it("misses on an unknown key", async () => {
    expect(await new ResultStore(dir).read("nope")).toBeUndefined();
  });

  it("stops serving a result once it expires", async () => {
    const store = new ResultStore(dir);
    const expiresAt = new Date(Date.now() + 60_000);
    await store.write("k", 1, { expiresAt });
    expect((await store.read("k"))?.expiresAt).toBe(expiresAt.toISOString());
    expect(await store.read("k", expiresAt.getTime() + 1)).toBeUndefined();
  });

  it("hashes keys that are not filename-safe and keeps the key inside", async () => {
    const store = new ResultStore(dir);
    await store.write("../../etc/passwd", "x");
    const [file] = await readdir(dir);
    expect(file).toMatch(/^sha256-[0-9a-f]{64}\.json$/);
    expect((await store.read("../../etc/passwd"))?.value).toBe("x");
  });

  it("leaves no temp files behind and overwrites whole files", async () => {
    const store = new ResultStore(dir);
    await Promise.all(Array.from({ length: 20 }, (_, i) => store.write("same", { i, pad: "x".repeat(10_000) })));
    expect(await readdir(dir)).toEqual(["same.json"]);
    const parsed = JSON.parse(await readFile(join(dir, "same.json"), "utf8")) as { value: { i: number } };
    expect(parsed.value.i).toBeGreaterThanOrEqual(0);
  });

  it("treats a corrupt file as a miss", async () => {
    const store = new ResultStore(dir);
    await writeFile(store.pathFor("bad"), "{not json");
    expect(await store.read("bad")).toBeUndefined();
  });

  it("refuses values JSON cannot encode without writing anything", async () => {
    const store = new ResultStore(dir);
    await expect(store.write("big", 1n)).rejects.toThrow();
    expect(await store.read("big")).toBeUndefined();
  });
});
