import { useQuery } from "@tanstack/react-query";
import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { api, unwrap } from "../api/client";
import { useSession } from "../auth/session";
import { CopyButton } from "../components/copy-button";
import { ErrorState, Loading, QueryView } from "../components/states";
import { Alert, Card, LinkButton, PageHeader, Stat, TableFrame, td, th } from "../components/ui";
import { useI18n } from "../i18n/context";
import { useFormat } from "../i18n/format";
import { lastDays, todayIn, useBalance, useUsage } from "../lib/queries";

/** A figure still loading (the tests wait for these to go). */
function Pending() {
  return <span data-pending>…</span>;
}

function SpendChart() {
  const { t } = useI18n();
  const f = useFormat();
  const q = useQuery({ queryKey: ["usage-daily", 30], queryFn: () => unwrap(api.GET("/v1/client/usage/daily", { params: { query: { days: 30 } } })) });
  if (q.isPending) return <Loading />;
  if (q.isError) return <ErrorState error={q.error} onRetry={() => void q.refetch()} />;
  const byDay = new Map(q.data.data.map((d) => [d.date, d]));
  const series = lastDays(todayIn(f.timeZone), 30).map((date) => ({ date, label: f.day(date), cost: Number(byDay.get(date)?.cost ?? 0), requests: byDay.get(date)?.requests ?? 0 }));
  const withSpend = series.filter((s) => s.cost > 0 || s.requests > 0);
  return (
    <>
      <div role="img" aria-label={t("overview.chart")} className="h-56 w-full">
        <ResponsiveContainer width="100%" height="100%">
          <BarChart data={series} margin={{ top: 8, right: 8, bottom: 0, left: 0 }}>
            <CartesianGrid strokeDasharray="3 3" vertical={false} stroke="#e2e8f0" />
            <XAxis dataKey="label" tick={{ fontSize: 11, fill: "#475569" }} interval="preserveStartEnd" minTickGap={16} />
            <YAxis tick={{ fontSize: 11, fill: "#475569" }} width={64} tickFormatter={(v: number) => f.axis(v)} />
            <Tooltip formatter={(v) => [f.cost(String(v)), t("overview.cost")]} labelFormatter={(l) => String(l)} />
            <Bar dataKey="cost" fill="#4f46e5" radius={[3, 3, 0, 0]} isAnimationActive={false} />
          </BarChart>
        </ResponsiveContainer>
      </div>
      <details className="mt-2 text-sm">
        <summary className="cursor-pointer text-slate-700">{t("overview.chartTable")}</summary>
        <TableFrame label={t("overview.chartTable")}>
          <thead>
            <tr>
              <th className={th}>{t("overview.day")}</th>
              <th className={th}>{t("overview.requests")}</th>
              <th className={th}>{t("overview.cost")}</th>
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100">
            {withSpend.map((s) => (
              <tr key={s.date}>
                <td className={td}>{f.date(`${s.date}T12:00:00Z`)}</td>
                <td className={`${td} tabular`}>{f.number(s.requests)}</td>
                <td className={`${td} tabular`}>{f.cost(byDay.get(s.date)?.cost)}</td>
              </tr>
            ))}
          </tbody>
        </TableFrame>
      </details>
    </>
  );
}

function ByModel() {
  const { t } = useI18n();
  const f = useFormat();
  const q = useQuery({ queryKey: ["usage-models", 30], queryFn: () => unwrap(api.GET("/v1/client/models/usage", { params: { query: { days: 30 } } })) });
  return (
    <QueryView q={q} empty={t("overview.noUsage")} isEmpty={(d) => d.data.length === 0}>
      {(d) => (
        <TableFrame label={t("overview.byModel")}>
          <thead>
            <tr>
              <th className={th}>{t("overview.model")}</th>
              <th className={`${th} text-right`}>{t("overview.requests")}</th>
              <th className={`${th} text-right`}>{t("overview.tokens")}</th>
              <th className={`${th} text-right`}>{t("overview.cost")}</th>
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100">
            {[...d.data]
              .sort((a, b) => Number(b.cost) - Number(a.cost))
              .map((m) => (
                <tr key={m.model}>
                  <td className={`${td} font-mono text-xs`}>{m.model}</td>
                  <td className={`${td} tabular text-right`}>{f.number(m.requests)}</td>
                  <td className={`${td} tabular text-right`}>{f.number(m.total_tokens)}</td>
                  <td className={`${td} tabular text-right`}>{f.cost(m.cost)}</td>
                </tr>
              ))}
          </tbody>
        </TableFrame>
      )}
    </QueryView>
  );
}

export function OverviewPage() {
  const { t } = useI18n();
  const f = useFormat();
  const { account } = useSession();
  const balance = useBalance();
  const usage = useUsage();
  const threshold = Number(account.low_balance_threshold ?? 0);
  const available = balance.data ? Number(balance.data.available) : null;
  const low = available !== null && (available <= 0 || (threshold > 0 && available < threshold));
  const baseUrl = `${location.origin}/v1`;

  return (
    <>
      <PageHeader title={t("overview.title")} actions={<LinkButton to="/billing">{t("overview.topUp")}</LinkButton>} />
      {low && (
        <div className="mb-4">
          <Alert tone="amber" action={<LinkButton to="/billing">{t("overview.topUp")}</LinkButton>}>
            {t("overview.lowBalance", { amount: f.money(balance.data!.available) })}
          </Alert>
        </div>
      )}
      {balance.isError && <ErrorState error={balance.error} onRetry={() => void balance.refetch()} />}
      {usage.isError && <ErrorState error={usage.error} onRetry={() => void usage.refetch()} />}
      <div className="grid grid-cols-1 gap-3 sm:grid-cols-2 lg:grid-cols-4">
        <Stat
          label={t("overview.available")}
          value={<span data-testid="balance-available">{balance.data ? f.money(balance.data.available) : <Pending />}</span>}
          hint={balance.data ? `${t("overview.reserved")}: ${f.money(balance.data.reserved)}` : undefined}
        />
        <Stat label={t("overview.spendToday")} value={usage.data ? f.cost(usage.data.today.cost) : <Pending />} />
        <Stat label={t("overview.spendMonth")} value={usage.data ? f.cost(usage.data.month.cost) : <Pending />} />
        <Stat label={t("overview.requestsToday")} value={usage.data ? f.number(usage.data.today.requests) : <Pending />} />
      </div>
      <Card title={t("overview.chart")} className="mt-4">
        <SpendChart />
      </Card>
      <Card title={t("overview.byModel")} className="mt-4">
        <ByModel />
      </Card>
      <Card title={t("overview.quickstart")} className="mt-4" actions={<LinkButton to="/keys" variant="secondary">{t("overview.createKey")}</LinkButton>}>
        <p className="mb-2 text-sm text-slate-700">{t("overview.quickstartText")}</p>
        <div className="flex flex-wrap items-center gap-2">
          <code className="min-w-0 flex-1 break-all rounded bg-slate-100 px-2 py-1.5 font-mono text-sm text-slate-900">{baseUrl}</code>
          <CopyButton text={baseUrl} />
        </div>
      </Card>
    </>
  );
}
