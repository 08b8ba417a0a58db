// The audit log: who did what in this workspace, newest first, with the filters of `flowplane audit
// ls` kept in the query string (a filtered view can be bookmarked and shared). Admins only: the
// navigation hides it from other roles, and the server refuses them anyway.
import { useInfiniteQuery } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useTRPC } from "../api/provider.tsx";
import { DataTable } from "../components/data-table.tsx";
import {
  EmptyState,
  ErrorNote,
  InputField,
  PageHeader,
  RelativeTime,
  SelectField,
  Skeleton,
} from "../components/ui.tsx";
import { useDocumentTitle } from "../lib/hooks.ts";
import { setSearch, useLocation } from "../router.tsx";
import "./audit.css";

const OUTCOMES = ["ok", "refused", "failed"] as const;
type Outcome = (typeof OUTCOMES)[number];

/** The free-text filters, in the order the form shows them. */
const TEXT_FILTERS = [
  { key: "actor", label: "Actor", placeholder: "email, name or key prefix" },
  { key: "action", label: "Action", placeholder: "secrets.set or apiKeys.*" },
] as const;

interface Filters {
  actor: string;
  action: string;
  outcome: Outcome | "";
  /** A `datetime-local` value (the viewer's time zone). */
  since: string;
}

function readFilters(search: URLSearchParams): Filters {
  const outcome = search.get("outcome") ?? "";
  return {
    actor: search.get("actor") ?? "",
    action: search.get("action") ?? "",
    outcome: (OUTCOMES as readonly string[]).includes(outcome) ? (outcome as Outcome) : "",
    since: search.get("since") ?? "",
  };
}

function targetText(target: unknown): string {
  if (!target || typeof target !== "object") return "";
  return Object.entries(target as Record<string, unknown>)
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(",") : String(v)}`)
    .join(" ");
}

export function AuditPage() {
  useDocumentTitle("Audit log");
  const trpc = useTRPC();
  const { search } = useLocation();
  const filters = readFilters(search);
  const [draft, setDraft] = useState(filters);
  const [draftKey, setDraftKey] = useState(search.toString());
  // The form follows the address (back button, a shared link) until the viewer edits it.
  if (draftKey !== search.toString()) {
    setDraftKey(search.toString());
    setDraft(filters);
  }
  const since = filters.since ? new Date(filters.since) : null;
  const input = {
    limit: 100,
    ...(filters.actor ? { actor: filters.actor } : {}),
    ...(filters.action ? { action: filters.action } : {}),
    ...(filters.outcome ? { outcome: filters.outcome } : {}),
    ...(since && !Number.isNaN(since.getTime()) ? { since: since.toISOString() } : {}),
  };
  const events = useInfiniteQuery(
    trpc.audit.list.infiniteQueryOptions(input, { getNextPageParam: (page) => page.nextCursor ?? undefined }),
  );
  const rows = events.data?.pages.flatMap((p) => p.events) ?? [];
  const apply = (e: FormEvent) => {
    e.preventDefault();
    setSearch({ ...draft });
  };

  return (
    <>
      <PageHeader
        title="Audit log"
        subtitle="Every change made through the API in this workspace, refusals included: who, what, from where. Entries cannot be changed or deleted; retention removes the oldest."
      />
      <form className="filters card" role="search" aria-label="Filter the audit log" onSubmit={apply}>
        <div className="filter-row">
          {TEXT_FILTERS.map((f) => (
            <InputField
              key={f.key}
              label={f.label}
              name={f.key}
              value={draft[f.key]}
              placeholder={f.placeholder}
              onChange={(value) => setDraft({ ...draft, [f.key]: value })}
            />
          ))}
          <SelectField
            label="Outcome"
            name="outcome"
            value={draft.outcome}
            options={[{ value: "", label: "Any" }, ...OUTCOMES.map((o) => ({ value: o, label: o }))]}
            onChange={(outcome) => setDraft({ ...draft, outcome: outcome as Filters["outcome"] })}
          />
          <InputField
            label="Since"
            name="since"
            type="datetime-local"
            value={draft.since}
            onChange={(since) => setDraft({ ...draft, since })}
          />
          <button type="submit" className="button primary">
            Apply
          </button>
        </div>
      </form>
      {events.error ? <ErrorNote error={events.error} /> : null}
      {events.isPending ? (
        <Skeleton />
      ) : rows.length === 0 ? (
        <EmptyState title="No entries">Nothing matches these filters.</EmptyState>
      ) : (
        <DataTable
          rows={rows}
          rowKey={(e) => e.id}
          testId="audit-table"
          compact
          rowProps={(e) => ({ "data-action": e.action, "data-outcome": e.outcome })}
          columns={[
            { header: "When", cell: (e) => <RelativeTime iso={e.occurredAt} /> },
            {
              header: "Actor",
              testId: "audit-actor",
              cell: (e) =>
                e.actor.name ?? (e.actor.apiKeyPrefix ? `unknown (key ${e.actor.apiKeyPrefix})` : "anonymous"),
            },
            {
              header: "Key",
              className: "hide-sm",
              cell: (e) => e.actor.apiKeyName ?? (e.actor.apiKeyPrefix ? <code>{e.actor.apiKeyPrefix}</code> : "-"),
            },
            { header: "Action", testId: "audit-action", cell: (e) => <code>{e.action}</code> },
            {
              header: "Target",
              className: "hide-md",
              cell: (e) => <span className="small">{targetText(e.target)}</span>,
            },
            {
              header: "Outcome",
              testId: "audit-outcome",
              cell: (e) => (
                <span className={`outcome outcome-${e.outcome}`}>
                  {e.outcome}
                  {e.errorCode ? ` · ${e.errorCode}` : ""}
                  {e.count > 1 ? ` ×${e.count}` : ""}
                </span>
              ),
            },
            { header: "From", className: "hide-md", cell: (e) => <span className="muted small">{e.ip ?? "-"}</span> },
          ]}
        />
      )}
      {events.hasNextPage ? (
        <p>
          <button
            type="button"
            className="button"
            disabled={events.isFetchingNextPage}
            onClick={() => void events.fetchNextPage()}
          >
            {events.isFetchingNextPage ? "Loading…" : "Older entries"}
          </button>
        </p>
      ) : null}
    </>
  );
}
