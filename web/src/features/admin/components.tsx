import type { ReactNode } from "react";
import { Badge, Button } from "../../components/ui";
import { useI18n } from "../../i18n/context";

/** Previous / next for keyset pages. */
export function Pager({ page, hasNext, onPrev, onNext }: { page: number; hasNext: boolean; onPrev: () => void; onNext: () => void }) {
  const { t } = useI18n();
  if (page === 1 && !hasNext) return null;
  return (
    <nav aria-label={t("admin.pager")} className="mt-3 flex items-center gap-2">
      <Button variant="secondary" onClick={onPrev} disabled={page === 1}>
        {t("admin.prevPage")}
      </Button>
      <span className="text-sm text-slate-600">{t("admin.pageN", { n: page })}</span>
      <Button variant="secondary" onClick={onNext} disabled={!hasNext}>
        {t("common.next")}
      </Button>
    </nav>
  );
}

const STATUS_TONE: Record<string, "green" | "gray" | "red" | "amber" | "blue"> = {
  active: "green",
  completed: "green",
  succeeded: "green",
  paid: "green",
  credited: "green",
  closed: "green",
  approved: "green",
  enabled: "green",
  pending: "amber",
  half_open: "amber",
  refunding: "amber",
  created: "blue",
  blocked: "red",
  failed: "red",
  open: "red",
  revoked: "red",
  rejected: "red",
  refunded: "gray",
  cancelled: "gray",
  disabled: "gray",
  archived: "gray",
  expired: "gray",
  superseded: "gray",
  loss: "red",
  unpriced: "amber",
};

/** A status word as a coloured badge, translated where the panel knows it. */
export function StatusBadge({ status }: { status: string }) {
  const { t } = useI18n();
  const key = `admin.status.${status}`;
  const label = t(key);
  return <Badge tone={STATUS_TONE[status] ?? "gray"}>{label === key ? status : label}</Badge>;
}

/** Money that can be negative: red below zero. */
export function SignedMoney({ value, format }: { value: string | null | undefined; format: (v: string | null | undefined) => string }) {
  const neg = value !== null && value !== undefined && value.startsWith("-");
  return <span className={neg ? "text-red-700" : undefined}>{format(value)}</span>;
}

export function Mono({ children }: { children: ReactNode }) {
  return <code className="font-mono text-xs text-slate-700">{children}</code>;
}

/** `acct_oMJDYLXIolkK9MPlJk5V` → `acct_oMJD…Jk5V`; other strings unchanged. */
export function shortId(id: string): string {
  const m = /^([a-z]+:)?([a-z]+_)([A-Za-z0-9]{12,})$/.exec(id);
  if (!m) return id;
  return `${m[1] ?? ""}${m[2]}${m[3]!.slice(0, 4)}…${m[3]!.slice(-4)}`;
}

/** A long id shortened, the full id in the title (hover) and for screen readers. */
export function Id({ id }: { id: string | null | undefined }) {
  if (!id) return <span className="text-slate-500">—</span>;
  const s = shortId(id);
  return (
    <code className="font-mono text-xs text-slate-700" title={id}>
      {s === id ? id : <><span aria-hidden>{s}</span><span className="sr-only">{id}</span></>}
    </code>
  );
}

/** A row of filter controls above a table. */
export function FilterBar({ children, onSubmit }: { children: ReactNode; onSubmit?: () => void }) {
  const { t } = useI18n();
  return (
    <form
      role="search"
      className="mb-4 flex flex-wrap items-end gap-3"
      onSubmit={(e) => {
        e.preventDefault();
        onSubmit?.();
      }}
    >
      {children}
      {onSubmit && (
        <Button type="submit" variant="secondary">
          {t("common.search")}
        </Button>
      )}
    </form>
  );
}

export function Json({ value }: { value: unknown }) {
  if (value === null || value === undefined) return <span className="text-slate-500">—</span>;
  return <pre className="max-h-64 overflow-auto rounded bg-slate-50 p-2 text-xs text-slate-800 ring-1 ring-slate-200">{JSON.stringify(value, null, 2)}</pre>;
}

/** percent of a 0..1 fraction, or — */
export function pct(v: number | null | undefined, locale: string): string {
  if (v === null || v === undefined) return "—";
  return new Intl.NumberFormat(locale === "ru" ? "ru-RU" : "en-US", { style: "percent", maximumFractionDigits: 1 }).format(v);
}
