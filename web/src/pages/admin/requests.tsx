import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { Link, useParams, useSearchParams } from "react-router";
import { api, unwrap } from "../../api/client";
import { DateField } from "../../components/date-field";
import { QueryView } from "../../components/states";
import { DataTable } from "../../components/data-table";
import { Card, Field, LinkButton, PageHeader, Select } from "../../components/ui";
import { FilterBar, Id, Json, Mono, Pager, SignedMoney, StatusBadge } from "../../features/admin/components";
import { adminKey, useCursorPages } from "../../features/admin/hooks";
import { useI18n } from "../../i18n/context";
import { useFormat } from "../../i18n/format";

/** A request-log row as /admin/logs returns it (the API types it as an open record). */
export interface LogRow {
  id: string;
  account_id: string;
  api_key_id: string | null;
  endpoint: string;
  model: string | null;
  served_model: string | null;
  provider_id: string | null;
  upstream_account_id: string | null;
  stream: boolean;
  status: string;
  prompt_tokens: number | null;
  completion_tokens: number | null;
  cached_tokens: number | null;
  reasoning_tokens: number | null;
  total_tokens: number | null;
  estimated: boolean;
  latency_ms: number | null;
  ttft_ms: number | null;
  upstream_status: number | null;
  error_code: string | null;
  cost: string | null;
  upstream_cost: string | null;
  profit: string | null;
  cache_hit: boolean;
  attempts: number;
  created_at: string;
  completed_at: string | null;
}

const STATUSES = ["pending", "completed", "failed", "cancelled"] as const;
type Status = (typeof STATUSES)[number];

/** The request log across every account, with upstream cost and profit per request. */
export function AdminRequestsPage() {
  const { t } = useI18n();
  const fmt = useFormat();
  const [params, setParams] = useSearchParams();
  const pages = useCursorPages();
  const filters = {
    account_id: params.get("account_id") ?? "",
    model: params.get("model") ?? "",
    provider_id: params.get("provider_id") ?? "",
    status: (params.get("status") ?? "") as Status | "",
    from: params.get("from") ?? "",
    to: params.get("to") ?? "",
  };
  const [draft, setDraft] = useState(filters);
  const q = useQuery({
    queryKey: adminKey("logs", filters, pages.cursor),
    queryFn: () =>
      unwrap(
        api.GET("/admin/logs", {
          params: {
            query: {
              limit: 50,
              cursor: pages.cursor,
              account_id: filters.account_id || undefined,
              model: filters.model || undefined,
              provider_id: filters.provider_id || undefined,
              status: filters.status || undefined,
              from: fmt.instant(filters.from),
              to: fmt.instant(filters.to),
            },
          },
        }),
      ),
  });
  const apply = () => {
    pages.reset();
    setParams(Object.fromEntries(Object.entries(draft).filter(([, v]) => v)));
  };

  return (
    <>
      <PageHeader title={t("admin.nav.requests")}>{t("admin.requests.subtitle")}</PageHeader>
      <FilterBar onSubmit={apply}>
        <Field label={t("admin.account")} value={draft.account_id} onChange={(e) => setDraft({ ...draft, account_id: e.target.value.trim() })} placeholder="acct_…" className="w-48" />
        <Field label={t("admin.model")} value={draft.model} onChange={(e) => setDraft({ ...draft, model: e.target.value.trim() })} className="w-48" />
        <Field label={t("admin.provider")} value={draft.provider_id} onChange={(e) => setDraft({ ...draft, provider_id: e.target.value.trim() })} className="w-36" />
        <Select label={t("admin.status")} value={draft.status} onChange={(e) => setDraft({ ...draft, status: e.target.value as Status | "" })} className="w-40">
          <option value="">{t("common.all")}</option>
          {STATUSES.map((s) => (
            <option key={s} value={s}>
              {t(`admin.status.${s}`)}
            </option>
          ))}
        </Select>
        <DateField label={t("admin.from")} time value={draft.from} onChange={(v) => setDraft({ ...draft, from: v })} className="w-64" />
        <DateField label={t("admin.to")} time value={draft.to} onChange={(v) => setDraft({ ...draft, to: v })} className="w-64" />
      </FilterBar>
      <Card>
        <QueryView q={q} isEmpty={(d) => d.data.length === 0} empty={t("admin.requests.empty")}>
          {(d) => {
            const rows = d.data as unknown as LogRow[];
            return (
              <>
                <DataTable
                  label={t("admin.nav.requests")}
                  rows={rows}
                  rowKey={(r) => r.id}
                  rowAttrs={(r) => ({ "data-testid": "log-row", "data-id": r.id, "data-price": r.cost ?? "", "data-upstream-cost": r.upstream_cost ?? "", "data-profit": r.profit ?? "" })}
                  columns={[
                    {
                      header: t("admin.time"),
                      cell: (r) => (
                        <Link to={`/admin/requests/${r.id}`} className="text-indigo-700 underline">
                          {fmt.dateTime(r.created_at)}
                        </Link>
                      ),
                    },
                    {
                      header: t("admin.account"),
                      cell: (r) => (
                        <Link to={`/admin/accounts/${r.account_id}`} className="text-indigo-700 underline">
                          <Id id={r.account_id} />
                        </Link>
                      ),
                    },
                    {
                      header: (
                        <>
                          {t("admin.model")} / {t("admin.provider")}
                        </>
                      ),
                      cell: (r) => (
                        <>
                          <div>{r.model ?? "—"}</div>
                          <div className="text-xs text-slate-600">{r.provider_id ?? "—"}</div>
                        </>
                      ),
                    },
                    {
                      header: t("admin.status"),
                      cell: (r) => (
                        <>
                          <StatusBadge status={r.status} />
                          {r.error_code && <div className="text-xs text-slate-600">{r.error_code}</div>}
                        </>
                      ),
                    },
                    {
                      header: t("admin.tokens"),
                      align: "right",
                      cell: (r) => (
                        <>
                          {fmt.number(r.total_tokens)}
                          {r.estimated && <span title={t("admin.requests.estimated")}>*</span>}
                        </>
                      ),
                    },
                    { header: t("admin.price"), align: "right", cell: (r) => fmt.cost(r.cost) },
                    { header: t("admin.upstreamCost"), align: "right", cell: (r) => fmt.cost(r.upstream_cost) },
                    { header: t("admin.profit"), align: "right", cell: (r) => <SignedMoney value={r.profit} format={fmt.cost} /> },
                    { header: t("admin.latency"), align: "right", cell: (r) => fmt.ms(r.latency_ms) },
                  ]}
                />
                <Pager page={pages.page} hasNext={!!d.next_cursor} onPrev={pages.prev} onNext={() => pages.next(d.next_cursor)} />
              </>
            );
          }}
        </QueryView>
      </Card>
    </>
  );
}

export function AdminRequestDetailPage() {
  const { id = "" } = useParams();
  const { t } = useI18n();
  const fmt = useFormat();
  const q = useQuery({ queryKey: adminKey("log", id), queryFn: () => unwrap(api.GET("/admin/logs/{id}", { params: { path: { id } } })) });
  return (
    <>
      <PageHeader
        title={t("admin.requests.detail")}
        actions={
          <LinkButton to="/admin/requests" variant="secondary">
            {t("common.back")}
          </LinkButton>
        }
      >
        <Mono>{id}</Mono>
      </PageHeader>
      <QueryView q={q}>
        {(raw) => {
          const r = raw as unknown as LogRow & { account_name: string | null; meta: unknown };
          const rows: Array<[string, React.ReactNode]> = [
            [t("admin.time"), fmt.dateTime(r.created_at)],
            [
              t("admin.account"),
              <Link key="a" to={`/admin/accounts/${r.account_id}`} className="text-indigo-700 underline">
                {r.account_name ?? r.account_id}
              </Link>,
            ],
            [t("admin.key"), r.api_key_id ?? "—"],
            [t("admin.requests.endpoint"), r.endpoint],
            [t("admin.model"), r.model ?? "—"],
            [t("admin.requests.servedModel"), r.served_model ?? "—"],
            [t("admin.provider"), r.provider_id ?? "—"],
            [t("admin.upstreamAccount"), r.upstream_account_id ?? "—"],
            [t("admin.status"), <StatusBadge key="s" status={r.status} />],
            [t("admin.requests.errorCode"), r.error_code ?? "—"],
            [t("admin.requests.upstreamStatus"), r.upstream_status ?? "—"],
            [t("admin.requests.stream"), r.stream ? t("common.yes") : t("common.no")],
            [t("admin.requests.promptTokens"), fmt.number(r.prompt_tokens)],
            [t("admin.requests.completionTokens"), fmt.number(r.completion_tokens)],
            [t("admin.requests.cachedTokens"), fmt.number(r.cached_tokens)],
            [t("admin.requests.reasoningTokens"), fmt.number(r.reasoning_tokens)],
            [t("admin.requests.estimated"), r.estimated ? t("common.yes") : t("common.no")],
            [t("admin.price"), <span key="p" data-testid="detail-price">{fmt.cost(r.cost)}</span>],
            [t("admin.upstreamCost"), <span key="c" data-testid="detail-upstream-cost">{fmt.cost(r.upstream_cost)}</span>],
            [t("admin.profit"), <SignedMoney key="pr" value={r.profit} format={fmt.cost} />],
            [t("admin.latency"), fmt.ms(r.latency_ms)],
            [t("admin.requests.ttft"), fmt.ms(r.ttft_ms)],
            [t("admin.requests.attempts"), r.attempts],
            [t("admin.requests.cacheHit"), r.cache_hit ? t("common.yes") : t("common.no")],
          ];
          return (
            <div className="grid gap-4 lg:grid-cols-2">
              <Card title={t("admin.requests.facts")}>
                <dl className="grid grid-cols-[auto,1fr] gap-x-6 gap-y-2 text-sm">
                  {rows.map(([k, v]) => (
                    <div key={k} className="contents">
                      <dt className="text-slate-600">{k}</dt>
                      <dd className="tabular text-slate-900">{v}</dd>
                    </div>
                  ))}
                </dl>
              </Card>
              <Card title={t("admin.requests.routing")}>
                <Json value={r.meta} />
              </Card>
            </div>
          );
        }}
      </QueryView>
    </>
  );
}
