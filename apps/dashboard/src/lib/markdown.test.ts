import { describe, expect, it } from "vitest";
import { parseInline, parseMarkdown, safeHref } from "./markdown.ts";

describe("parseMarkdown", () => {
  it("parses headings, lists, code and tables", () => {
    const blocks = parseMarkdown(
      "# Report\n\nRows: **42**\n\n- a\n- b\n\n```sql\nselect 1\n```\n\n| region | total |\n|---|---|\n| eu | 3 |\n",
    );
    expect(blocks.map((b) => b.kind)).toEqual(["heading", "paragraph", "list", "code", "table"]);
    const table = blocks[4];
    expect(table?.kind === "table" && table.rows.length).toBe(1);
  });

  it("keeps html as text, never markup", () => {
    const blocks = parseMarkdown("<script>alert(1)</script>");
    expect(blocks).toEqual([{ kind: "paragraph", children: [{ kind: "text", text: "<script>alert(1)</script>" }] }]);
  });

  it("drops javascript: links but keeps their text", () => {
    expect(parseInline("[x](javascript:alert(1))")[0]).toEqual({ kind: "text", text: "x" });
    expect(parseInline("[docs](https://example.com/a)")[0]).toMatchObject({
      kind: "link",
      href: "https://example.com/a",
    });
    expect(safeHref("data:text/html,hi")).toBeNull();
  });
});
