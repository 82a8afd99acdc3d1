import { Fragment, type ReactNode } from "react";
import { cx, TableFrame, td, th } from "./ui";

/** `data-*` attributes a row or card carries (tests and scripts find rows by them). */
type DataAttrs = Record<`data-${string}`, string | number | undefined>;

export interface Column<T> {
  header: ReactNode;
  /** The header is read by screen readers only (an actions column has no visible title). */
  srOnly?: boolean;
  /** Right: figures (tabular digits, aligned on the right edge). */
  align?: "right";
  /** Extra classes on each cell (widths, truncation, spacing of buttons), or per row (a sign's colour). */
  className?: string | ((row: T) => string);
  /** A column under a shared header: consecutive columns with the same group sit under one centred title. */
  group?: string;
  /** The cell's tooltip, e.g. the full text of a truncated cell. */
  title?: (row: T) => string | undefined;
  cell: (row: T) => ReactNode;
}

interface Props<T> {
  /** The table's accessible name (its scroll region is labelled with it). */
  label: string;
  columns: Column<T>[];
  rows: readonly T[];
  rowKey: (row: T, index: number) => string;
  rowAttrs?: (row: T) => DataAttrs;
  /** A full-width row under a row (opened details); null when closed. */
  expanded?: (row: T) => ReactNode;
  /**
   * Below 640 px each row becomes a card of "label: value" lines instead of a table that scrolls
   * sideways; the attributes go on the card, and each column's classes on its value.
   */
  cards?: { attrs: (row: T) => DataAttrs };
}

function cellClass<T>(c: Column<T>, r: T): string | undefined {
  return typeof c.className === "function" ? c.className(r) : c.className;
}

/** Header cells: one row, or two when columns are grouped (ungrouped headers span both rows). */
function Head<T>({ columns }: { columns: Column<T>[] }) {
  const grouped = columns.some((c) => c.group);
  const own = (c: Column<T>, i: number, rowSpan?: number) => (
    <th key={i} className={cx(th, c.align === "right" && "text-right")} rowSpan={rowSpan}>
      {c.srOnly ? <span className="sr-only">{c.header}</span> : c.header}
    </th>
  );
  if (!grouped) return <tr>{columns.map((c, i) => own(c, i))}</tr>;
  const top: ReactNode[] = [];
  for (let i = 0; i < columns.length; i++) {
    const c = columns[i]!;
    if (!c.group) {
      top.push(own(c, i, 2));
      continue;
    }
    let span = 1;
    while (columns[i + span]?.group === c.group) span++;
    top.push(
      <th key={i} className={`${th} text-center`} colSpan={span}>
        {c.group}
      </th>,
    );
    i += span - 1;
  }
  return (
    <>
      <tr>{top}</tr>
      <tr>{columns.map((c, i) => (c.group ? own(c, i) : null))}</tr>
    </>
  );
}

function Table<T>({ label, columns, rows, rowKey, rowAttrs, expanded }: Props<T>) {
  return (
    <TableFrame label={label}>
      <thead>
        <Head columns={columns} />
      </thead>
      <tbody className="divide-y divide-slate-100">
        {rows.map((r, i) => {
          const more = expanded?.(r);
          return (
            <Fragment key={rowKey(r, i)}>
              <tr {...rowAttrs?.(r)}>
                {columns.map((c, j) => (
                  <td key={j} className={cx(td, c.align === "right" && "tabular text-right", cellClass(c, r))} title={c.title?.(r)}>
                    {c.cell(r)}
                  </td>
                ))}
              </tr>
              {more && (
                <tr>
                  <td colSpan={columns.length} className="px-3 pb-3">
                    {more}
                  </td>
                </tr>
              )}
            </Fragment>
          );
        })}
      </tbody>
    </TableFrame>
  );
}

/** A table built from column definitions: one look and one markup for every list of rows. */
export function DataTable<T>(props: Props<T>) {
  const { label, columns, rows, rowKey, cards } = props;
  if (!cards) return <Table {...props} />;
  return (
    <>
      <ul className="space-y-3 sm:hidden" aria-label={label}>
        {rows.map((r, i) => (
          <li key={rowKey(r, i)} className="rounded-md p-3 ring-1 ring-slate-200" {...cards.attrs(r)}>
            <dl className="grid grid-cols-[auto_1fr] gap-x-3 gap-y-1 text-sm">
              {columns.map((c, j) => (
                <Fragment key={j}>
                  <dt className={cx("text-slate-600", c.srOnly && "sr-only")}>{c.header}</dt>
                  <dd className={cx("min-w-0 text-slate-800 [overflow-wrap:anywhere]", c.align === "right" && "tabular", c.srOnly && "col-span-2", cellClass(c, r))}>{c.cell(r)}</dd>
                </Fragment>
              ))}
            </dl>
          </li>
        ))}
      </ul>
      <div className="hidden sm:block">
        <Table {...props} />
      </div>
    </>
  );
}
