import { useQuery } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { api, unwrap, type Schemas } from "../../api/client";
import { ConfirmDialog } from "../../components/dialog";
import { FormDialog } from "../../components/form-dialog";
import { QueryView } from "../../components/states";
import { DataTable } from "../../components/data-table";
import { Alert, Badge, Button, Card, Field, PageHeader, Select, TextArea } from "../../components/ui";
import { FilterBar, Mono, StatusBadge } from "../../features/admin/components";
import { adminKey, errorText, useAdminMutation } from "../../features/admin/hooks";
import { useI18n } from "../../i18n/context";
import { useFormat } from "../../i18n/format";
import { useTariffs } from "./accounts";

type Tariff = Schemas["Tariff"];
type PriceChange = Schemas["PriceChange"];

function PriceTableCard() {
  const { t } = useI18n();
  const fmt = useFormat();
  const tariffs = useTariffs();
  const [tariff, setTariff] = useState("");
  const [model, setModel] = useState("");
  const [draft, setDraft] = useState("");
  const q = useQuery({
    queryKey: adminKey("price-table", tariff, model),
    queryFn: () => unwrap(api.GET("/admin/price-table", { params: { query: { tariff_id: tariff || undefined, model: model || undefined } } })),
  });
  return (
    <Card title={t("admin.prices.table")}>
      <FilterBar onSubmit={() => setModel(draft.trim())}>
        <Select label={t("admin.tariff")} value={tariff} onChange={(e) => setTariff(e.target.value)} className="w-60">
          <option value="">{t("admin.prices.defaultTariff")}</option>
          {(tariffs.data?.data ?? []).map((x) => (
            <option key={x.id} value={x.id}>
              {x.name} (×{x.markup})
            </option>
          ))}
        </Select>
        <Field label={t("admin.model")} type="search" value={draft} onChange={(e) => setDraft(e.target.value)} className="w-60" />
      </FilterBar>
      <QueryView q={q} isEmpty={(d) => d.data.length === 0} empty={t("admin.prices.empty")}>
        {(d) => (
          <>
            <p className="mb-3 text-sm text-slate-600">{t("admin.prices.tableHint", { rate: d.fx_rate, currency: d.currency, tariff: d.tariff.name, markup: d.tariff.markup })}</p>
            <DataTable
              label={t("admin.prices.table")}
              rows={d.data}
              rowKey={(r) => `${r.model_id}:${r.provider_id}`}
              rowAttrs={(r) => ({ "data-testid": "price-row", "data-model": r.model_id, "data-customer-input": r.customer_price.input, "data-customer-output": r.customer_price.output })}
              columns={[
                { header: t("admin.model"), cell: (r) => r.model_id },
                { header: t("admin.provider"), cell: (r) => (r.provider_id === "*" ? t("admin.prices.anyProvider") : r.provider_id) },
                { group: t("admin.prices.upstreamUsd"), header: t("admin.prices.input"), align: "right", cell: (r) => `$${r.upstream_usd.input}` },
                { group: t("admin.prices.upstreamUsd"), header: t("admin.prices.output"), align: "right", cell: (r) => `$${r.upstream_usd.output}` },
                { group: t("admin.prices.upstreamCost", { currency: d.currency }), header: t("admin.prices.input"), align: "right", cell: (r) => fmt.cost(r.upstream_cost.input) },
                { group: t("admin.prices.upstreamCost", { currency: d.currency }), header: t("admin.prices.output"), align: "right", cell: (r) => fmt.cost(r.upstream_cost.output) },
                { header: t("admin.prices.markup"), align: "right", cell: (r) => `×${r.markup}` },
                { group: t("admin.prices.customerPrice", { currency: d.currency }), header: t("admin.prices.input"), align: "right", className: "font-medium", cell: (r) => fmt.cost(r.customer_price.input) },
                { group: t("admin.prices.customerPrice", { currency: d.currency }), header: t("admin.prices.output"), align: "right", className: "font-medium", cell: (r) => fmt.cost(r.customer_price.output) },
                {
                  header: t("admin.upstreams.source"),
                  cell: (r) => <Badge tone={r.source === "config" ? "gray" : r.book_source === "admin" ? "blue" : "amber"}>{t(`admin.prices.source.${r.source === "config" ? "config" : (r.book_source ?? "sync")}`)}</Badge>,
                },
              ]}
            />
          </>
        )}
      </QueryView>
    </Card>
  );
}

function PriceChangesCard() {
  const { t } = useI18n();
  const fmt = useFormat();
  const [status, setStatus] = useState<PriceChange["status"]>("pending");
  const [confirm, setConfirm] = useState<{ c: PriceChange; decision: "approve" | "reject" } | null>(null);
  const q = useQuery({ queryKey: adminKey("price-changes", status), queryFn: () => unwrap(api.GET("/admin/price-changes", { params: { query: { status: status as "pending" } } })) });
  const decide = useAdminMutation(
    (v: { id: string; decision: "approve" | "reject" }) =>
      v.decision === "approve"
        ? unwrap(api.POST("/admin/price-changes/{id}/approve", { params: { path: { id: v.id } } }))
        : unwrap(api.POST("/admin/price-changes/{id}/reject", { params: { path: { id: v.id } } })),
    { onSuccess: () => setConfirm(null) },
  );
  const sync = useAdminMutation(() => unwrap(api.POST("/admin/prices/sync", { body: {} })));
  const priceText = (p: Record<string, string | null> | null) => (p ? `in $${p.input ?? "—"} / out $${p.output ?? "—"}` : "—");
  return (
    <Card
      title={t("admin.prices.changes")}
      actions={
        <div className="flex flex-wrap items-end gap-2">
          <Select label={t("admin.status")} value={status} onChange={(e) => setStatus(e.target.value)} className="w-44">
            {["pending", "approved", "rejected", "superseded"].map((s) => (
              <option key={s} value={s}>
                {t(`admin.status.${s}`)}
              </option>
            ))}
          </Select>
          <Button variant="secondary" onClick={() => sync.mutate()} disabled={sync.isPending}>
            {sync.isPending ? t("admin.prices.syncing") : t("admin.prices.sync")}
          </Button>
        </div>
      }
    >
      <p className="mb-3 text-sm text-slate-600">{t("admin.prices.changesHint")}</p>
      <div role="status" aria-live="polite" className="mb-3 text-sm" data-testid="sync-result">
        {sync.data && <span className="text-slate-800">{t("admin.prices.syncReport", { added: sync.data.added, updated: sync.data.updated, held: sync.data.held, unchanged: sync.data.unchanged })}</span>}
        {sync.error && <span className="text-red-700">{errorText(sync.error)}</span>}
      </div>
      <QueryView q={q} isEmpty={(d) => d.data.length === 0} empty={t("admin.prices.noChanges")}>
        {(d) => (
          <DataTable
            label={t("admin.prices.changes")}
            rows={d.data}
            rowKey={(c) => c.id}
            rowAttrs={(c) => ({ "data-testid": "price-change-row", "data-model": c.model_id })}
            columns={[
              { header: t("admin.model"), cell: (c) => c.model_id },
              { header: t("admin.provider"), cell: (c) => c.provider_id },
              { header: t("admin.prices.oldPrice"), className: "tabular", cell: (c) => priceText(c.old_price) },
              { header: t("admin.prices.newPrice"), className: "tabular font-medium", cell: (c) => priceText(c.new_price) },
              { header: t("admin.prices.change"), align: "right", cell: (c) => (c.change_pct === null ? "—" : `${c.change_pct > 0 ? "+" : ""}${c.change_pct}%`) },
              { header: t("admin.created"), cell: (c) => fmt.dateTime(c.created_at) },
              {
                header: t("admin.status"),
                cell: (c) => (
                  <>
                    <StatusBadge status={c.status} />
                    {c.decided_by && <div className="text-xs text-slate-600">{c.decided_by}</div>}
                  </>
                ),
              },
              {
                header: t("admin.actions"),
                srOnly: true,
                className: "space-x-2",
                cell: (c) =>
                  c.status === "pending" && (
                    <>
                      <Button onClick={() => setConfirm({ c, decision: "approve" })}>{t("admin.prices.approve")}</Button>
                      <Button variant="danger" onClick={() => setConfirm({ c, decision: "reject" })}>
                        {t("admin.prices.reject")}
                      </Button>
                    </>
                  ),
              },
            ]}
          />
        )}
      </QueryView>
      {decide.error && <Alert tone="red">{errorText(decide.error)}</Alert>}
      <ConfirmDialog
        open={!!confirm}
        title={confirm?.decision === "approve" ? t("admin.prices.approveTitle") : t("admin.prices.rejectTitle")}
        text={t(confirm?.decision === "approve" ? "admin.prices.approveText" : "admin.prices.rejectText", { model: confirm?.c.model_id ?? "", price: priceText(confirm?.c.new_price ?? null) })}
        confirmLabel={confirm?.decision === "approve" ? t("admin.prices.approve") : t("admin.prices.reject")}
        busy={decide.isPending}
        onClose={() => setConfirm(null)}
        onConfirm={() => confirm && decide.mutate({ id: confirm.c.id, decision: confirm.decision })}
      />
    </Card>
  );
}

function FxCard() {
  const { t } = useI18n();
  const fmt = useFormat();
  const q = useQuery({ queryKey: adminKey("fx"), queryFn: () => unwrap(api.GET("/admin/fx-rates")) });
  const [confirm, setConfirm] = useState<{ rate: string; reason: string } | null>(null);
  const set = useAdminMutation((b: { rate: string; reason?: string }) => unwrap(api.POST("/admin/fx-rates", { body: b })), { onSuccess: () => setConfirm(null) });
  return (
    <Card title={t("admin.prices.fx")}>
      <QueryView q={q}>
        {(d) => (
          <div className="space-y-4">
            <p className="text-sm text-slate-800">
              {t("admin.prices.fxCurrent")} <strong className="tabular text-lg">{d.rate}</strong> {d.currency} / USD
            </p>
            <form
              className="flex flex-wrap items-end gap-3"
              onSubmit={(e) => {
                e.preventDefault();
                const f = new FormData(e.currentTarget);
                setConfirm({ rate: String(f.get("rate") ?? "").trim().replace(",", "."), reason: String(f.get("reason") ?? "").trim() });
              }}
            >
              <Field label={t("admin.prices.newRate")} name="rate" required inputMode="decimal" pattern="^\d{1,9}([.,]\d{1,6})?$" className="w-40" />
              <Field label={t("admin.account.reason")} name="reason" maxLength={500} className="w-72" />
              <Button type="submit" variant="secondary">
                {t("admin.prices.setRate")}
              </Button>
            </form>
            {set.error && <Alert tone="red">{errorText(set.error)}</Alert>}
            {d.history.length === 0 ? (
              <p className="text-sm text-slate-600">{t("admin.prices.noFxHistory")}</p>
            ) : (
              <DataTable
                label={t("admin.prices.fxHistory")}
                rows={d.history}
                rowKey={(h, i) => `${h.created_at}-${i}`}
                columns={[
                  { header: t("admin.time"), cell: (h) => fmt.dateTime(h.created_at) },
                  { header: t("admin.prices.rate"), align: "right", cell: (h) => h.rate },
                  { header: t("admin.audit.actor"), cell: (h) => <Mono>{h.actor}</Mono> },
                  { header: t("admin.account.reason"), cell: (h) => h.reason ?? "—" },
                ]}
              />
            )}
          </div>
        )}
      </QueryView>
      <ConfirmDialog
        open={!!confirm}
        title={t("admin.prices.setRate")}
        text={t("admin.prices.setRateText", { rate: confirm?.rate ?? "" })}
        confirmLabel={t("admin.prices.setRate")}
        busy={set.isPending}
        onClose={() => setConfirm(null)}
        onConfirm={() => confirm && set.mutate({ rate: confirm.rate, reason: confirm.reason || undefined })}
      />
    </Card>
  );
}

function TariffDialog({ tariff, onClose }: { tariff: Tariff | "new"; onClose: () => void }) {
  const { t } = useI18n();
  const isNew = tariff === "new";
  const x = isNew ? null : tariff;
  const [problem, setProblem] = useState<string | null>(null);
  const save = useAdminMutation(
    (b: Schemas["CreateTariff"]) => (isNew ? unwrap(api.POST("/admin/tariffs", { body: b })) : unwrap(api.PATCH("/admin/tariffs/{id}", { params: { path: { id: x!.id } }, body: b }))),
    { onSuccess: onClose },
  );
  function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    const s = (k: string) => String(f.get(k) ?? "").trim();
    let modelMarkups: Record<string, string> = {};
    let rateLimits: Record<string, number> = {};
    try {
      modelMarkups = s("model_markups") ? (JSON.parse(s("model_markups")) as Record<string, string>) : {};
      rateLimits = s("rate_limits") ? (JSON.parse(s("rate_limits")) as Record<string, number>) : {};
    } catch {
      return setProblem(t("admin.prices.jsonProblem"));
    }
    setProblem(null);
    const models = s("allowed_models");
    save.mutate({
      name: s("name"),
      description: s("description"),
      markup: s("markup").replace(",", "."),
      is_default: f.get("is_default") === "on",
      status: s("status") as "active" | "archived",
      allowed_models: models ? models.split(/[\s,]+/).filter(Boolean) : null,
      model_markups: modelMarkups,
      rate_limits: rateLimits,
    });
  }
  return (
    <FormDialog
      dense
      title={isNew ? t("admin.prices.newTariff") : t("admin.prices.editTariff", { name: x!.name })}
      onClose={onClose}
      onSubmit={submit}
      error={problem ?? (save.error ? errorText(save.error) : null)}
      busy={save.isPending}
      submitLabel={t("common.save")}
    >
        <Field label={t("admin.prices.tariffName")} name="name" required maxLength={100} defaultValue={x?.name ?? ""} />
        <Field label={t("admin.prices.description")} name="description" maxLength={2000} defaultValue={x?.description ?? ""} />
        <div className="grid grid-cols-2 gap-3">
          <Field label={t("admin.prices.markup")} name="markup" required inputMode="decimal" defaultValue={x?.markup ?? "1.5"} hint={t("admin.prices.markupHint")} />
          <Select label={t("admin.status")} name="status" defaultValue={x?.status ?? "active"}>
            <option value="active">{t("admin.status.active")}</option>
            <option value="archived">{t("admin.status.archived")}</option>
          </Select>
        </div>
        <Field label={t("admin.prices.allowedModels")} name="allowed_models" defaultValue={x?.allowed_models?.join(", ") ?? ""} hint={t("admin.prices.allowedModelsHint")} />
        <TextArea label={t("admin.prices.modelMarkups")} name="model_markups" rows={2} defaultValue={x && Object.keys(x.model_markups).length ? JSON.stringify(x.model_markups) : ""} placeholder='{"openai/gpt-4o": "1.2"}' />
        <TextArea label={t("admin.prices.rateLimits")} name="rate_limits" rows={2} defaultValue={x && Object.keys(x.rate_limits).length ? JSON.stringify(x.rate_limits) : ""} placeholder='{"rpm": 60}' />
        <label className="flex items-center gap-2 text-sm text-slate-800">
          <input type="checkbox" name="is_default" defaultChecked={x?.is_default ?? false} className="h-4 w-4" />
          {t("admin.prices.isDefault")}
        </label>
    </FormDialog>
  );
}

function TariffsCard() {
  const { t } = useI18n();
  const q = useTariffs();
  const [editing, setEditing] = useState<Tariff | "new" | null>(null);
  const [deleting, setDeleting] = useState<Tariff | null>(null);
  const del = useAdminMutation((id: string) => unwrap(api.DELETE("/admin/tariffs/{id}", { params: { path: { id } } })), { onSuccess: () => setDeleting(null) });
  return (
    <Card title={t("admin.prices.tariffs")} actions={<Button onClick={() => setEditing("new")}>{t("admin.prices.newTariff")}</Button>}>
      <QueryView q={q} isEmpty={(d) => d.data.length === 0} empty={t("admin.prices.noTariffs")}>
        {(d) => (
          <DataTable
            label={t("admin.prices.tariffs")}
            rows={d.data}
            rowKey={(x) => x.id}
            rowAttrs={(x) => ({ "data-testid": "tariff-row", "data-name": x.name })}
            columns={[
              {
                header: t("admin.prices.tariffName"),
                cell: (x) => (
                  <>
                    <div className="font-medium">
                      {x.name} {x.is_default && <Badge tone="blue">{t("admin.prices.default")}</Badge>}
                    </div>
                    <div className="max-w-72 truncate text-xs text-slate-600">{x.description}</div>
                  </>
                ),
              },
              { header: t("admin.prices.markup"), align: "right", cell: (x) => `×${x.markup}` },
              { header: t("admin.status"), cell: (x) => <StatusBadge status={x.status} /> },
              { header: t("admin.prices.allowedModels"), className: "max-w-64 truncate", cell: (x) => x.allowed_models?.join(", ") ?? t("admin.prices.allModels") },
              { header: t("admin.prices.accounts"), align: "right", cell: (x) => x.accounts ?? 0 },
              {
                header: t("admin.actions"),
                srOnly: true,
                className: "space-x-2",
                cell: (x) => (
                  <>
                    <Button variant="secondary" onClick={() => setEditing(x)}>
                      {t("admin.edit")}
                    </Button>
                    {!x.is_default && (
                      <Button variant="danger" onClick={() => setDeleting(x)}>
                        {t("admin.delete")}
                      </Button>
                    )}
                  </>
                ),
              },
            ]}
          />
        )}
      </QueryView>
      {del.error && <Alert tone="red">{errorText(del.error)}</Alert>}
      {editing && <TariffDialog tariff={editing} onClose={() => setEditing(null)} />}
      <ConfirmDialog
        open={!!deleting}
        title={t("admin.prices.deleteTariff")}
        text={t("admin.prices.deleteTariffText", { name: deleting?.name ?? "" })}
        confirmLabel={t("admin.delete")}
        busy={del.isPending}
        onClose={() => setDeleting(null)}
        onConfirm={() => deleting && del.mutate(deleting.id)}
      />
    </Card>
  );
}

/** Price table, pending price changes, FX rate with history, tariffs. */
export function AdminPricesPage() {
  const { t } = useI18n();
  return (
    <>
      <PageHeader title={t("admin.nav.prices")}>{t("admin.prices.subtitle")}</PageHeader>
      <div className="space-y-5">
        <PriceChangesCard />
        <PriceTableCard />
        <TariffsCard />
        <FxCard />
      </div>
    </>
  );
}
