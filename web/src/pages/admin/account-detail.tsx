import { useQuery } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { Link, useParams } from "react-router";
import { api, unwrap, type Schemas } from "../../api/client";
import { CopyButton } from "../../components/copy-button";
import { ConfirmDialog } from "../../components/dialog";
import { FormDialog } from "../../components/form-dialog";
import { QueryView } from "../../components/states";
import { DataTable } from "../../components/data-table";
import { Alert, Button, Card, Field, LinkButton, PageHeader, Select, Stat, TextArea } from "../../components/ui";
import { Id, Mono, Pager, SignedMoney, StatusBadge } from "../../features/admin/components";
import { adminKey, errorText, newIdempotencyKey, useAdminMutation, useCursorPages } from "../../features/admin/hooks";
import { useI18n } from "../../i18n/context";
import { useFormat } from "../../i18n/format";
import { useTariffs } from "./accounts";

type Account = Schemas["AccountWithUsers"];
type ApiKey = Schemas["ApiKey"];

function AdjustDialog({ account, open, onClose }: { account: Account; open: boolean; onClose: () => void }) {
  const { t } = useI18n();
  const fmt = useFormat();
  // One key per opening of the dialog: a double submit or a retry after a timeout credits once.
  const [key] = useState(newIdempotencyKey);
  const adjust = useAdminMutation((b: { amount: string; reason: string; idempotency_key: string; allow_negative?: boolean }) =>
    unwrap(api.POST("/admin/accounts/{id}/adjustments", { params: { path: { id: account.id } }, body: b })),
  );
  function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    const sign = f.get("direction") === "debit" ? "-" : "";
    adjust.mutate({
      amount: sign + String(f.get("amount") ?? "").trim().replace(",", "."),
      reason: String(f.get("reason") ?? "").trim(),
      idempotency_key: key,
      allow_negative: f.get("allow_negative") === "on" || undefined,
    });
  }
  return (
    <FormDialog
      open={open}
      title={t("admin.account.adjust")}
      onClose={onClose}
      onSubmit={submit}
      error={adjust.error ? errorText(adjust.error) : null}
      busy={adjust.isPending}
      submitLabel={t("admin.account.adjustSubmit")}
      done={
        adjust.data && (
          <Alert tone={adjust.data.applied ? "green" : "amber"}>
            {adjust.data.applied ? t("admin.account.adjusted", { balance: fmt.cost(adjust.data.balance) }) : t("admin.account.adjustReplayed")}
          </Alert>
        )
      }
    >
          <Select label={t("admin.account.direction")} name="direction" defaultValue="credit">
            <option value="credit">{t("admin.account.credit")}</option>
            <option value="debit">{t("admin.account.debit")}</option>
          </Select>
          <Field label={t("admin.account.amount", { currency: fmt.currency })} name="amount" required inputMode="decimal" placeholder="100.00" pattern="^\d{1,12}([.,]\d{1,6})?$" />
          <Field label={t("admin.account.reason")} name="reason" required maxLength={500} hint={t("admin.account.reasonHint")} />
          <label className="flex items-center gap-2 text-sm text-slate-800">
            <input type="checkbox" name="allow_negative" className="h-4 w-4" />
            {t("admin.account.allowNegative")}
          </label>
    </FormDialog>
  );
}

function SettingsCard({ account }: { account: Account }) {
  const { t } = useI18n();
  const tariffs = useTariffs();
  const [tariff, setTariff] = useState(account.tariff_id ?? "");
  const [limits, setLimits] = useState(JSON.stringify(account.limits ?? {}, null, 2));
  const [threshold, setThreshold] = useState(account.low_balance_threshold ?? "");
  const [limitsError, setLimitsError] = useState<string | null>(null);
  const assign = useAdminMutation((tariff_id: string | null) => unwrap(api.PUT("/admin/accounts/{id}/tariff", { params: { path: { id: account.id } }, body: { tariff_id } })));
  const patch = useAdminMutation((b: Schemas["AccountPatch"]) => unwrap(api.PATCH("/admin/accounts/{id}", { params: { path: { id: account.id } }, body: b })));
  function saveLimits(e: FormEvent) {
    e.preventDefault();
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(limits || "{}") as Record<string, unknown>;
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error();
    } catch {
      return setLimitsError(t("admin.account.limitsJson"));
    }
    setLimitsError(null);
    patch.mutate({ limits: parsed, low_balance_threshold: threshold.trim() ? threshold.trim().replace(",", ".") : null });
  }
  return (
    <Card title={t("admin.account.settings")}>
      <form
        className="mb-5 flex flex-wrap items-end gap-3"
        onSubmit={(e) => {
          e.preventDefault();
          assign.mutate(tariff || null);
        }}
      >
        <Select label={t("admin.tariff")} value={tariff} onChange={(e) => setTariff(e.target.value)} className="w-64">
          <option value="">{t("admin.accounts.defaultTariff")}</option>
          {(tariffs.data?.data ?? []).map((x) => (
            <option key={x.id} value={x.id} disabled={x.status !== "active"}>
              {x.name} (×{x.markup})
            </option>
          ))}
        </Select>
        <Button type="submit" variant="secondary" disabled={assign.isPending}>
          {t("admin.account.assignTariff")}
        </Button>
        {assign.isSuccess && <span className="text-sm text-green-800">{t("common.saved")}</span>}
        {assign.error && <Alert tone="red">{errorText(assign.error)}</Alert>}
      </form>
      <form onSubmit={saveLimits} className="space-y-3">
        <TextArea label={t("admin.account.limits")} rows={5} value={limits} onChange={(e) => setLimits(e.target.value)} spellCheck={false} aria-describedby="limits-hint" />
        <p id="limits-hint" className="text-xs text-slate-600">
          {t("admin.account.limitsHint")}
        </p>
        <Field label={t("admin.account.lowBalance")} value={threshold} onChange={(e) => setThreshold(e.target.value)} inputMode="decimal" className="w-80" />
        {(limitsError || patch.error) && <Alert tone="red">{limitsError ?? errorText(patch.error)}</Alert>}
        <div className="flex items-center gap-3">
          <Button type="submit" variant="secondary" disabled={patch.isPending}>
            {t("admin.account.saveLimits")}
          </Button>
          {patch.isSuccess && <span className="text-sm text-green-800">{t("common.saved")}</span>}
        </div>
      </form>
    </Card>
  );
}

function UsersCard({ account }: { account: Account }) {
  const { t } = useI18n();
  const fmt = useFormat();
  const [confirm, setConfirm] = useState<{ id: string; patch: Schemas["UserPatch"]; text: string } | null>(null);
  const patch = useAdminMutation((v: { id: string; patch: Schemas["UserPatch"] }) => unwrap(api.PATCH("/admin/users/{id}", { params: { path: { id: v.id } }, body: v.patch })), {
    onSuccess: () => setConfirm(null),
  });
  return (
    <Card title={t("admin.account.users")}>
      {account.users.length === 0 ? (
        <p className="text-sm text-slate-600">{t("admin.account.noUsers")}</p>
      ) : (
        <DataTable
          label={t("admin.account.users")}
          rows={account.users}
          rowKey={(u) => u.id}
          columns={[
            {
              header: t("admin.account.user"),
              cell: (u) => (
                <>
                  <div>{u.email ?? u.name ?? (u.telegram_id ? `Telegram ${u.telegram_id}` : u.id)}</div>
                  <Id id={u.id} />
                </>
              ),
            },
            {
              header: t("admin.account.role"),
              cell: (u) => (
                <Select
                  label={t("admin.account.roleOf", { user: u.email ?? u.id })}
                  className="[&>label]:sr-only"
                  value={u.role}
                  onChange={(e) => {
                    const role = e.target.value as "client" | "admin";
                    setConfirm({ id: u.id, patch: { role }, text: t(role === "admin" ? "admin.account.makeAdmin" : "admin.account.makeClient", { user: u.email ?? u.id }) });
                  }}
                >
                  <option value="client">{t("admin.role.client")}</option>
                  <option value="admin">{t("admin.role.admin")}</option>
                </Select>
              ),
            },
            { header: t("admin.status"), cell: (u) => <StatusBadge status={u.status} /> },
            { header: t("admin.account.lastLogin"), cell: (u) => fmt.dateTime(u.last_login_at) },
            {
              header: t("admin.actions"),
              srOnly: true,
              cell: (u) =>
                u.status === "active" ? (
                  <Button variant="danger" onClick={() => setConfirm({ id: u.id, patch: { status: "blocked" }, text: t("admin.account.blockUserText", { user: u.email ?? u.id }) })}>
                    {t("admin.block")}
                  </Button>
                ) : (
                  <Button variant="secondary" onClick={() => patch.mutate({ id: u.id, patch: { status: "active" } })}>
                    {t("admin.unblock")}
                  </Button>
                ),
            },
          ]}
        />
      )}
      {patch.error && !confirm && <Alert tone="red">{errorText(patch.error)}</Alert>}
      <ConfirmDialog
        open={!!confirm}
        title={t("admin.confirmTitle")}
        text={confirm?.text ?? ""}
        confirmLabel={t("common.confirm")}
        busy={patch.isPending}
        onClose={() => setConfirm(null)}
        onConfirm={() => confirm && patch.mutate({ id: confirm.id, patch: confirm.patch })}
      />
    </Card>
  );
}

function KeysCard({ account }: { account: Account }) {
  const { t } = useI18n();
  const fmt = useFormat();
  const pages = useCursorPages();
  const [creating, setCreating] = useState(false);
  const [secret, setSecret] = useState<string | null>(null);
  const [revoking, setRevoking] = useState<ApiKey | null>(null);
  const q = useQuery({
    queryKey: adminKey("account-keys", account.id, pages.cursor),
    queryFn: () => unwrap(api.GET("/admin/accounts/{id}/keys", { params: { path: { id: account.id }, query: { limit: 20, cursor: pages.cursor } } })),
  });
  const create = useAdminMutation((name: string) => unwrap(api.POST("/admin/keys", { body: { account_id: account.id, name } })), {
    onSuccess: (k) => {
      setCreating(false);
      setSecret(k.secret);
    },
  });
  const patch = useAdminMutation((v: { id: string; status: "active" | "disabled" }) => unwrap(api.PATCH("/admin/keys/{id}", { params: { path: { id: v.id } }, body: { status: v.status } })));
  const revoke = useAdminMutation((id: string) => unwrap(api.DELETE("/admin/keys/{id}", { params: { path: { id } } })), { onSuccess: () => setRevoking(null) });
  return (
    <Card title={t("admin.account.keys")} actions={<Button variant="secondary" onClick={() => setCreating(true)}>{t("admin.account.newKey")}</Button>}>
      {secret && (
        <div className="mb-4">
          <Alert tone="green" action={<CopyButton text={secret} />}>
            <div>{t("admin.account.keyOnce")}</div>
            <code className="break-all font-mono text-xs" data-testid="new-key-secret">
              {secret}
            </code>
          </Alert>
        </div>
      )}
      <QueryView q={q} isEmpty={(d) => d.data.length === 0} empty={t("admin.account.noKeys")}>
        {(d) => (
          <>
            <DataTable
              label={t("admin.account.keys")}
              rows={d.data}
              rowKey={(k) => k.id}
              columns={[
                {
                  header: t("admin.account.keyName"),
                  cell: (k) => (
                    <>
                      <div>{k.name || "—"}</div>
                      <Id id={k.id} />
                    </>
                  ),
                },
                { header: t("admin.key"), cell: (k) => <Mono>{k.key}</Mono> },
                { header: t("admin.status"), cell: (k) => <StatusBadge status={k.status} /> },
                { header: t("admin.account.lastUsed"), cell: (k) => fmt.dateTime(k.last_used_at) },
                {
                  header: t("admin.actions"),
                  srOnly: true,
                  className: "space-x-2",
                  cell: (k) =>
                    k.status !== "revoked" && (
                      <>
                        <Button variant="secondary" onClick={() => patch.mutate({ id: k.id, status: k.status === "active" ? "disabled" : "active" })}>
                          {k.status === "active" ? t("admin.disable") : t("admin.enable")}
                        </Button>
                        <Button variant="danger" onClick={() => setRevoking(k)}>
                          {t("admin.revoke")}
                        </Button>
                      </>
                    ),
                },
              ]}
            />
            <Pager page={pages.page} hasNext={!!d.next_cursor} onPrev={pages.prev} onNext={() => pages.next(d.next_cursor)} />
          </>
        )}
      </QueryView>
      {(patch.error || revoke.error) && <Alert tone="red">{errorText(patch.error ?? revoke.error)}</Alert>}
      <FormDialog
        open={creating}
        title={t("admin.account.newKey")}
        onClose={() => setCreating(false)}
        onSubmit={(e) => create.mutate(String(new FormData(e.currentTarget).get("name") ?? "").trim())}
        error={create.error ? errorText(create.error) : null}
        busy={create.isPending}
        submitLabel={t("admin.account.createKey")}
      >
        <Field label={t("admin.account.keyName")} name="name" maxLength={200} />
      </FormDialog>
      <ConfirmDialog
        open={!!revoking}
        title={t("admin.account.revokeTitle")}
        text={t("admin.account.revokeText", { key: revoking?.key ?? "" })}
        confirmLabel={t("admin.revoke")}
        busy={revoke.isPending}
        onClose={() => setRevoking(null)}
        onConfirm={() => revoking && revoke.mutate(revoking.id)}
      />
    </Card>
  );
}

function LedgerCard({ account }: { account: Account }) {
  const { t } = useI18n();
  const fmt = useFormat();
  const pages = useCursorPages();
  const q = useQuery({
    queryKey: adminKey("ledger", account.id, pages.cursor),
    queryFn: () => unwrap(api.GET("/admin/accounts/{id}/ledger", { params: { path: { id: account.id }, query: { limit: 25, cursor: pages.cursor } } })),
  });
  return (
    <Card title={t("admin.account.ledger")}>
      <QueryView q={q} isEmpty={(d) => d.data.length === 0} empty={t("admin.account.noLedger")}>
        {(d) => (
          <>
            <DataTable
              label={t("admin.account.ledger")}
              rows={d.data}
              rowKey={(e) => e.id}
              rowAttrs={(e) => ({ "data-testid": "ledger-row", "data-kind": e.kind, "data-ref": e.ref, "data-amount": e.amount })}
              columns={[
                { header: t("admin.time"), cell: (e) => fmt.dateTime(e.created_at) },
                { header: t("admin.account.kind"), cell: (e) => (t(`admin.ledger.${e.kind}`) === `admin.ledger.${e.kind}` ? e.kind : t(`admin.ledger.${e.kind}`)) },
                { header: t("admin.account.amountCol"), align: "right", cell: (e) => <SignedMoney value={e.amount} format={fmt.cost} /> },
                { header: t("admin.account.balanceAfter"), align: "right", cell: (e) => fmt.cost(e.balance_after) },
                { header: t("admin.account.reason"), className: "max-w-64 truncate", title: (e) => e.reason ?? "", cell: (e) => e.reason ?? "—" },
                { header: t("admin.audit.actor"), cell: (e) => <Id id={e.actor} /> },
                { header: t("admin.account.ref"), className: "max-w-48 truncate", title: (e) => e.ref, cell: (e) => <Mono>{e.ref}</Mono> },
              ]}
            />
            <Pager page={pages.page} hasNext={!!d.next_cursor} onPrev={pages.prev} onNext={() => pages.next(d.next_cursor)} />
          </>
        )}
      </QueryView>
    </Card>
  );
}

function UsageAndPayments({ account }: { account: Account }) {
  const { t } = useI18n();
  const fmt = useFormat();
  const usage = useQuery({ queryKey: adminKey("account-usage", account.id), queryFn: () => unwrap(api.GET("/admin/stats/summary", { params: { query: { account_id: account.id, days: 30 } } })) });
  const payments = useQuery({ queryKey: adminKey("account-payments", account.id), queryFn: () => unwrap(api.GET("/admin/payments", { params: { query: { account_id: account.id, limit: 20 } } })) });
  return (
    <div className="grid gap-4 lg:grid-cols-2">
      <Card title={t("admin.account.usage30")} actions={<LinkButton variant="ghost" to={`/admin/requests?account_id=${account.id}`}>{t("admin.account.openLog")}</LinkButton>}>
        <QueryView q={usage}>
          {(u) => (
            <dl className="grid grid-cols-2 gap-x-4 gap-y-2 text-sm">
              <dt className="text-slate-600">{t("admin.requests")}</dt>
              <dd className="tabular text-right">{fmt.number(u.requests)}</dd>
              <dt className="text-slate-600">{t("admin.tokens")}</dt>
              <dd className="tabular text-right">{fmt.number(u.total_tokens)}</dd>
              <dt className="text-slate-600">{t("admin.revenue")}</dt>
              <dd className="tabular text-right">{fmt.cost(u.revenue)}</dd>
              <dt className="text-slate-600">{t("admin.upstreamCost")}</dt>
              <dd className="tabular text-right">{fmt.cost(u.upstream_cost)}</dd>
              <dt className="text-slate-600">{t("admin.profit")}</dt>
              <dd className="tabular text-right">
                <SignedMoney value={u.profit} format={fmt.cost} />
              </dd>
            </dl>
          )}
        </QueryView>
      </Card>
      <Card title={t("admin.account.payments")} actions={<LinkButton variant="ghost" to={`/admin/payments?account_id=${account.id}`}>{t("admin.nav.payments")}</LinkButton>}>
        <QueryView q={payments} isEmpty={(d) => d.data.length === 0} empty={t("admin.payments.emptyPayments")}>
          {(d) => (
            <ul className="divide-y divide-slate-100 text-sm">
              {d.data.map((p) => (
                <li key={p.id} className="flex items-center justify-between gap-3 py-2">
                  <span>
                    {fmt.date(p.created_at)} · {p.provider}
                  </span>
                  <span className="tabular">
                    {p.amount} {p.currency} → {fmt.cost(p.credits)}
                  </span>
                  <StatusBadge status={p.status} />
                </li>
              ))}
            </ul>
          )}
        </QueryView>
      </Card>
    </div>
  );
}

/** One account: balance, ledger, keys, users, usage, payments, tariff and limits, with the admin's actions. */
export function AdminAccountDetailPage() {
  const { id = "" } = useParams();
  const { t } = useI18n();
  const fmt = useFormat();
  const [adjusting, setAdjusting] = useState(0);
  const [blocking, setBlocking] = useState(false);
  const q = useQuery({ queryKey: adminKey("account", id), queryFn: () => unwrap(api.GET("/admin/accounts/{id}", { params: { path: { id } } })) });
  const setStatus = useAdminMutation((status: "active" | "blocked") => unwrap(api.PATCH("/admin/accounts/{id}", { params: { path: { id } }, body: { status } })), {
    onSuccess: () => setBlocking(false),
  });
  return (
    <QueryView q={q}>
      {(a) => (
        <>
          <PageHeader
            title={a.name}
            actions={
              <>
                <Button onClick={() => setAdjusting((n) => n + 1)}>{t("admin.account.adjust")}</Button>
                {a.status === "active" ? (
                  <Button variant="danger" onClick={() => setBlocking(true)}>
                    {t("admin.account.block")}
                  </Button>
                ) : (
                  <Button variant="secondary" onClick={() => setStatus.mutate("active")}>
                    {t("admin.account.unblock")}
                  </Button>
                )}
              </>
            }
          >
            <span className="inline-flex flex-wrap items-center gap-2">
              <Mono>{a.id}</Mono>
              <StatusBadge status={a.status} />
              <Link to="/admin/accounts" className="text-indigo-700 underline">
                {t("admin.nav.accounts")}
              </Link>
            </span>
          </PageHeader>
          {setStatus.error && <Alert tone="red">{errorText(setStatus.error)}</Alert>}
          <div className="space-y-5">
            <div className="grid gap-4 sm:grid-cols-3">
              <Stat label={t("admin.balance")} value={<span data-testid="account-balance">{fmt.cost(a.balance)}</span>} />
              <Stat label={t("admin.reserved")} value={fmt.cost(a.reserved)} hint={t("admin.account.reservedHint")} />
              <Stat label={t("admin.available")} value={fmt.cost(a.available)} />
            </div>
            <UsageAndPayments account={a} />
            <SettingsCard key={`${a.tariff_id}:${a.updated_at}`} account={a} />
            <UsersCard account={a} />
            <KeysCard account={a} />
            <LedgerCard account={a} />
          </div>
          {adjusting > 0 && <AdjustDialog key={adjusting} account={a} open onClose={() => setAdjusting(0)} />}
          <ConfirmDialog
            open={blocking}
            title={t("admin.account.blockTitle")}
            text={t("admin.account.blockText", { name: a.name })}
            confirmLabel={t("admin.account.block")}
            busy={setStatus.isPending}
            onClose={() => setBlocking(false)}
            onConfirm={() => setStatus.mutate("blocked")}
          />
        </>
      )}
    </QueryView>
  );
}
