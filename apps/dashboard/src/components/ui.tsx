// Small shared pieces: state badges, empty states, errors, copyable commands, page headers, form
// fields and the states of a list query.
import {
  useEffect,
  useId,
  useRef,
  useState,
  type InputHTMLAttributes,
  type ReactNode,
  type SelectHTMLAttributes,
} from "react";
import { errorMessage } from "../api/client.ts";
import { formatFullTime, formatRelative } from "../lib/format.ts";
import { useNow } from "../lib/hooks.ts";
import { STATE_LABELS, isStateType } from "../lib/states.ts";
import "./ui.css";

export function StateBadge({ type, name }: { type: string; name?: string | null }) {
  const label =
    name && name !== (isStateType(type) ? STATE_LABELS[type] : type)
      ? name
      : isStateType(type)
        ? STATE_LABELS[type]
        : type;
  return (
    <span className={`state-badge state-${type.toLowerCase()}`} data-state={type}>
      <span className="state-dot" aria-hidden="true" />
      {label}
    </span>
  );
}

export function PageHeader({
  title,
  subtitle,
  actions,
}: {
  title: ReactNode;
  subtitle?: ReactNode;
  actions?: ReactNode;
}) {
  const ref = useRef<HTMLHeadingElement>(null);
  // Moving focus to the new page's heading tells screen-reader users that the page changed.
  useEffect(() => {
    if (document.activeElement === document.body || document.activeElement?.closest("nav"))
      ref.current?.focus({ preventScroll: true });
  }, []);
  return (
    <header className="page-header">
      <div className="page-title">
        <h1 ref={ref} tabIndex={-1}>
          {title}
        </h1>
        {subtitle ? <div className="page-subtitle">{subtitle}</div> : null}
      </div>
      {actions ? <div className="page-actions">{actions}</div> : null}
    </header>
  );
}

export function EmptyState({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="empty-state" role="status">
      <h2>{title}</h2>
      {children}
    </div>
  );
}

export function ErrorNote({ error, title = "Something went wrong" }: { error: unknown; title?: string }) {
  return (
    <div className="error-note" role="alert">
      <strong>{title}:</strong> {errorMessage(error)}
    </div>
  );
}

/** A request's error (or a message), read out when it appears; nothing when there is none. */
export function RequestError({ error }: { error: unknown }) {
  if (!error) return null;
  return (
    <p className="field-error" role="alert">
      {typeof error === "string" ? error : errorMessage(error)}
    </p>
  );
}

/**
 * A list query's states in one place: its error, a skeleton while it loads, `empty` (when given)
 * once it answered no rows, and otherwise `children` with the rows.
 */
export function QueryList<Row>({
  query,
  lines,
  empty,
  children,
}: {
  query: { error: unknown; isPending: boolean; data: readonly Row[] | undefined };
  lines?: number;
  empty?: ReactNode;
  children: (rows: readonly Row[]) => ReactNode;
}) {
  return (
    <>
      {query.error ? <ErrorNote error={query.error} /> : null}
      {query.isPending ? (
        <Skeleton lines={lines} />
      ) : empty !== undefined && query.data?.length === 0 ? (
        empty
      ) : (
        children(query.data ?? [])
      )}
    </>
  );
}

/** A form control with its label: the text above the control, or beside it when `inline`. */
export function Field({
  label,
  inline,
  className,
  children,
}: {
  label: ReactNode;
  inline?: boolean;
  className?: string;
  children: ReactNode;
}) {
  return (
    <label className={["field", inline ? "inline" : null, className].filter(Boolean).join(" ")}>
      <span>{label}</span>
      {children}
    </label>
  );
}

/**
 * A labelled <input> whose value the page keeps as text, and the refusal of what was typed in it
 * (`error`), read out when it appears and tied to the input as its description.
 */
export function InputField({
  label,
  value,
  onChange,
  error,
  ...input
}: { label: ReactNode; value: string; onChange: (value: string) => void; error?: string | null } & Omit<
  InputHTMLAttributes<HTMLInputElement>,
  "value" | "onChange"
>) {
  const errorId = useId();
  return (
    <Field label={label}>
      <input
        {...input}
        value={value}
        onChange={(e) => onChange(e.target.value)}
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? errorId : input["aria-describedby"]}
      />
      {error ? (
        <span id={errorId} className="field-error" role="alert">
          {error}
        </span>
      ) : null}
    </Field>
  );
}

/** A labelled <select> of `options`; `onChange` gets the chosen option's value as text. */
export function SelectField({
  label,
  inline,
  value,
  options,
  onChange,
  ...select
}: {
  label: ReactNode;
  inline?: boolean;
  value: string | number;
  options: readonly { value: string | number; label: ReactNode }[];
  onChange: (value: string) => void;
} & Omit<SelectHTMLAttributes<HTMLSelectElement>, "value" | "onChange">) {
  return (
    <Field label={label} inline={inline}>
      <select {...select} value={value} onChange={(e) => onChange(e.target.value)}>
        {options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
    </Field>
  );
}

export function Command({ children }: { children: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <div className="command">
      <code>{children}</code>
      <button
        type="button"
        className="button small ghost"
        onClick={() => {
          void navigator.clipboard?.writeText(children).then(() => {
            setCopied(true);
            setTimeout(() => setCopied(false), 1500);
          });
        }}
        aria-label={`Copy command: ${children}`}
      >
        {copied ? "Copied" : "Copy"}
      </button>
    </div>
  );
}

export function RelativeTime({ iso }: { iso: string | null | undefined }) {
  const now = useNow(5000);
  if (!iso) return <span className="muted">—</span>;
  return (
    <time dateTime={iso} title={formatFullTime(iso)}>
      {formatRelative(iso, now)}
    </time>
  );
}

export function Skeleton({ lines = 3 }: { lines?: number }) {
  return (
    <div className="skeleton" aria-busy="true" aria-label="Loading">
      {Array.from({ length: lines }, (_, i) => (
        <div key={i} className="skeleton-line" />
      ))}
    </div>
  );
}

export function Tags({ tags }: { tags: readonly string[] }) {
  if (tags.length === 0) return <span className="muted">—</span>;
  return (
    <span className="tags">
      {tags.map((t) => (
        <span key={t} className="tag">
          {t}
        </span>
      ))}
    </span>
  );
}

export function Section({
  title,
  children,
  actions,
  id,
}: {
  title: string;
  children: ReactNode;
  actions?: ReactNode;
  id?: string;
}) {
  const headingId = `${id ?? title.toLowerCase().replace(/[^a-z0-9]+/g, "-")}-heading`;
  return (
    <section className="card" aria-labelledby={headingId}>
      <div className="card-header">
        <h2 id={headingId}>{title}</h2>
        {actions}
      </div>
      {children}
    </section>
  );
}

export function Toast({ message, onDone }: { message: string | null; onDone: () => void }) {
  useEffect(() => {
    if (!message) return;
    const t = setTimeout(onDone, 4000);
    return () => clearTimeout(t);
  }, [message, onDone]);
  return (
    <div className="toast-region" role="status" aria-live="polite">
      {message ? <div className="toast">{message}</div> : null}
    </div>
  );
}

/** Pause or resume something: the button, and the refusal's message beside it. */
export function PauseButton({
  paused,
  subject,
  busy,
  error,
  onToggle,
  className = "button small",
}: {
  paused: boolean;
  /** Named in the button's accessible label: "Pause <subject>". */
  subject: string;
  busy: boolean;
  error: unknown;
  onToggle: () => void;
  className?: string;
}) {
  return (
    <>
      <button
        type="button"
        className={className}
        onClick={onToggle}
        disabled={busy}
        aria-label={`${paused ? "Resume" : "Pause"} ${subject}`}
      >
        {paused ? "Resume" : "Pause"}
      </button>
      {error ? (
        <span className="field-error" role="alert">
          {errorMessage(error)}
        </span>
      ) : null}
    </>
  );
}

/** Headline numbers as a definition list. */
export function Stats({ items }: { items: { label: string; value: ReactNode; warn?: boolean; testId?: string }[] }) {
  return (
    <dl className="stats">
      {items.map((item) => (
        <div key={item.label}>
          <dt>{item.label}</dt>
          <dd className={item.warn ? "warn" : undefined} data-testid={item.testId}>
            {item.value}
          </dd>
        </div>
      ))}
    </dl>
  );
}

/** The Flowplane mark (its lines take the page background's colour) and name. */
export function BrandMark({ size }: { size: number }) {
  return (
    <>
      <svg width={size} height={size} viewBox="0 0 32 32" aria-hidden="true">
        <rect width="32" height="32" rx="7" fill="currentColor" />
        <path d="M7 10h12M7 16h18M7 22h9" stroke="var(--bg)" strokeWidth="3" strokeLinecap="round" />
      </svg>
      <span>Flowplane</span>
    </>
  );
}
