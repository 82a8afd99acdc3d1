import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { Link, useSearchParams } from "react-router";
import { api, unwrap, type Schemas } from "../../api/client";
import { FormDialog } from "../../components/form-dialog";
import { QueryView } from "../../components/states";
import { DataTable } from "../../components/data-table";
import { Alert, Button, Card, Field, PageHeader, Select } from "../../components/ui";
import { FilterBar, Id, Pager, SignedMoney, StatusBadge } from "../../features/admin/components";
import { adminKey, errorText, useAdminMutation } from "../../features/admin/hooks";
import { useI18n } from "../../i18n/context";
import { useFormat } from "../../i18n/format";

type Payment = Schemas["AdminPayment"];
type Provider = "tg_stars" | "tg_provider" | "yookassa" | "stripe";
const PAGE = 50;

/** Pages of newest-first lists paged by `before` = the last row's created_at. */
function useBeforePages() {
  const [stack, setStack] = useState<(string | undefined)[]>([undefined]);
  return { before: stack[stack.length - 1], page: stack.length, next: (b: string) => setStack((s) => [...s, b]), prev: () => setStack((s) => (s.length > 1 ? s.slice(0, -1) : s)), reset: () => setStack([undefined]) };
}

/** The shared pager over `before` pages: a full page means there may be more. */
function BeforePager({ p, rows }: { p: ReturnType<typeof useBeforePages>; rows: { created_at: string }[] }) {
  return <Pager page={p.page} hasNext={rows.length >= PAGE} onPrev={p.prev} onNext={() => p.next(rows[rows.length - 1]!.created_at)} />;
}

function AccountLink({ id }: { id: string }) {
  return (
    <Link to={`/admin/accounts/${id}`} className="text-indigo-700 underline">
      <Id id={id} />
    </Link>
  );
}

function RefundDialog({ payment, onClose }: { payment: Payment; onClose: () => void }) {
  const { t } = useI18n();
  const fmt = useFormat();
  const refund = useAdminMutation((b: { reason?: string; require_unspent_balance: boolean }) =>
    unwrap(api.POST("/admin/payments/{id}/refund", { params: { path: { id: payment.id } }, body: { ...b, retry_stuck: payment.status === "refunding" } })),
  );
  return (
    <FormDialog
      title={t("admin.payments.refundTitle")}
      onClose={onClose}
      onSubmit={(e) => {
        const f = new FormData(e.currentTarget);
        refund.mutate({ reason: String(f.get("reason") ?? "").trim() || undefined, require_unspent_balance: f.get("unspent") === "on" });
      }}
      error={refund.error ? errorText(refund.error) : null}
      busy={refund.isPending}
      submitLabel={t("admin.payments.refund")}
      danger
      done={
        refund.data && (
          <Alert tone={refund.data.status === "refunded" ? "green" : "amber"}>
            {t("admin.payments.refundResult", { status: refund.data.status, debited: fmt.cost(refund.data.debited), balance: fmt.cost(refund.data.balance_after) })}
          </Alert>
        )
      }
    >
          <p className="text-sm text-slate-700">{t("admin.payments.refundText", { amount: `${payment.amount} ${payment.currency}`, credits: fmt.cost(payment.credits), account: payment.account_id })}</p>
          <Field label={t("admin.account.reason")} name="reason" maxLength={500} />
          <label className="flex items-center gap-2 text-sm text-slate-800">
            <input type="checkbox" name="unspent" className="h-4 w-4" />
            {t("admin.payments.requireUnspent")}
          </label>
    </FormDialog>
  );
}

function PaymentsCard({ filters }: { filters: { account_id?: string; provider?: Provider; status?: string } }) {
  const { t } = useI18n();
  const fmt = useFormat();
  const p = useBeforePages();
  const [refunding, setRefunding] = useState<Payment | null>(null);
  const q = useQuery({ queryKey: adminKey("payments", filters, p.before), queryFn: () => unwrap(api.GET("/admin/payments", { params: { query: { ...filters, before: p.before, limit: PAGE } } })) });
  return (
    <Card title={t("admin.payments.payments")}>
      <QueryView q={q} isEmpty={(d) => d.data.length === 0} empty={t("admin.payments.emptyPayments")}>
        {(d) => (
          <>
            <DataTable
              label={t("admin.payments.payments")}
              rows={d.data}
              rowKey={(x) => x.id}
              rowAttrs={(x) => ({ "data-testid": "payment-row", "data-id": x.id, "data-status": x.status })}
              columns={[
                { header: t("admin.time"), cell: (x) => fmt.dateTime(x.created_at) },
                { header: t("admin.account"), cell: (x) => <AccountLink id={x.account_id} /> },
                { header: t("admin.payments.provider"), cell: (x) => t(`admin.payments.provider.${x.provider}`) },
                { header: t("admin.payments.amount"), align: "right", cell: (x) => <>{x.amount} {x.currency}</> },
                { header: t("admin.payments.credits"), align: "right", cell: (x) => fmt.cost(x.credits) },
                {
                  header: t("admin.status"),
                  cell: (x) => (
                    <>
                      <StatusBadge status={x.status} />
                      {x.refunded_by && <div className="text-xs text-slate-600">{x.refunded_by}</div>}
                    </>
                  ),
                },
                { header: t("admin.payments.commission"), align: "right", cell: (x) => (x.commission ? fmt.cost(x.commission) : "—") },
                {
                  header: t("admin.actions"),
                  srOnly: true,
                  cell: (x) =>
                    (x.status === "credited" || x.status === "refunding") && (
                      <Button variant="danger" onClick={() => setRefunding(x)}>
                        {t("admin.payments.refund")}
                      </Button>
                    ),
                },
              ]}
            />
            <BeforePager p={p} rows={d.data} />
          </>
        )}
      </QueryView>
      {refunding && <RefundDialog payment={refunding} onClose={() => setRefunding(null)} />}
    </Card>
  );
}

function OrdersCard({ filters }: { filters: { account_id?: string; provider?: Provider; status?: string } }) {
  const { t } = useI18n();
  const fmt = useFormat();
  const p = useBeforePages();
  const q = useQuery({ queryKey: adminKey("orders", filters, p.before), queryFn: () => unwrap(api.GET("/admin/payments/orders", { params: { query: { ...filters, before: p.before, limit: PAGE } } })) });
  return (
    <Card title={t("admin.payments.orders")}>
      <QueryView q={q} isEmpty={(d) => d.data.length === 0} empty={t("admin.payments.emptyOrders")}>
        {(d) => (
          <>
            <DataTable
              label={t("admin.payments.orders")}
              rows={d.data}
              rowKey={(o) => o.id}
              columns={[
                { header: t("admin.time"), cell: (o) => fmt.dateTime(o.created_at) },
                { header: t("admin.payments.order"), cell: (o) => <Id id={o.id} /> },
                { header: t("admin.account"), cell: (o) => <AccountLink id={o.account_id} /> },
                { header: t("admin.payments.provider"), cell: (o) => t(`admin.payments.provider.${o.provider}`) },
                { header: t("admin.payments.amount"), align: "right", cell: (o) => <>{o.amount} {o.currency}</> },
                { header: t("admin.payments.credits"), align: "right", cell: (o) => fmt.cost(o.credits) },
                { header: t("admin.status"), cell: (o) => <StatusBadge status={o.status} /> },
                { header: t("admin.payments.paidAt"), cell: (o) => fmt.dateTime(o.paid_at) },
              ]}
            />
            <BeforePager p={p} rows={d.data} />
          </>
        )}
      </QueryView>
    </Card>
  );
}

function RefundRequestsCard() {
  const { t } = useI18n();
  const fmt = useFormat();
  const q = useQuery({ queryKey: adminKey("refund-requests"), queryFn: () => unwrap(api.GET("/admin/payments/refund-requests", { params: { query: { status: "requested" } } })) });
  const reject = useAdminMutation((id: string) => unwrap(api.POST("/admin/payments/refund-requests/{id}/reject", { params: { path: { id } }, body: {} })));
  return (
    <Card title={t("admin.payments.refundRequests")}>
      <QueryView q={q} isEmpty={(d) => d.data.length === 0} empty={t("admin.payments.noRefundRequests")}>
        {(d) => (
          <ul className="divide-y divide-slate-100 text-sm">
            {d.data.map((r) => (
              <li key={r.id} className="flex flex-wrap items-center justify-between gap-3 py-2">
                <span>
                  {fmt.dateTime(r.created_at)} · <Id id={r.payment_id} /> · <Id id={r.account_id} />{r.note ? ` · ${r.note}` : ""}
                </span>
                <span className="flex items-center gap-2">
                  <StatusBadge status={r.status} />
                  <Button variant="secondary" onClick={() => reject.mutate(r.id)} disabled={reject.isPending}>
                    {t("admin.prices.reject")}
                  </Button>
                </span>
              </li>
            ))}
          </ul>
        )}
      </QueryView>
      {reject.error && <Alert tone="red">{errorText(reject.error)}</Alert>}
    </Card>
  );
}

function CommissionsCard({ accountId }: { accountId?: string }) {
  const { t } = useI18n();
  const fmt = useFormat();
  const p = useBeforePages();
  const q = useQuery({ queryKey: adminKey("commissions", accountId, p.before), queryFn: () => unwrap(api.GET("/admin/referral-commissions", { params: { query: { account_id: accountId, before: p.before, limit: PAGE } } })) });
  return (
    <Card title={t("admin.payments.commissions")}>
      <QueryView q={q} isEmpty={(d) => d.data.length === 0} empty={t("admin.payments.noCommissions")}>
        {(d) => (
          <>
            <DataTable
              label={t("admin.payments.commissions")}
              rows={d.data}
              rowKey={(c) => c.id}
              columns={[
                { header: t("admin.time"), cell: (c) => fmt.dateTime(c.created_at) },
                {
                  header: t("admin.payments.inviter"),
                  cell: (c) => (
                    <Link to={`/admin/accounts/${c.inviter_account_id}`} className="text-indigo-700 underline">
                      {c.inviter_name ?? c.inviter_account_id}
                    </Link>
                  ),
                },
                { header: t("admin.payments.invitee"), cell: (c) => <Id id={c.invitee_account_id} /> },
                { header: t("admin.account.kind"), cell: (c) => t(`admin.ledger.${c.kind}`) },
                { header: t("admin.account.amountCol"), align: "right", cell: (c) => <SignedMoney value={c.amount} format={fmt.cost} /> },
                { header: t("admin.payments.payment"), cell: (c) => <Id id={c.payment_id} /> },
              ]}
            />
            <BeforePager p={p} rows={d.data} />
          </>
        )}
      </QueryView>
    </Card>
  );
}

/** Orders and payments (Stars, YooKassa) with statuses, refunds, referral commissions. */
export function AdminPaymentsPage() {
  const { t } = useI18n();
  const [params, setParams] = useSearchParams();
  const filters = { account_id: params.get("account_id") || undefined, provider: (params.get("provider") || undefined) as Provider | undefined, status: params.get("status") || undefined };
  const [draft, setDraft] = useState({ account_id: filters.account_id ?? "", provider: filters.provider ?? "", status: filters.status ?? "" });
  return (
    <>
      <PageHeader title={t("admin.nav.payments")}>{t("admin.payments.subtitle")}</PageHeader>
      <FilterBar onSubmit={() => setParams(Object.fromEntries(Object.entries(draft).filter(([, v]) => v)))}>
        <Field label={t("admin.account")} value={draft.account_id} onChange={(e) => setDraft({ ...draft, account_id: e.target.value.trim() })} placeholder="acct_…" className="w-52" />
        <Select label={t("admin.payments.provider")} value={draft.provider} onChange={(e) => setDraft({ ...draft, provider: e.target.value })} className="w-48">
          <option value="">{t("common.all")}</option>
          {(["tg_stars", "tg_provider", "yookassa"] as const).map((p) => (
            <option key={p} value={p}>
              {t(`admin.payments.provider.${p}`)}
            </option>
          ))}
        </Select>
        <Field label={t("admin.status")} value={draft.status} onChange={(e) => setDraft({ ...draft, status: e.target.value.trim() })} className="w-40" />
      </FilterBar>
      <div className="space-y-5">
        <PaymentsCard key={`p${params}`} filters={filters} />
        <OrdersCard key={`o${params}`} filters={filters} />
        <RefundRequestsCard />
        <CommissionsCard key={`c${params}`} accountId={filters.account_id} />
      </div>
    </>
  );
}
