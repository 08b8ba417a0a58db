// A run's logs: level filter and search run on the server; new lines arrive as a tail after the
// last one shown, fetched when the websocket says the run logged something.
import { useCallback, useEffect, useLayoutEffect, useRef, useState } from "react";
import { errorMessage, type LogLine } from "../api/client.ts";
import { useLiveHub, useTRPCClient } from "../api/provider.tsx";
import { LOG_LEVELS, levelName } from "../lib/format.ts";
import { useDebounced } from "../lib/hooks.ts";
import { Field, SelectField } from "./ui.tsx";
import "./logs.css";

const PAGE = 1000;
const timeFmt = new Intl.DateTimeFormat(undefined, {
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  fractionalSecondDigits: 3,
  hour12: false,
});

function Highlight({ text, term }: { text: string; term: string }) {
  if (!term) return <>{text}</>;
  const parts: (string | { m: string })[] = [];
  const lower = text.toLowerCase();
  const t = term.toLowerCase();
  let i = 0;
  for (;;) {
    const j = lower.indexOf(t, i);
    if (j < 0) break;
    parts.push(text.slice(i, j), { m: text.slice(j, j + t.length) });
    i = j + t.length;
  }
  parts.push(text.slice(i));
  return <>{parts.map((p, k) => (typeof p === "string" ? p : <mark key={k}>{p.m}</mark>))}</>;
}

export function LogsPanel({
  flowRunId,
  taskNames,
  live,
}: {
  flowRunId: string;
  taskNames: ReadonlyMap<string, string>;
  live: boolean;
}) {
  const api = useTRPCClient();
  const hub = useLiveHub();
  const [minLevel, setMinLevel] = useState(0);
  const [searchText, setSearchText] = useState("");
  const search = useDebounced(searchText.trim(), 250);
  const [lines, setLines] = useState<LogLine[]>([]);
  const [state, setState] = useState<{ loading: boolean; complete: boolean; error: string | null }>({
    loading: true,
    complete: false,
    error: null,
  });
  const [follow, setFollow] = useState(true);
  const scrollRef = useRef<HTMLDivElement>(null);
  // Each filter change starts a new generation; answers for an older one are dropped.
  const gen = useRef(0);
  const busy = useRef(false);
  const again = useRef(false);
  const linesRef = useRef<LogLine[]>([]);

  const fetchMore = useCallback(
    async (reset: boolean) => {
      if (busy.current && !reset) {
        again.current = true;
        return;
      }
      const my = reset ? ++gen.current : gen.current;
      busy.current = true;
      try {
        const current = reset ? [] : linesRef.current;
        const last = current[current.length - 1];
        const page = await api.logs.list.query({
          flowRunId,
          limit: PAGE,
          ...(minLevel > 0 ? { minLevel } : {}),
          ...(search ? { search } : {}),
          ...(last ? { after: { timestamp: last.timestamp, id: last.id } } : {}),
        });
        if (my !== gen.current) return;
        linesRef.current = current.concat(page);
        setLines(linesRef.current);
        // A full page means there may be more: huge logs load a page at a time, on demand.
        setState({ loading: false, complete: page.length < PAGE, error: null });
      } catch (err) {
        if (my === gen.current) setState((s) => ({ ...s, loading: false, error: errorMessage(err) }));
      } finally {
        if (my === gen.current) busy.current = false;
        if (again.current && my === gen.current) {
          again.current = false;
          void fetchMore(false);
        }
      }
    },
    [api, flowRunId, minLevel, search],
  );

  useEffect(() => {
    linesRef.current = [];
    setLines([]);
    setState({ loading: true, complete: false, error: null });
    busy.current = false;
    void fetchMore(true);
  }, [fetchMore]);

  // Live tail: the hub tells us when this run logged; we fetch what follows the last line.
  useEffect(
    () =>
      hub.on((event) => {
        if (event.kind === "logs" && event.flowRunIds.includes(flowRunId) && state.complete) void fetchMore(false);
      }),
    [hub, flowRunId, fetchMore, state.complete],
  );

  useLayoutEffect(() => {
    const el = scrollRef.current;
    if (el && follow) el.scrollTop = el.scrollHeight;
  }, [lines, follow]);

  return (
    <div className="logs" data-testid="logs">
      <div className="logs-toolbar" role="group" aria-label="Log filters">
        <SelectField
          label="Level"
          inline
          name="level"
          value={minLevel}
          options={[
            { value: 0, label: "All levels" },
            ...LOG_LEVELS.map((l) => ({ value: l.value, label: `${l.name} and above` })),
          ]}
          onChange={(value) => setMinLevel(Number(value))}
        />
        <Field label="Search" inline className="grow">
          <input
            type="search"
            name="log-search"
            placeholder="Find in messages"
            value={searchText}
            onChange={(e) => setSearchText(e.target.value)}
          />
        </Field>
        <label className="checkbox">
          <input type="checkbox" checked={follow} onChange={(e) => setFollow(e.target.checked)} />
          Follow {live ? <span className="live-pill">live</span> : null}
        </label>
      </div>
      <div
        ref={scrollRef}
        className="log-lines"
        role="log"
        aria-live={follow ? "polite" : "off"}
        aria-label="Run logs"
        tabIndex={0}
        onScroll={(e) => {
          const el = e.currentTarget;
          const atBottom = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
          if (atBottom !== follow) setFollow(atBottom);
        }}
      >
        {lines.length === 0 ? (
          <p className="muted log-empty">
            {state.loading
              ? "Loading logs…"
              : state.error
                ? ""
                : search || minLevel
                  ? "No log lines match."
                  : live
                    ? "No logs yet — lines appear here as the run writes them."
                    : "This run wrote no logs."}
          </p>
        ) : (
          lines.map((l) => (
            <div key={l.id} className={`log-line level-${levelName(l.level).toLowerCase()}`}>
              <time dateTime={l.timestamp}>{timeFmt.format(new Date(l.timestamp))}</time>
              <span className="log-level">{levelName(l.level)}</span>
              <span className="log-source" title={l.name}>
                {l.taskRunId ? (taskNames.get(l.taskRunId) ?? "task") : "flow"}
              </span>
              <span className="log-message">
                <Highlight text={l.message} term={search} />
              </span>
            </div>
          ))
        )}
        {!state.complete && !state.loading && !state.error ? (
          <button type="button" className="button small load-more" onClick={() => void fetchMore(false)}>
            Load more
          </button>
        ) : null}
      </div>
      {state.error ? (
        <p className="field-error" role="alert">
          Logs failed to load: {state.error}
        </p>
      ) : null}
      <p className="muted small">
        {lines.length} line{lines.length === 1 ? "" : "s"}
        {state.complete ? "" : " (more available)"}
      </p>
    </div>
  );
}
