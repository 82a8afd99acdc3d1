import { useQuery } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { Link, useSearchParams } from "react-router";
import { ApiError, api, authorizedFetch, unwrap } from "../api/client";
import { DateField } from "../components/date-field";
import { QueryView } from "../components/states";
import { Alert, Badge, Button, Card, PageHeader, Select, TableFrame, td, th } from "../components/ui";
import { useI18n } from "../i18n/context";
import { useFormat, zonedIso } from "../i18n/format";
import { useKeys, usePrices } from "../lib/queries";

const STATUSES = ["completed", "failed", "cancelled", "pending"] as const;
type Status = (typeof STATUSES)[number];

export function statusTone(s: string) {
  return s === "completed" ? "green" : s === "failed" ? "red" : s === "cancelled" ? "amber" : "blue";
}

/** Filters live in the URL (?key_id=&model=&status=&from=&to=), so a filtered view survives a reload. */
function useFilters() {
  const [params, setParams] = useSearchParams();
  const get = (k: string) => params.get(k) ?? "";
  const filters = { key_id: get("key_id"), model: get("model"), status: get("status"), from: get("from"), to: get("to") };
  return { filters, setParams };
}

/** A date input (YYYY-MM-DD, the user's calendar day) → the instant the API filters on. */
/** The start of a calendar day in the billing zone (or of the next day, for an inclusive "to"). */
function dayStart(d: string, timeZone: string, nextDay = false): string | undefined {
  if (!d) return undefined;
  let day = d;
  if (nextDay) {
    const n = new Date(`${d}T00:00:00Z`);
    n.setUTCDate(n.getUTCDate() + 1);
    day = n.toISOString().slice(0, 10);
  }
  return zonedIso(day, timeZone);
}

export function ActivityPage() {
  const { t } = useI18n();
  const f = useFormat();
  const { filters, setParams } = useFilters();
  const [cursors, setCursors] = useState<string[]>([]);
  const [csvError, setCsvError] = useState<string | null>(null);
  const cursor = cursors[cursors.length - 1];
  const keys = useKeys();
  const prices = usePrices();
  const query = {
    key_id: filters.key_id || undefined,
    model: filters.model || undefined,
    status: (filters.status || undefined) as Status | undefined,
    from: dayStart(filters.from, f.timeZone),
    to: dayStart(filters.to, f.timeZone, true),
  };
  const q = useQuery({
    queryKey: ["requests", query, cursor],
    queryFn: async () => {
      try {
        return await unwrap(api.GET("/v1/client/requests", { params: { query: { ...query, limit: 25, cursor } } }));
      } catch (e) {
        // A key id this account does not own is refused as unknown (404): to the filter it matches nothing.
        if (query.key_id && e instanceof ApiError && e.status === 404) return { data: [], next_cursor: null };
        throw e;
      }
    },
    placeholderData: (prev) => prev,
  });
  const keyName = new Map((keys.data?.data ?? []).map((k) => [k.id, k.name || k.key]));

  function apply(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const fd = new FormData(e.currentTarget);
    const next = new URLSearchParams();
    for (const k of ["key_id", "model", "status", "from", "to"]) {
      const v = String(fd.get(k) ?? "");
      if (v) next.set(k, v);
    }
    setCursors([]);
    setParams(next);
  }

  /** The CSV needs the session's Bearer token, so it is fetched and handed to the browser as a file. */
  async function exportCsv() {
    setCsvError(null);
    const qs = new URLSearchParams(Object.entries(query).filter((e): e is [string, string] => Boolean(e[1])));
    const r = await authorizedFetch(`/v1/client/requests.csv?${qs}`);
    if (!r.ok) return setCsvError(`${r.status} ${r.statusText}`);
    const url = URL.createObjectURL(await r.blob());
    const a = document.createElement("a");
    a.href = url;
    a.download = /filename="([^"]+)"/.exec(r.headers.get("content-disposition") ?? "")?.[1] ?? "requests.csv";
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }

  return (
    <>
      <PageHeader
        title={t("activity.title")}
        actions={
          <Button variant="secondary" onClick={() => void exportCsv()}>
            {t("activity.csv")}
          </Button>
        }
      />
      <Card className="mb-4">
        <form onSubmit={apply} className="grid grid-cols-1 items-end gap-3 sm:grid-cols-2 lg:grid-cols-6" aria-label={t("activity.filters")} key={JSON.stringify(filters)}>
          <Select label={t("activity.key")} name="key_id" defaultValue={filters.key_id}>
            <option value="">{t("activity.allKeys")}</option>
            {(keys.data?.data ?? []).map((k) => (
              <option key={k.id} value={k.id}>
                {k.name || k.key}
              </option>
            ))}
          </Select>
          <Select label={t("activity.model")} name="model" defaultValue={filters.model}>
            <option value="">{t("activity.allModels")}</option>
            {(prices.data?.data ?? []).map((m) => (
              <option key={m.id} value={m.id}>
                {m.id}
              </option>
            ))}
          </Select>
          <Select label={t("activity.status")} name="status" defaultValue={filters.status}>
            <option value="">{t("activity.allStatuses")}</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {t(`activity.status.${s}`)}
              </option>
            ))}
          </Select>
          <DateField label={t("activity.from")} name="from" defaultValue={filters.from} />
          <DateField label={t("activity.to")} name="to" defaultValue={filters.to} />
          <Button type="submit">{t("activity.apply")}</Button>
        </form>
      </Card>
      {csvError && <Alert tone="red">{csvError}</Alert>}
      <Card>
        <QueryView q={q} empty={t("activity.empty")} isEmpty={(d) => d.data.length === 0}>
          {(d) => (
            <>
              {/* Below 640 px one line per request (time, model, status, cost); the table needs the width. */}
              <ul className="divide-y divide-slate-100 sm:hidden">
                {d.data.map((r) => (
                  <li key={r.id} className="py-2">
                    <Link to={`/activity/${r.id}`} className="flex items-center justify-between gap-2 text-sm">
                      <span className="min-w-0">
                        <span className="block text-indigo-700 underline">{f.when(r.created_at)}</span>
                        <span className="block truncate font-mono text-xs text-slate-700">{r.served_model ?? r.model ?? "—"}</span>
                      </span>
                      <span className="shrink-0 text-right">
                        <span className="tabular block text-slate-900">{f.cost(r.cost)}</span>
                        <Badge tone={statusTone(r.status)}>{t(`activity.status.${r.status}`)}</Badge>
                      </span>
                    </Link>
                  </li>
                ))}
              </ul>
              <div className="hidden sm:block">
              <TableFrame label={t("activity.title")}>
                <thead>
                  <tr>
                    <th className={th}>{t("activity.time")}</th>
                    <th className={th}>{t("activity.model")}</th>
                    <th className={th}>{t("activity.key")}</th>
                    <th className={th}>{t("activity.status")}</th>
                    <th className={`${th} text-right`}>{t("activity.tokens")}</th>
                    <th className={`${th} text-right`}>{t("activity.cost")}</th>
                    <th className={`${th} text-right`}>{t("activity.latency")}</th>
                  </tr>
                </thead>
                <tbody className="divide-y divide-slate-100">
                  {d.data.map((r) => (
                    <tr key={r.id} data-request-id={r.id}>
                      <td className={td}>
                        <Link to={`/activity/${r.id}`} className="text-indigo-700 underline">
                          {f.when(r.created_at)}
                        </Link>
                      </td>
                      <td className={`${td} font-mono text-xs`}>{r.served_model ?? r.model ?? "—"}</td>
                      <td className={td}>{r.api_key_id ? (keyName.get(r.api_key_id) ?? r.api_key_id) : "—"}</td>
                      <td className={td}>
                        <Badge tone={statusTone(r.status)}>{t(`activity.status.${r.status}`)}</Badge>
                      </td>
                      <td className={`${td} tabular text-right`}>
                        {f.number(r.total_tokens)}
                        {r.estimated && <span className="ml-1 text-xs text-amber-800">({t("activity.estimated")})</span>}
                      </td>
                      <td className={`${td} tabular text-right`} data-testid="request-cost" data-cost={r.cost ?? ""}>
                        {f.cost(r.cost)}
                      </td>
                      <td className={`${td} tabular text-right`}>{f.ms(r.latency_ms)}</td>
                    </tr>
                  ))}
                </tbody>
              </TableFrame>
              </div>
              <div className="mt-3 flex gap-2">
                {cursors.length > 0 && (
                  <Button variant="secondary" onClick={() => setCursors([])}>
                    {t("common.first")}
                  </Button>
                )}
                {d.next_cursor && (
                  <Button variant="secondary" onClick={() => setCursors((c) => [...c, d.next_cursor!])}>
                    {t("common.next")}
                  </Button>
                )}
              </div>
            </>
          )}
        </QueryView>
      </Card>
    </>
  );
}
