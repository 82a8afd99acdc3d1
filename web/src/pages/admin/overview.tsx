import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { Link } from "react-router";
import { Bar, BarChart, CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { api, unwrap, type Schemas } from "../../api/client";
import { QueryView } from "../../components/states";
import { DataTable } from "../../components/data-table";
import { Alert, Card, PageHeader, Select, Stat } from "../../components/ui";
import { Id, pct, SignedMoney, StatusBadge } from "../../features/admin/components";
import { adminKey } from "../../features/admin/hooks";
import { useI18n } from "../../i18n/context";
import { useFormat } from "../../i18n/format";

type Overview = Schemas["AdminOverview"];
type Figures = Schemas["OverviewFigures"];

const COLORS = { revenue: "#4338ca", cost: "#b45309", profit: "#15803d" };

function PeriodCard({ label, f }: { label: string; f: Figures }) {
  const { t, locale } = useI18n();
  const fmt = useFormat();
  return (
    <section aria-label={label} className="rounded-lg bg-white p-4 shadow-sm ring-1 ring-slate-200" data-testid={`period-${label}`}>
      <h2 className="text-sm font-semibold text-slate-900">{label}</h2>
      <dl className="mt-2 grid grid-cols-2 gap-x-4 gap-y-2 text-sm">
        <dt className="text-slate-600">{t("admin.revenue")}</dt>
        <dd className="tabular text-right font-medium text-slate-900">{fmt.cost(f.revenue)}</dd>
        <dt className="text-slate-600">{t("admin.upstreamCost")}</dt>
        <dd className="tabular text-right text-slate-900">{fmt.cost(f.upstream_cost)}</dd>
        <dt className="text-slate-600">{t("admin.profit")}</dt>
        <dd className="tabular text-right font-semibold" data-testid="profit" data-value={f.profit}>
          <SignedMoney value={f.profit} format={fmt.cost} />
        </dd>
        <dt className="text-slate-600">{t("admin.margin")}</dt>
        <dd className="tabular text-right text-slate-900">{pct(f.margin, locale)}</dd>
        <dt className="text-slate-600">{t("admin.requests")}</dt>
        <dd className="tabular text-right text-slate-900">{fmt.number(f.requests)}</dd>
        <dt className="text-slate-600">{t("admin.errorRate")}</dt>
        <dd className="tabular text-right text-slate-900">{pct(f.error_rate, locale)}</dd>
      </dl>
    </section>
  );
}

function MoneyTable({ rows, first, label }: { rows: Array<Figures & { key: string; label: React.ReactNode }>; first: string; label: string }) {
  const { t, locale } = useI18n();
  const fmt = useFormat();
  return (
    <DataTable
      label={label}
      rows={rows}
      rowKey={(r) => r.key}
      columns={[
        { header: first, cell: (r) => r.label },
        { header: t("admin.requests"), align: "right", cell: (r) => fmt.number(r.requests) },
        { header: t("admin.revenue"), align: "right", cell: (r) => fmt.cost(r.revenue) },
        { header: t("admin.upstreamCost"), align: "right", cell: (r) => fmt.cost(r.upstream_cost) },
        { header: t("admin.profit"), align: "right", cell: (r) => <SignedMoney value={r.profit} format={fmt.cost} /> },
        { header: t("admin.margin"), align: "right", cell: (r) => pct(r.margin, locale) },
        { header: t("admin.errorRate"), align: "right", cell: (r) => pct(r.error_rate, locale) },
      ]}
    />
  );
}

function Charts({ o }: { o: Overview }) {
  const { t } = useI18n();
  const fmt = useFormat();
  const daily = o.daily.map((d) => ({ day: fmt.day(d.date), revenue: Number(d.revenue), cost: Number(d.upstream_cost), profit: Number(d.profit), requests: d.requests, failed: d.failed }));
  const models = o.by_model.slice(0, 10).map((m) => ({ model: m.model || "—", revenue: Number(m.revenue), cost: Number(m.upstream_cost), profit: Number(m.profit) }));
  const money = (v: unknown) => fmt.cost(String(v));
  return (
    <div className="grid gap-4 lg:grid-cols-2">
      <Card title={t("admin.overview.byDay")}>
        <figure aria-label={t("admin.overview.byDay")} className="h-64">
          <ResponsiveContainer width="100%" height="100%">
            <LineChart data={daily} margin={{ top: 5, right: 10, left: 0, bottom: 0 }}>
              <CartesianGrid stroke="#e2e8f0" strokeDasharray="3 3" />
              <XAxis dataKey="day" tick={{ fontSize: 11, fill: "#475569" }} minTickGap={16} />
              <YAxis tick={{ fontSize: 11, fill: "#475569" }} width={60} />
              <Tooltip formatter={money} />
              <Legend wrapperStyle={{ fontSize: 12 }} />
              <Line type="monotone" dataKey="revenue" name={t("admin.revenue")} stroke={COLORS.revenue} dot={false} isAnimationActive={false} />
              <Line type="monotone" dataKey="cost" name={t("admin.upstreamCost")} stroke={COLORS.cost} dot={false} isAnimationActive={false} />
              <Line type="monotone" dataKey="profit" name={t("admin.profit")} stroke={COLORS.profit} dot={false} isAnimationActive={false} />
            </LineChart>
          </ResponsiveContainer>
        </figure>
      </Card>
      <Card title={t("admin.overview.requestsByDay")}>
        <figure aria-label={t("admin.overview.requestsByDay")} className="h-64">
          <ResponsiveContainer width="100%" height="100%">
            <BarChart data={daily} margin={{ top: 5, right: 10, left: 0, bottom: 0 }}>
              <CartesianGrid stroke="#e2e8f0" strokeDasharray="3 3" />
              <XAxis dataKey="day" tick={{ fontSize: 11, fill: "#475569" }} minTickGap={16} />
              <YAxis tick={{ fontSize: 11, fill: "#475569" }} width={40} allowDecimals={false} />
              <Tooltip />
              <Legend wrapperStyle={{ fontSize: 12 }} />
              <Bar dataKey="requests" name={t("admin.requests")} fill="#6366f1" isAnimationActive={false} />
              <Bar dataKey="failed" name={t("admin.failed")} fill="#dc2626" isAnimationActive={false} />
            </BarChart>
          </ResponsiveContainer>
        </figure>
      </Card>
      <Card title={t("admin.overview.byModel")} className="lg:col-span-2">
        {models.length === 0 ? (
          <p className="text-sm text-slate-600">{t("admin.overview.noTraffic")}</p>
        ) : (
          <figure aria-label={t("admin.overview.byModel")} className="h-64">
            <ResponsiveContainer width="100%" height="100%">
              <BarChart data={models} layout="vertical" margin={{ top: 5, right: 10, left: 10, bottom: 0 }}>
                <CartesianGrid stroke="#e2e8f0" strokeDasharray="3 3" />
                <XAxis type="number" tick={{ fontSize: 11, fill: "#475569" }} />
                <YAxis type="category" dataKey="model" width={160} tick={{ fontSize: 11, fill: "#475569" }} />
                <Tooltip formatter={money} />
                <Legend wrapperStyle={{ fontSize: 12 }} />
                <Bar dataKey="revenue" name={t("admin.revenue")} fill={COLORS.revenue} isAnimationActive={false} />
                <Bar dataKey="cost" name={t("admin.upstreamCost")} fill={COLORS.cost} isAnimationActive={false} />
                <Bar dataKey="profit" name={t("admin.profit")} fill={COLORS.profit} isAnimationActive={false} />
              </BarChart>
            </ResponsiveContainer>
          </figure>
        )}
      </Card>
    </div>
  );
}

export function AdminOverviewPage() {
  const { t } = useI18n();
  const fmt = useFormat();
  const [days, setDays] = useState(30);
  const q = useQuery({ queryKey: adminKey("overview", days), queryFn: () => unwrap(api.GET("/admin/overview", { params: { query: { days } } })), refetchInterval: 30_000 });

  return (
    <>
      <PageHeader
        title={t("admin.nav.overview")}
        actions={
          <Select label={t("admin.overview.window")} value={String(days)} onChange={(e) => setDays(Number(e.target.value))}>
            {[7, 30, 90].map((d) => (
              <option key={d} value={d}>
                {t("admin.overview.days", { n: d })}
              </option>
            ))}
          </Select>
        }
      >
        {t("admin.overview.subtitle")}
      </PageHeader>
      <QueryView q={q}>
        {(o) => (
          <div className="space-y-5">
            <div className="grid gap-4 md:grid-cols-3">
              <PeriodCard label={t("admin.overview.today")} f={o.periods.today} />
              <PeriodCard label={t("admin.overview.d7")} f={o.periods.d7} />
              <PeriodCard label={t("admin.overview.d30")} f={o.periods.d30} />
            </div>
            <div className="grid gap-4 sm:grid-cols-2 lg:grid-cols-4">
              <Stat label={t("admin.overview.openHolds")} value={fmt.number(o.holds.open)} hint={`${fmt.cost(o.holds.amount)}${o.holds.expired ? ` · ${t("admin.overview.expiredHolds", { n: o.holds.expired })}` : ""}`} />
              <Stat label={t("admin.overview.openCircuits")} value={fmt.number(o.open_circuits)} hint={<Link to="/admin/upstreams" className="text-indigo-700 underline">{t("admin.nav.upstreams")}</Link>} />
              <Stat label={t("admin.overview.lossRequests")} value={fmt.number(o.anomaly_counts.loss)} hint={t("admin.overview.lossHint")} />
              <Stat label={t("admin.overview.estimated")} value={fmt.number(o.anomaly_counts.estimated)} hint={t("admin.overview.estimatedHint")} />
            </div>
            {o.low_balance_upstreams.length > 0 && (
              <Alert tone="amber">
                <strong>{t("admin.overview.lowBalances", { usd: o.low_balance_threshold_usd })}</strong>{" "}
                {o.low_balance_upstreams.map((u) => `${u.provider_id}/${u.name || u.id}: $${u.balance}`).join(", ")}
              </Alert>
            )}
            <Charts o={o} />
            <Card title={t("admin.overview.byProvider")}>
              {o.by_provider.length === 0 ? (
                <p className="text-sm text-slate-600">{t("admin.overview.noTraffic")}</p>
              ) : (
                <MoneyTable label={t("admin.overview.byProvider")} first={t("admin.provider")} rows={o.by_provider.map((p) => ({ ...p, key: p.provider_id, label: p.provider_id || "—" }))} />
              )}
            </Card>
            <Card title={t("admin.overview.byModel")}>
              {o.by_model.length === 0 ? (
                <p className="text-sm text-slate-600">{t("admin.overview.noTraffic")}</p>
              ) : (
                <MoneyTable label={t("admin.overview.byModelTable")} first={t("admin.model")} rows={o.by_model.map((m) => ({ ...m, key: m.model, label: m.model || "—" }))} />
              )}
            </Card>
            <Card title={t("admin.overview.topAccounts")}>
              {o.top_accounts.length === 0 ? (
                <p className="text-sm text-slate-600">{t("admin.overview.noTraffic")}</p>
              ) : (
                <MoneyTable
                  label={t("admin.overview.topAccounts")}
                  first={t("admin.account")}
                  rows={o.top_accounts.map((a) => ({
                    ...a,
                    key: a.account_id,
                    label: (
                      <Link to={`/admin/accounts/${a.account_id}`} className="text-indigo-700 underline">
                        {a.name ?? a.account_id}
                      </Link>
                    ),
                  }))}
                />
              )}
            </Card>
            <Card title={t("admin.overview.anomalies")}>
              {o.anomalies.length === 0 ? (
                <p className="text-sm text-slate-600">{t("admin.overview.noAnomalies")}</p>
              ) : (
                <DataTable
                  label={t("admin.overview.anomalies")}
                  rows={o.anomalies}
                  rowKey={(a) => a.id}
                  columns={[
                    { header: t("admin.time"), cell: (a) => fmt.dateTime(a.created_at) },
                    {
                      header: t("admin.overview.reason"),
                      cell: (a) => (
                        <>
                          <StatusBadge status={a.reason === "loss" ? "loss" : a.reason} />
                          {a.error_code && <span className="ml-2 text-xs text-slate-600">{a.error_code}</span>}
                        </>
                      ),
                    },
                    {
                      header: t("admin.model"),
                      cell: (a) => (
                        <>
                          <div>{a.model ?? "—"}</div>
                          <div className="text-xs text-slate-600">{a.provider_id ?? "—"}</div>
                        </>
                      ),
                    },
                    { header: t("admin.price"), align: "right", cell: (a) => fmt.cost(a.price) },
                    { header: t("admin.upstreamCost"), align: "right", cell: (a) => fmt.cost(a.upstream_cost) },
                    { header: t("admin.profit"), align: "right", cell: (a) => <SignedMoney value={a.profit} format={fmt.cost} /> },
                    {
                      header: t("admin.request"),
                      cell: (a) => (
                        <Link to={`/admin/requests/${a.id}`} className="text-indigo-700 underline">
                          <Id id={a.id} />
                        </Link>
                      ),
                    },
                  ]}
                />
              )}
            </Card>
          </div>
        )}
      </QueryView>
    </>
  );
}
