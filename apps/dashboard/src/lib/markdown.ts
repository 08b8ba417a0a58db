// A small Markdown subset for artifacts, parsed into a tree that React renders as elements — never
// as HTML — so an artifact cannot inject markup or script. Links keep only http(s) and mailto URLs.
// Supported: headings, paragraphs, bullet and numbered lists, fenced code, block quotes, rules,
// pipe tables, and inline **bold**, *italic*, `code` and [links](url).

export type Inline =
  | { kind: "text"; text: string }
  | { kind: "strong" | "em"; children: Inline[] }
  | { kind: "code"; text: string }
  | { kind: "link"; href: string; children: Inline[] };

export type Block =
  | { kind: "heading"; level: 1 | 2 | 3 | 4 | 5 | 6; children: Inline[] }
  | { kind: "paragraph"; children: Inline[] }
  | { kind: "list"; ordered: boolean; items: Inline[][] }
  | { kind: "code"; lang: string; text: string }
  | { kind: "quote"; children: Inline[] }
  | { kind: "rule" }
  | { kind: "table"; header: Inline[][]; rows: Inline[][][] };

export function safeHref(raw: string): string | null {
  const url = raw.trim();
  try {
    const parsed = new URL(url);
    return parsed.protocol === "http:" || parsed.protocol === "https:" || parsed.protocol === "mailto:"
      ? parsed.href
      : null;
  } catch {
    return null;
  }
}

export function parseInline(src: string): Inline[] {
  const out: Inline[] = [];
  let text = "";
  const flush = () => {
    if (text) out.push({ kind: "text", text });
    text = "";
  };
  let i = 0;
  while (i < src.length) {
    const rest = src.slice(i);
    let m: RegExpExecArray | null;
    if (rest[0] === "\\" && rest.length > 1) {
      text += rest[1];
      i += 2;
    } else if ((m = /^`([^`]+)`/.exec(rest))) {
      flush();
      out.push({ kind: "code", text: m[1]! });
      i += m[0].length;
    } else if ((m = /^\*\*(.+?)\*\*/.exec(rest)) || (m = /^__(.+?)__/.exec(rest))) {
      flush();
      out.push({ kind: "strong", children: parseInline(m[1]!) });
      i += m[0].length;
    } else if ((m = /^\*([^*\s][^*]*?)\*/.exec(rest)) || (m = /^_([^_\s][^_]*?)_(?![A-Za-z0-9])/.exec(rest))) {
      flush();
      out.push({ kind: "em", children: parseInline(m[1]!) });
      i += m[0].length;
    } else if ((m = /^\[([^\]]+)\]\(([^)\s]+)\)/.exec(rest))) {
      flush();
      const href = safeHref(m[2]!);
      if (href) out.push({ kind: "link", href, children: parseInline(m[1]!) });
      else out.push({ kind: "text", text: m[1]! });
      i += m[0].length;
    } else if ((m = /^https?:\/\/[^\s<>()]+[^\s<>().,;:!?'"]/.exec(rest)) && (i === 0 || /\s|\(/.test(src[i - 1]!))) {
      flush();
      const href = safeHref(m[0]);
      out.push(href ? { kind: "link", href, children: [{ kind: "text", text: m[0] }] } : { kind: "text", text: m[0] });
      i += m[0].length;
    } else {
      text += rest[0];
      i += 1;
    }
  }
  flush();
  return out;
}

const splitRow = (line: string): string[] =>
  line
    .trim()
    .replace(/^\|/, "")
    .replace(/\|$/, "")
    .split(/(?<!\\)\|/)
    .map((c) => c.trim().replace(/\\\|/g, "|"));

export function parseMarkdown(src: string): Block[] {
  const lines = src.replace(/\r\n?/g, "\n").split("\n");
  const blocks: Block[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i]!;
    let m: RegExpExecArray | null;
    if (/^\s*$/.test(line)) {
      i++;
    } else if ((m = /^\s*(```|~~~)\s*([\w-]*)\s*$/.exec(line))) {
      const fence = m[1]!;
      const body: string[] = [];
      i++;
      while (i < lines.length && !lines[i]!.trim().startsWith(fence)) body.push(lines[i++]!);
      i++;
      blocks.push({ kind: "code", lang: m[2] ?? "", text: body.join("\n") });
    } else if ((m = /^(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line))) {
      blocks.push({ kind: "heading", level: m[1]!.length as 1 | 2 | 3 | 4 | 5 | 6, children: parseInline(m[2]!) });
      i++;
    } else if (/^\s*([-*_])(\s*\1){2,}\s*$/.test(line)) {
      blocks.push({ kind: "rule" });
      i++;
    } else if (
      line.includes("|") &&
      i + 1 < lines.length &&
      /^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$/.test(lines[i + 1]!)
    ) {
      const header = splitRow(line).map(parseInline);
      i += 2;
      const rows: Inline[][][] = [];
      while (i < lines.length && lines[i]!.includes("|") && lines[i]!.trim() !== "")
        rows.push(splitRow(lines[i++]!).map(parseInline));
      blocks.push({ kind: "table", header, rows });
    } else if (/^\s*>/.test(line)) {
      const body: string[] = [];
      while (i < lines.length && /^\s*>/.test(lines[i]!)) body.push(lines[i++]!.replace(/^\s*>\s?/, ""));
      blocks.push({ kind: "quote", children: parseInline(body.join(" ")) });
    } else if ((m = /^\s*([-*+]|\d+[.)])\s+/.exec(line))) {
      const ordered = /\d/.test(m[1]!);
      const items: Inline[][] = [];
      const itemRe = ordered ? /^\s*\d+[.)]\s+(.*)$/ : /^\s*[-*+]\s+(.*)$/;
      while (i < lines.length) {
        const im = itemRe.exec(lines[i]!);
        if (im) {
          items.push(parseInline(im[1]!));
          i++;
        } else if (items.length && /^\s{2,}\S/.test(lines[i]!)) {
          // Continuation line of the previous item.
          items[items.length - 1]!.push({ kind: "text", text: ` ${lines[i]!.trim()}` });
          i++;
        } else break;
      }
      blocks.push({ kind: "list", ordered, items });
    } else {
      const body: string[] = [];
      while (
        i < lines.length &&
        lines[i]!.trim() !== "" &&
        !/^(#{1,6}\s|\s*```|\s*>|\s*([-*+]|\d+[.)])\s+)/.test(lines[i]!)
      )
        body.push(lines[i++]!.trim());
      blocks.push({ kind: "paragraph", children: parseInline(body.join(" ")) });
    }
  }
  return blocks;
}
