// Artifacts: rich output attached to the current flow run (and task run). Recorded through the
// tracker fire-and-forget. Outside any run the artifact is still created — attached to no run,
// findable by its key — with a warning, since a missing run is usually a mistake worth seeing.
//
// Data shapes stored in ArtifactRecord.data:
//   MARKDOWN → the markdown string
//   TABLE    → { columns: string[], rows: unknown[][] }
//   LINK     → { url: string, linkText?: string }
import { currentScope } from "./context.ts";
import { fallbackLogger } from "./logging.ts";
import { getTracker } from "./tracking/select.ts";
import { InvalidArgumentError } from "./errors.ts";
import { uuidv7 } from "@flowplane/core";
import type { ArtifactRecord } from "./tracking/tracker.ts";

export interface ArtifactOptions {
  /** Lowercase letters, digits and dashes; artifacts with a key are versioned under it. */
  key?: string;
  description?: string;
}

export interface TableArtifactOptions extends ArtifactOptions {
  /** Column names for rows given as arrays (default "0", "1", …) or to order object rows. */
  columns?: readonly string[];
}

export interface LinkArtifactOptions extends ArtifactOptions {
  linkText?: string;
}

export interface TableData {
  columns: string[];
  rows: unknown[][];
}

const KEY = /^[a-z0-9-]+$/;

function record(type: ArtifactRecord["type"], data: unknown, options: ArtifactOptions): string {
  if (options.key !== undefined && !KEY.test(options.key)) {
    throw new InvalidArgumentError(
      `artifact key '${options.key}' may only contain lowercase letters, digits and dashes`,
    );
  }
  const id = uuidv7();
  const scope = currentScope();
  const artifact: ArtifactRecord = { id, type, data };
  if (scope !== undefined) artifact.flowRunId = scope.flowRun.id;
  if (scope?.taskRun !== undefined) artifact.taskRunId = scope.taskRun.id;
  if (options.key !== undefined) artifact.key = options.key;
  if (options.description !== undefined) artifact.description = options.description;
  if (scope === undefined) {
    fallbackLogger().warn(
      `${type.toLowerCase()} artifact ${options.key ?? id} was created outside a flow or task run; it is attached to no run`,
    );
    getTracker().artifact(artifact);
  } else {
    scope.shared.tracker.artifact(artifact);
  }
  return id;
}

/** Attaches a markdown document to the current run; returns the artifact id. */
export function createMarkdownArtifact(markdown: string, options: ArtifactOptions = {}): string {
  return record("MARKDOWN", markdown, options);
}

/** Attaches a table (rows as objects, or as arrays of cells) to the current run. */
export function createTableArtifact(
  rows: readonly (Readonly<Record<string, unknown>> | readonly unknown[])[],
  options: TableArtifactOptions = {},
): string {
  return record("TABLE", toTable(rows, options.columns), options);
}

/** Attaches a link to the current run. */
export function createLinkArtifact(url: string, options: LinkArtifactOptions = {}): string {
  const data: { url: string; linkText?: string } = { url };
  if (options.linkText !== undefined) data.linkText = options.linkText;
  return record("LINK", data, options);
}

export function toTable(
  rows: readonly (Readonly<Record<string, unknown>> | readonly unknown[])[],
  columns?: readonly string[],
): TableData {
  if (rows.every((r) => Array.isArray(r))) {
    const width = Math.max(0, ...rows.map((r) => (r as readonly unknown[]).length));
    const cols = columns ? [...columns] : Array.from({ length: width }, (_, i) => String(i));
    return { columns: cols, rows: rows.map((r) => [...(r as readonly unknown[])]) };
  }
  const cols: string[] = columns ? [...columns] : [];
  if (!columns) {
    const seen = new Set<string>();
    for (const row of rows) {
      for (const k of Object.keys(row)) {
        if (!seen.has(k)) {
          seen.add(k);
          cols.push(k);
        }
      }
    }
  }
  return {
    columns: cols,
    rows: rows.map((r) =>
      Array.isArray(r)
        ? [...(r as readonly unknown[])]
        : cols.map((c) => (r as Readonly<Record<string, unknown>>)[c] ?? null),
    ),
  };
}
