import { describe, expect, it } from "vitest";
import { commandArgv, CommandSyntaxError } from "./command.ts";
import { findPlaceholders, renderTemplate } from "./templating.ts";

describe("renderTemplate", () => {
  const values = { obj: { a: [1, 2] }, n: 3, s: "x", t: true, nil: null };

  it("an exact placeholder keeps the value's type, with or without spaces", () => {
    expect(renderTemplate("{{ obj }}", values)).toEqual({ a: [1, 2] });
    expect(renderTemplate("{{n}}", values)).toBe(3);
    expect(renderTemplate("{{  t  }}", values)).toBe(true);
    expect(renderTemplate("{{ nil }}", values)).toBeNull();
    expect(renderTemplate("{{ unset }}", values)).toBeNull();
  });

  it("embedded placeholders become text; objects as JSON, null and unset as empty text", () => {
    expect(renderTemplate("a-{{ s }}-{{ n }}-{{ t }}", values)).toBe("a-x-3-true");
    expect(renderTemplate("cfg={{ obj }}", values)).toBe('cfg={"a":[1,2]}');
    expect(renderTemplate("[{{ nil }}{{ unset }}]", values)).toBe("[]");
    expect(renderTemplate("{{ s }}{{ s }}", values)).toBe("xx");
  });

  it("recurses through arrays and objects, leaving keys and non-strings alone", () => {
    expect(
      renderTemplate({ "{{ s }}": ["{{ n }}", ["{{ s }}!"], { deep: "{{ obj }}" }], k: 1, b: false, z: null }, values),
    ).toEqual({
      "{{ s }}": [3, ["x!"], { deep: { a: [1, 2] } }],
      k: 1,
      b: false,
      z: null,
    });
  });

  it("copies values so a caller editing the result cannot change the variables", () => {
    const out = renderTemplate("{{ obj }}", values) as { a: number[] };
    out.a.push(3);
    expect(values.obj.a).toEqual([1, 2]);
  });
});

describe("findPlaceholders", () => {
  it("reports each use with its path", () => {
    expect(findPlaceholders({ a: "{{ x }}", b: ["k", "{{y}} and {{ z }}"] }, "jobConfiguration")).toEqual([
      { path: "jobConfiguration.a", name: "x", text: "{{ x }}" },
      { path: "jobConfiguration.b[1]", name: "y", text: "{{y}}" },
      { path: "jobConfiguration.b[1]", name: "z", text: "{{ z }}" },
    ]);
  });
});

describe("commandArgv", () => {
  it("keeps null and arrays", () => {
    expect(commandArgv(null)).toBeNull();
    expect(commandArgv(undefined)).toBeNull();
    expect(commandArgv(["node", "a b.js"])).toEqual(["node", "a b.js"]);
  });

  it("splits a string like a shell, without expansion", () => {
    expect(commandArgv('  node   main.js --name \'my flow\' "say \\"hi\\"" a\\ b $HOME ')).toEqual([
      "node",
      "main.js",
      "--name",
      "my flow",
      'say "hi"',
      "a b",
      "$HOME",
    ]);
    expect(commandArgv("x ''")).toEqual(["x", ""]);
    expect(commandArgv("")).toEqual([]);
  });

  it("refuses an unterminated quote and non-string items", () => {
    expect(() => commandArgv("echo 'oops")).toThrow(CommandSyntaxError);
    expect(() => commandArgv(["a", 1])).toThrow(CommandSyntaxError);
    expect(() => commandArgv(5)).toThrow(CommandSyntaxError);
  });
});
