// Runs: filters in the query string, a chart of runs over time by state, and a cursor-paged table.
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useState } from "react";
import type { Inputs } from "../api/client.ts";
import { useTRPC } from "../api/provider.tsx";
import { RunsChart } from "../components/runs-chart.tsx";
import { RunsTable } from "../components/runs-table.tsx";
import { Command, EmptyState, ErrorNote, InputField, PageHeader, SelectField, Skeleton } from "../components/ui.tsx";
import { useDocumentTitle, useNow } from "../lib/hooks.ts";
import { STATE_LABELS, STATE_TYPES, isStateType, type StateType } from "../lib/states.ts";
import { RANGES, isRangeKey, resolveRange, type RangeKey } from "../lib/time-range.ts";
import { setSearch, useLocation } from "../router.tsx";
import "./runs.css";

const PAGE_SIZES = [25, 50, 100];

interface Filters {
  states: StateType[];
  flow: string;
  deployment: string;
  tags: string[];
  range: RangeKey;
  from: string;
  to: string;
  limit: number;
}

function readFilters(search: URLSearchParams): Filters {
  const list = (k: string) =>
    (search.get(k) ?? "")
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);
  const range = search.get("range");
  const limit = Number(search.get("limit"));
  return {
    states: list("state").filter(isStateType),
    flow: search.get("flow") ?? "",
    deployment: search.get("deployment") ?? "",
    tags: list("tags"),
    range: isRangeKey(range) ? range : "any",
    from: search.get("from") ?? "",
    to: search.get("to") ?? "",
    limit: PAGE_SIZES.includes(limit) ? limit : 50,
  };
}

function writeFilters(f: Filters): void {
  setSearch({
    state: f.states,
    flow: f.flow,
    deployment: f.deployment,
    tags: f.tags,
    range: f.range === "any" ? null : f.range,
    from: f.range === "custom" ? f.from : null,
    to: f.range === "custom" ? f.to : null,
    limit: f.limit === 50 ? null : String(f.limit),
  });
}

/** `<input type="datetime-local">` value ↔ ISO. */
function toLocalInput(iso: string): string {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return "";
  const d = new Date(t - new Date(t).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 16);
}

export function RunsPage() {
  useDocumentTitle("Runs");
  const trpc = useTRPC();
  const { search } = useLocation();
  const filters = readFilters(search);
  const update = (patch: Partial<Filters>) => writeFilters({ ...filters, ...patch });
  const minute = Math.floor(useNow(15_000) / 60_000) * 60_000;
  const range = resolveRange(filters.range, { from: filters.from, to: filters.to }, minute);

  const flows = useQuery(trpc.flows.list.queryOptions(undefined, { staleTime: 30_000 }));
  const deployments = useQuery(trpc.deployments.list.queryOptions(undefined, { staleTime: 30_000 }));
  const flowDeployments = (deployments.data ?? []).filter((d) => !filters.flow || d.flowName === filters.flow);

  // Query keys hash their input by value, so these objects need no memoising.
  const baseInput: Inputs["flowRuns"]["list"] = {
    limit: filters.limit,
    ...(filters.states.length ? { states: filters.states } : {}),
    ...(filters.flow ? { flowName: filters.flow } : {}),
    ...(filters.deployment ? { deploymentId: filters.deployment } : {}),
    ...(filters.tags.length ? { tags: filters.tags } : {}),
    ...(range.listFrom ? { from: range.listFrom } : {}),
    ...(range.listTo ? { to: range.listTo } : {}),
  };
  const filterKey = JSON.stringify(baseInput);
  // Cursor pages: the stack holds the cursor of each page we went through, newest first. New
  // filters start over at their first page (state adjusted while rendering, not in an effect).
  const [pages, setPages] = useState<{ key: string; cursors: (string | undefined)[] }>({
    key: filterKey,
    cursors: [undefined],
  });
  if (pages.key !== filterKey) setPages({ key: filterKey, cursors: [undefined] });
  const cursors = pages.key === filterKey ? pages.cursors : [undefined];
  const cursor = cursors[cursors.length - 1];
  const input = { ...baseInput, ...(cursor ? { cursor } : {}) };

  const runs = useQuery(trpc.flowRuns.list.queryOptions(input, { placeholderData: keepPreviousData }));
  // The chart takes the list's state, flow and deployment filters; tags are not among the counted
  // dimensions (see flowRuns.counts), so with tags the chart counts runs of any tags.
  const countsInput: Inputs["flowRuns"]["counts"] = {
    from: range.chartFrom,
    to: range.chartTo,
    buckets: range.buckets,
    ...(filters.states.length ? { states: filters.states } : {}),
    ...(filters.flow ? { flowName: filters.flow } : {}),
    ...(filters.deployment ? { deploymentId: filters.deployment } : {}),
  };
  const counts = useQuery(trpc.flowRuns.counts.queryOptions(countsInput, { placeholderData: keepPreviousData }));

  const filtered =
    filters.states.length > 0 ||
    filters.flow ||
    filters.deployment ||
    filters.tags.length > 0 ||
    filters.range !== "any";
  const toggleState = (s: StateType) =>
    update({ states: filters.states.includes(s) ? filters.states.filter((x) => x !== s) : [...filters.states, s] });
  const items = runs.data?.items ?? [];

  return (
    <>
      <PageHeader title="Runs" subtitle="Every flow run in this workspace, newest first." />
      <form className="filters card" role="search" aria-label="Filter runs" onSubmit={(e) => e.preventDefault()}>
        <fieldset className="state-filter">
          <legend>State</legend>
          <div className="chips">
            {STATE_TYPES.map((s) => (
              <label key={s} className={`chip state-${s.toLowerCase()}`}>
                <input
                  type="checkbox"
                  checked={filters.states.includes(s)}
                  onChange={() => toggleState(s)}
                  name="state"
                  value={s}
                />
                <span className="state-dot" aria-hidden="true" />
                {STATE_LABELS[s]}
              </label>
            ))}
          </div>
        </fieldset>
        <div className="filter-row">
          <SelectField
            label="Flow"
            name="flow"
            value={filters.flow}
            options={[
              { value: "", label: "All flows" },
              ...(flows.data ?? []).map((f) => ({ value: f.name, label: f.name })),
            ]}
            onChange={(flow) => update({ flow, deployment: "" })}
          />
          <SelectField
            label="Deployment"
            name="deployment"
            value={filters.deployment}
            options={[
              { value: "", label: "All deployments" },
              ...flowDeployments.map((d) => ({ value: d.id, label: d.qualifiedName })),
            ]}
            onChange={(deployment) => update({ deployment })}
          />
          <TagsFilter key={filters.tags.join()} tags={filters.tags} onApply={(tags) => update({ tags })} />
          <SelectField
            label="Time range"
            name="range"
            value={filters.range}
            options={RANGES.map((r) => ({ value: r.key, label: r.label }))}
            onChange={(value) => {
              const r = value as RangeKey;
              if (r === "custom")
                update({ range: r, from: filters.from || range.chartFrom, to: filters.to || range.chartTo });
              else update({ range: r });
            }}
          />
          {filters.range === "custom" ? (
            <>
              {(["from", "to"] as const).map((bound) => (
                <InputField
                  key={bound}
                  label={bound === "from" ? "From" : "To"}
                  type="datetime-local"
                  name={bound}
                  value={toLocalInput(filters[bound])}
                  onChange={(value) => value && update({ [bound]: new Date(value).toISOString() })}
                />
              ))}
            </>
          ) : null}
          {filtered ? (
            <button type="button" className="button ghost small clear-filters" onClick={() => setSearch({})}>
              Clear filters
            </button>
          ) : null}
        </div>
      </form>

      <RunsChart
        counts={counts.data}
        buckets={range.buckets}
        caption={filters.tags.length ? `${range.caption} · tag filter applies to the list only` : range.caption}
        loading={counts.isFetching}
        selectedStates={filters.states}
        onToggleState={toggleState}
        onSelectRange={(from, to) =>
          update({ range: "custom", from: new Date(from).toISOString(), to: new Date(to).toISOString() })
        }
      />
      {counts.error ? <ErrorNote error={counts.error} title="Run counts failed" /> : null}

      <section className="card runs-list" aria-labelledby="runs-list-heading">
        <div className="card-header">
          <h2 id="runs-list-heading">
            Flow runs{" "}
            <span className="muted small" aria-live="polite">
              {runs.isFetching ? "Updating…" : ""}
            </span>
          </h2>
          <SelectField
            label="Per page"
            inline
            value={filters.limit}
            options={PAGE_SIZES.map((n) => ({ value: n, label: n }))}
            onChange={(value) => update({ limit: Number(value) })}
          />
        </div>
        {runs.error ? <ErrorNote error={runs.error} title="Runs failed to load" /> : null}
        {runs.isPending ? (
          <Skeleton lines={8} />
        ) : items.length === 0 ? (
          filtered || cursor ? (
            <EmptyState title="No runs match these filters">
              <p>Try a wider time range or fewer states.</p>
              <button type="button" className="button" onClick={() => setSearch({})}>
                Clear filters
              </button>
            </EmptyState>
          ) : (
            <NoRunsYet />
          )
        ) : (
          <RunsTable runs={items} caption="Flow runs" busy={runs.isFetching} />
        )}
        <nav className="pager" aria-label="Pages">
          <button
            type="button"
            className="button small"
            disabled={cursors.length <= 1}
            onClick={() => setPages({ key: filterKey, cursors: cursors.slice(0, -1) })}
          >
            ← Newer
          </button>
          <span className="muted small">Page {cursors.length}</span>
          <button
            type="button"
            className="button small"
            disabled={!runs.data?.nextCursor || runs.isPlaceholderData}
            onClick={() =>
              runs.data?.nextCursor && setPages({ key: filterKey, cursors: [...cursors, runs.data.nextCursor] })
            }
          >
            Older →
          </button>
        </nav>
      </section>
    </>
  );
}

/** Comma-separated tags, applied on Enter or blur. Keyed by the applied tags, so it starts over when they change. */
function TagsFilter({ tags, onApply }: { tags: string[]; onApply: (tags: string[]) => void }) {
  const [text, setText] = useState(tags.join(", "));
  const apply = () => {
    const next = text
      .split(",")
      .map((t) => t.trim())
      .filter(Boolean);
    if (next.join() !== tags.join()) onApply(next);
  };
  return (
    <>
      <InputField
        label="Tags"
        type="text"
        name="tags"
        placeholder="e.g. nightly, eu"
        value={text}
        onChange={setText}
        onBlur={apply}
        onKeyDown={(e) => {
          if (e.key === "Enter") apply();
        }}
        aria-describedby="tags-help"
      />
      <small id="tags-help" className="visually-hidden">
        Comma-separated; runs must carry every tag. Press Enter to apply.
      </small>
    </>
  );
}

function NoRunsYet() {
  return (
    <EmptyState title="No runs yet">
      <p>Runs appear here live as they happen. To get your first one, from the repository root:</p>
      <ol className="steps">
        <li>
          Create a work pool where runs execute as local processes:
          <Command>pnpm flowplane work-pool create local --type process</Command>
        </li>
        <li>
          Deploy an example flow to it:
          <Command>pnpm flowplane deploy examples/hello.ts:hello --name hello --pool local</Command>
        </li>
        <li>
          Start a worker (leave it running):
          <Command>pnpm flowplane worker start --pool local</Command>
        </li>
        <li>
          Run it — or press “Run now” on the deployment's page:
          <Command>pnpm flowplane deployment run hello/hello --param n=5 --watch</Command>
        </li>
      </ol>
    </EmptyState>
  );
}
