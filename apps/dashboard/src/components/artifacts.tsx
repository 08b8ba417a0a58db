// Artifacts as the run reported them: markdown (rendered from a parsed tree, never as HTML),
// tables, and links (http, https and mailto only).
import type { ReactNode } from "react";
import type { Artifact } from "../api/client.ts";
import { formatTime } from "../lib/format.ts";
import { parseMarkdown, safeHref, type Block, type Inline } from "../lib/markdown.ts";
import "./artifacts.css";
import "./data-table.css";

function renderInline(nodes: Inline[]): ReactNode[] {
  return nodes.map((n, i) => {
    switch (n.kind) {
      case "text":
        return n.text;
      case "strong":
        return <strong key={i}>{renderInline(n.children)}</strong>;
      case "em":
        return <em key={i}>{renderInline(n.children)}</em>;
      case "code":
        return <code key={i}>{n.text}</code>;
      case "link":
        return (
          <a key={i} href={n.href} target="_blank" rel="noopener noreferrer nofollow">
            {renderInline(n.children)}
          </a>
        );
    }
  });
}

function renderBlock(b: Block, i: number): ReactNode {
  switch (b.kind) {
    case "heading": {
      // Artifact headings sit inside the page's own outline, below its h2/h3.
      const level = Math.min(6, b.level + 3);
      const H = `h${level}` as "h4" | "h5" | "h6";
      return <H key={i}>{renderInline(b.children)}</H>;
    }
    case "paragraph":
      return <p key={i}>{renderInline(b.children)}</p>;
    case "list": {
      const L = b.ordered ? "ol" : "ul";
      return (
        <L key={i}>
          {b.items.map((it, j) => (
            <li key={j}>{renderInline(it)}</li>
          ))}
        </L>
      );
    }
    case "code":
      return (
        <pre key={i} className="code-block">
          <code>{b.text}</code>
        </pre>
      );
    case "quote":
      return <blockquote key={i}>{renderInline(b.children)}</blockquote>;
    case "rule":
      return <hr key={i} />;
    case "table":
      return (
        <div key={i} className="table-wrap">
          <table className="table compact">
            <thead>
              <tr>
                {b.header.map((h, j) => (
                  <th key={j} scope="col">
                    {renderInline(h)}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {b.rows.map((r, j) => (
                <tr key={j}>
                  {r.map((c, k) => (
                    <td key={k}>{renderInline(c)}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      );
  }
}

export function Markdown({ source }: { source: string }) {
  return <div className="markdown">{parseMarkdown(source).map(renderBlock)}</div>;
}

function cell(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

function ArtifactBody({ artifact }: { artifact: Artifact }) {
  const data = artifact.data as unknown;
  switch (artifact.type) {
    case "MARKDOWN":
      return <Markdown source={typeof data === "string" ? data : cell(data)} />;
    case "TABLE": {
      const t = data as { columns?: unknown; rows?: unknown };
      const columns = Array.isArray(t?.columns) ? t.columns.map(cell) : [];
      const rows = Array.isArray(t?.rows) ? (t.rows as unknown[]) : [];
      return (
        <div className="table-wrap artifact-table">
          <table className="table compact">
            <thead>
              <tr>
                {columns.map((c, i) => (
                  <th key={i} scope="col">
                    {c}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {rows.slice(0, 1000).map((r, i) => (
                <tr key={i}>
                  {Array.isArray(r) ? (
                    r.map((v, j) => <td key={j}>{cell(v)}</td>)
                  ) : (
                    <td colSpan={columns.length}>{cell(r)}</td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
          {rows.length > 1000 ? <p className="muted small">Showing 1,000 of {rows.length} rows.</p> : null}
        </div>
      );
    }
    case "LINK": {
      const l = data as { url?: unknown; linkText?: unknown };
      const href = typeof l?.url === "string" ? safeHref(l.url) : null;
      const text =
        typeof l?.linkText === "string" && l.linkText ? l.linkText : typeof l?.url === "string" ? l.url : "link";
      return href ? (
        <p>
          <a href={href} target="_blank" rel="noopener noreferrer nofollow">
            {text}
          </a>
        </p>
      ) : (
        <p className="muted">{text} (not a web link)</p>
      );
    }
    default:
      return <pre className="code-block">{JSON.stringify(data, null, 2)}</pre>;
  }
}

export function ArtifactList({
  artifacts,
  taskNames,
}: {
  artifacts: readonly Artifact[];
  taskNames: ReadonlyMap<string, string>;
}) {
  return (
    <ul className="artifacts">
      {artifacts.map((a) => (
        <li key={a.id} className="artifact" data-artifact-type={a.type}>
          <div className="artifact-meta">
            <span className="tag">{a.type.toLowerCase()}</span>
            {a.key ? <strong>{a.key}</strong> : null}
            {a.taskRunId ? (
              <span className="muted small">from {taskNames.get(a.taskRunId) ?? "a task run"}</span>
            ) : null}
            <time className="muted small" dateTime={a.createdAt}>
              {formatTime(a.createdAt)}
            </time>
          </div>
          {a.description ? <p className="muted">{a.description}</p> : null}
          <ArtifactBody artifact={a} />
        </li>
      ))}
    </ul>
  );
}
