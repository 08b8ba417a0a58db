import { describe, expect, it } from "vitest";
import { compatibleSdkVersion } from "./runner-compatibility.ts";

describe("compatibleSdkVersion", () => {
  it("accepts the same version and patch releases of the same line", () => {
    expect(compatibleSdkVersion("0.1.0", "0.1.0")).toBe(true);
    expect(compatibleSdkVersion("0.1.7", "0.1.2")).toBe(true);
    expect(compatibleSdkVersion("1.4.0", "1.2.3")).toBe(true);
    expect(compatibleSdkVersion("0.1.0-rc.1", "0.1.0")).toBe(true);
  });

  it("refuses another minor before 1.0, another major after, and what is not a version", () => {
    expect(compatibleSdkVersion("0.2.0", "0.1.0")).toBe(false);
    expect(compatibleSdkVersion("2.0.0", "1.9.0")).toBe(false);
    expect(compatibleSdkVersion("latest", "0.1.0")).toBe(false);
  });
});
