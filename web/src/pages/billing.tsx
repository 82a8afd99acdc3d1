import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState, type FormEvent } from "react";
import { useSearchParams } from "react-router";
import { api, ApiError, unwrap, type Schemas } from "../api/client";
import { QueryView } from "../components/states";
import { DataTable } from "../components/data-table";
import { Alert, Badge, Button, Card, Field, PageHeader, Stat } from "../components/ui";
import { useI18n } from "../i18n/context";
import { useFormat } from "../i18n/format";
import { useBalance } from "../lib/queries";
import { useWebConfig } from "../lib/web-config";

const PENDING_ORDER = "lg.pendingOrder";
const QUICK_AMOUNTS = ["500", "1000", "3000"];

function orderTone(s: string) {
  return s === "paid" ? "green" : s === "pending" || s === "created" ? "blue" : s === "refunded" ? "gray" : "amber";
}

/**
 * Back from YooKassa (?return=yookassa): the order started here is polled until the gateway has the
 * payment's final state (the notification, or its own check with YooKassa), then the figures reload.
 */
function ReturnFromPayment() {
  const { t } = useI18n();
  const f = useFormat();
  const qc = useQueryClient();
  const [params, setParams] = useSearchParams();
  const [orderId] = useState(() => sessionStorage.getItem(PENDING_ORDER));
  const active = params.get("return") === "yookassa" && orderId !== null;
  const q = useQuery({
    queryKey: ["order", orderId],
    enabled: active,
    queryFn: () => unwrap(api.GET("/v1/payments/orders/{id}", { params: { path: { id: orderId! } } })),
    refetchInterval: (query) => (query.state.data && query.state.data.status !== "pending" && query.state.data.status !== "created" ? false : 1500),
  });
  const status = q.data?.status;
  useEffect(() => {
    if (!status || status === "pending" || status === "created") return;
    sessionStorage.removeItem(PENDING_ORDER);
    for (const k of ["balance", "ledger", "payments", "usage"]) void qc.invalidateQueries({ queryKey: [k] });
  }, [status, qc]);
  if (!active) return null;
  const dismiss = () => setParams({}, { replace: true });
  return (
    <div className="mb-4" data-testid="payment-result">
      {status === "paid" ? (
        <Alert tone="green" action={<Button variant="ghost" onClick={dismiss}>{t("common.close")}</Button>}>
          {t("billing.paid", { credits: f.money(q.data!.credits) })}
        </Alert>
      ) : status && status !== "pending" && status !== "created" ? (
        <Alert tone="red" action={<Button variant="ghost" onClick={dismiss}>{t("common.close")}</Button>}>
          {t("billing.failed")}
        </Alert>
      ) : (
        <Alert tone="blue">{t("billing.pending")}</Alert>
      )}
    </div>
  );
}

function YooKassaForm() {
  const { t } = useI18n();
  const f = useFormat();
  const cfg = useWebConfig();
  const [amount, setAmount] = useState("1000");
  const yk = cfg?.payments.yookassa;
  const pay = useMutation({
    mutationFn: (value: string) =>
      unwrap(api.POST("/v1/payments/yookassa", { body: { amount: value, return_url: `${location.origin}${import.meta.env.BASE_URL}billing?return=yookassa` } })),
    onSuccess: (r) => {
      sessionStorage.setItem(PENDING_ORDER, r.order_id);
      if (r.confirmation_url) location.assign(r.confirmation_url);
    },
  });
  if (!yk?.enabled) return <p className="text-sm text-slate-600">{t("billing.yookassaOff")}</p>;
  function submit(e: FormEvent) {
    e.preventDefault();
    const v = amount.trim().replace(",", ".");
    pay.mutate(/^\d+(\.\d{1,2})?$/.test(v) ? (v.includes(".") ? v : `${v}.00`) : v);
  }
  return (
    <form onSubmit={submit} className="space-y-3">
      <div className="flex flex-wrap gap-2" role="group" aria-label={t("billing.amount")}>
        {QUICK_AMOUNTS.map((a) => (
          <Button key={a} variant={amount === a ? "primary" : "secondary"} aria-pressed={amount === a} onClick={() => setAmount(a)}>
            {f.rub(a).replace(/[,.]00(?=\D*$)/, "")}
          </Button>
        ))}
      </div>
      <Field
        label={t("billing.amount")}
        name="amount"
        inputMode="decimal"
        value={amount}
        onChange={(e) => setAmount(e.target.value)}
        hint={yk.min_amount && yk.max_amount ? t("billing.amountRange", { min: f.rub(yk.min_amount), max: f.rub(yk.max_amount) }) : undefined}
        className="max-w-xs"
      />
      {pay.isError && <Alert tone="red">{pay.error instanceof ApiError ? pay.error.message : String(pay.error)}</Alert>}
      <Button type="submit" disabled={pay.isPending}>
        {t("billing.pay", { amount: f.rub(amount.replace(",", ".") || "0") })}
      </Button>
    </form>
  );
}

type TelegramLink = Schemas["TelegramPaymentLink"];

/** The invoice opened in Telegram: followed here until it is paid (the bot credits it), then the figures reload. */
function InvoiceStatus({ orderId }: { orderId: string }) {
  const { t } = useI18n();
  const f = useFormat();
  const qc = useQueryClient();
  const q = useQuery({
    queryKey: ["order", orderId],
    queryFn: () => unwrap(api.GET("/v1/payments/orders/{id}", { params: { path: { id: orderId } } })),
    refetchInterval: (query) => (query.state.data && query.state.data.status !== "pending" && query.state.data.status !== "created" ? false : 2000),
  });
  const status = q.data?.status;
  useEffect(() => {
    if (status === "paid") for (const k of ["balance", "ledger", "payments", "usage"]) void qc.invalidateQueries({ queryKey: [k] });
  }, [status, qc]);
  if (status === "paid") return <Alert tone="green">{t("billing.paid", { credits: f.money(q.data!.credits) })}</Alert>;
  if (status && status !== "pending" && status !== "created") return <Alert tone="red">{t("billing.failed")}</Alert>;
  return null;
}

/**
 * Paying in Telegram from this page: a package button asks the gateway for an invoice link bound
 * to the user's linked Telegram (payable there by them only); without a linked Telegram the answer
 * is the bot's link step first.
 */
function StarsCard() {
  const { t, locale } = useI18n();
  const f = useFormat();
  const cfg = useWebConfig();
  const stars = cfg?.payments.stars;
  const bot = cfg?.telegram.bot_username;
  const [answer, setAnswer] = useState<{ pkg: string; link: TelegramLink } | null>(null);
  const make = useMutation({
    mutationFn: (pkg: string) => unwrap(api.POST("/v1/payments/telegram/link", { body: { package_id: pkg, locale } })).then((link) => ({ pkg, link })),
    onSuccess: setAnswer,
  });
  const amountOf = (p: { currency: string; amount: string }) => (p.currency === "XTR" ? `${p.amount} ⭐` : f.rub(p.amount));
  return (
    <Card title={t("billing.stars")}>
      {!stars?.enabled ? (
        <p className="text-sm text-slate-600">{t("billing.starsOff")}</p>
      ) : (
        <div className="space-y-3 text-sm text-slate-700">
          <p>{t("billing.starsText")}</p>
          <ul className="space-y-2" aria-label={t("billing.packages")}>
            {stars.packages.map((p) => (
              <li key={p.id}>
                <Button variant={answer?.pkg === p.id ? "primary" : "secondary"} className="tabular w-full justify-between" disabled={make.isPending} onClick={() => make.mutate(p.id)} data-package={p.id}>
                  <span>{amountOf(p)}</span>
                  <span aria-hidden="true">→</span>
                  <span>{f.money(p.credits)}</span>
                </Button>
              </li>
            ))}
          </ul>
          {make.isError && <Alert tone="red">{make.error instanceof ApiError ? make.error.message : String(make.error)}</Alert>}
          {answer?.link.kind === "invoice" && (
            <div className="space-y-2" data-testid="telegram-invoice">
              <a className="inline-flex rounded-md bg-sky-700 px-3 py-2 font-medium text-white hover:bg-sky-800" href={answer.link.url!} target="_blank" rel="noreferrer">
                {t("billing.openInvoice")}
              </a>
              <p className="text-xs text-slate-600">{t("billing.invoiceHint", { until: f.when(answer.link.expires_at) })}</p>
              <InvoiceStatus orderId={answer.link.order_id!} />
            </div>
          )}
          {answer?.link.kind === "link_telegram" && (
            <div className="space-y-2" data-testid="telegram-link-first">
              <Alert tone="amber">{t("billing.linkTelegramFirst")}</Alert>
              {answer.link.url ? (
                <a className="inline-flex rounded-md bg-sky-700 px-3 py-2 font-medium text-white hover:bg-sky-800" href={answer.link.url} target="_blank" rel="noreferrer">
                  {t("settings.telegramLink")}
                </a>
              ) : (
                <code className="block break-all rounded bg-slate-100 p-2">/start {answer.link.start_param}</code>
              )}
            </div>
          )}
          {bot ? (
            <p>
              <a className="font-medium text-indigo-700 underline" href={`https://t.me/${bot}?start=topup`} target="_blank" rel="noreferrer">
                {t("billing.openBot")}
              </a>
            </p>
          ) : (
            <code className="block rounded bg-slate-100 p-2">/pay</code>
          )}
        </div>
      )}
    </Card>
  );
}

function Payments() {
  const { t } = useI18n();
  const f = useFormat();
  const q = useQuery({ queryKey: ["payments"], queryFn: () => unwrap(api.GET("/v1/client/payments", { params: { query: { limit: 50 } } })) });
  return (
    <QueryView q={q} empty={t("billing.noPayments")} isEmpty={(d) => d.data.length === 0}>
      {(d) => (
        // Below 640 px each order is a card: five columns would scroll sideways inside the card.
        <DataTable
          label={t("billing.history")}
          rows={d.data}
          rowKey={(o) => o.id}
          rowAttrs={(o) => ({ "data-order-id": o.id })}
          cards={{ attrs: (o) => ({ "data-order-card": o.id }) }}
          columns={[
            { header: t("billing.when"), cell: (o) => f.when(o.created_at) },
            { header: t("billing.provider"), cell: (o) => (o.provider === "yookassa" ? t("billing.provider.yookassa") : o.provider === "tg_stars" ? "Telegram Stars" : "Telegram") },
            { header: t("billing.amount").replace(/, ₽$/, ""), align: "right", cell: (o) => (o.currency === "XTR" ? `${o.amount} ⭐` : f.rub(o.amount)) },
            { header: t("billing.credits"), align: "right", cell: (o) => f.money(o.credits) },
            { header: t("billing.status"), cell: (o) => <Badge tone={orderTone(o.status)}>{t(`billing.order.${o.status === "created" ? "pending" : o.status}`)}</Badge> },
          ]}
        />
      )}
    </QueryView>
  );
}

function Ledger() {
  const { t } = useI18n();
  const f = useFormat();
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors[cursors.length - 1];
  const q = useQuery({ queryKey: ["ledger", cursor], queryFn: () => unwrap(api.GET("/v1/client/ledger", { params: { query: { limit: 25, cursor } } })), placeholderData: (p) => p });
  return (
    <QueryView q={q} empty={t("billing.noLedger")} isEmpty={(d) => d.data.length === 0}>
      {(d) => (
        <>
          <DataTable
            label={t("billing.ledger")}
            rows={d.data}
            rowKey={(e) => e.id}
            rowAttrs={(e) => ({ "data-ledger-kind": e.kind })}
            cards={{ attrs: (e) => ({ "data-ledger-card": e.kind }) }}
            columns={[
              { header: t("billing.when"), cell: (e) => f.when(e.created_at) },
              {
                header: t("billing.reason"),
                className: "max-w-md whitespace-normal",
                cell: (e) => (
                  <>
                    {t(`billing.kind.${e.kind}`)}
                    {e.kind === "usage" ? <span className="ml-1 break-all font-mono text-xs text-slate-600">{e.ref}</span> : e.reason ? <span className="ml-1 break-all text-xs text-slate-600">{e.reason}</span> : null}
                  </>
                ),
              },
              {
                header: t("billing.change"),
                align: "right",
                className: (e) => (e.amount.startsWith("-") ? "text-slate-900" : "text-green-800"),
                cell: (e) => (e.amount.startsWith("-") ? f.cost(e.amount) : `+${f.cost(e.amount)}`),
              },
              { header: t("billing.after"), align: "right", cell: (e) => f.money(e.balance_after) },
            ]}
          />
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
  );
}

export function BillingPage() {
  const { t } = useI18n();
  const f = useFormat();
  const balance = useBalance();
  return (
    <>
      <PageHeader title={t("billing.title")} />
      <ReturnFromPayment />
      <div className="grid grid-cols-1 gap-4 lg:grid-cols-3">
        <Stat label={t("billing.balance")} value={<span data-testid="billing-balance">{balance.data ? f.money(balance.data.balance) : <span data-pending>…</span>}</span>} hint={balance.data ? `${t("overview.available")}: ${f.money(balance.data.available)}` : undefined} />
        <Card title={t("billing.yookassa")} className="lg:col-span-2">
          <YooKassaForm />
        </Card>
      </div>
      <div className="mt-4 grid grid-cols-1 gap-4 lg:grid-cols-3">
        <StarsCard />
        <Card title={t("billing.history")} className="lg:col-span-2">
          <Payments />
        </Card>
      </div>
      <Card title={t("billing.ledger")} className="mt-4">
        <Ledger />
      </Card>
    </>
  );
}
