// The one table of the dashboard: every list (runs, task runs, flows, deployments, workers, queues,
// versions, API keys, parameters) is a set of columns over rows, so headers, responsive hiding and
// row keys are written once.
import type { HTMLAttributes, ReactNode } from "react";
import "./data-table.css";

export interface Column<Row> {
  header: ReactNode;
  cell: (row: Row) => ReactNode;
  /** On the header and every cell: `hide-sm` / `hide-md` hide the column on small screens, `num` aligns right. */
  className?: string;
  /** On the cells only. */
  cellClassName?: string;
  /** The cell names its row (`<th scope="row">`), for tables read row by row. */
  rowHeader?: boolean;
  /** `data-testid` of every cell of the column, for tests that read one column of a row. */
  testId?: string;
}

/** A column header that is only read out: the actions column. */
export const ACTIONS_HEADER = <span className="visually-hidden">Actions</span>;

export function DataTable<Row>({
  rows,
  columns,
  rowKey,
  rowProps,
  caption,
  compact,
  className,
  testId,
  busy,
}: {
  rows: readonly Row[];
  columns: readonly Column<Row>[];
  rowKey: (row: Row) => string;
  /** Extra attributes of a row (data-* hooks for tests and styles). */
  rowProps?: (row: Row) => HTMLAttributes<HTMLTableRowElement> & Record<`data-${string}`, string>;
  /** Read by screen readers only. */
  caption?: string;
  compact?: boolean;
  className?: string;
  testId?: string;
  busy?: boolean;
}) {
  const classes = ["table", compact ? "compact" : null, className].filter(Boolean).join(" ");
  return (
    <div className="table-wrap">
      <table className={classes} data-testid={testId} aria-busy={busy || undefined}>
        {caption ? <caption className="visually-hidden">{caption}</caption> : null}
        <thead>
          <tr>
            {columns.map((c, i) => (
              <th key={i} scope="col" className={c.className}>
                {c.header}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={rowKey(row)} {...rowProps?.(row)}>
              {columns.map((c, i) => {
                const cellClass = [c.className, c.cellClassName].filter(Boolean).join(" ") || undefined;
                return c.rowHeader ? (
                  <th key={i} scope="row" className={cellClass} data-testid={c.testId}>
                    {c.cell(row)}
                  </th>
                ) : (
                  <td key={i} className={cellClass} data-testid={c.testId}>
                    {c.cell(row)}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
