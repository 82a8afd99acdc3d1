import { useQuery } from "@tanstack/react-query";
import { useEffect, useState, type FormEvent } from "react";
import { api, unwrap, type Schemas } from "../../api/client";
import { ConfirmDialog } from "../../components/dialog";
import { FormDialog } from "../../components/form-dialog";
import { QueryView } from "../../components/states";
import { DataTable } from "../../components/data-table";
import { Alert, Button, Card, Field, PageHeader, Select } from "../../components/ui";
import { FilterBar, Id, Mono, pct, StatusBadge } from "../../features/admin/components";
import { adminKey, errorText, useAdminMutation } from "../../features/admin/hooks";
import { useI18n } from "../../i18n/context";
import { useFormat } from "../../i18n/format";

type UpstreamAccount = Schemas["UpstreamAccount"];
type Circuit = Schemas["Circuit"];
type TestResult = Schemas["UpstreamTestResult"];

/** "Test this upstream": one tiny request; the result stays next to the button. */
function TestButton({ providerId, accountId, label }: { providerId: string; accountId?: string; label: string }) {
  const { t } = useI18n();
  const fmt = useFormat();
  const test = useAdminMutation(() => unwrap(api.POST("/admin/routing/upstream-test", { body: { provider_id: providerId, upstream_account_id: accountId } })));
  const r: TestResult | undefined = test.data;
  return (
    <div className="flex flex-wrap items-center gap-2">
      <Button variant="secondary" onClick={() => test.mutate()} disabled={test.isPending} aria-label={`${t("admin.upstreams.test")}: ${label}`}>
        {test.isPending ? t("admin.upstreams.testing") : t("admin.upstreams.test")}
      </Button>
      <span role="status" aria-live="polite" className="text-xs" data-testid="upstream-test-result">
        {test.error && <span className="text-red-700">{errorText(test.error)}</span>}
        {r && (r.ok ? <span className="text-green-800">{t("admin.upstreams.testOk", { ms: fmt.number(r.latency_ms), model: r.upstream_model })}</span> : <span className="text-red-700">{t("admin.upstreams.testFailed", { error: r.error ?? "" })}</span>)}
      </span>
    </div>
  );
}

function ProvidersCard({ circuits }: { circuits: Circuit[] }) {
  const { t } = useI18n();
  const q = useQuery({ queryKey: adminKey("providers"), queryFn: () => unwrap(api.GET("/admin/routing/providers")) });
  const stateOf = (id: string) => circuits.find((c) => c.key === `prv:${id}`)?.state ?? "closed";
  return (
    <Card title={t("admin.upstreams.providers")}>
      <QueryView q={q} isEmpty={(d) => d.data.length === 0} empty={t("admin.upstreams.noProviders")}>
        {(d) => (
          <DataTable
            label={t("admin.upstreams.providers")}
            rows={d.data}
            rowKey={(p) => p.id}
            rowAttrs={(p) => ({ "data-testid": "provider-row", "data-id": p.id })}
            columns={[
              { header: "ID", cell: (p) => <Mono>{p.id}</Mono> },
              {
                header: t("admin.upstreams.type"),
                cell: (p) => (
                  <>
                    <div>{p.type}</div>
                    <div className="text-xs text-slate-600">{t(`admin.upstreams.source.${p.source}`)}</div>
                  </>
                ),
              },
              { header: t("admin.upstreams.baseUrl"), className: "max-w-56 truncate", title: (p) => p.base_url ?? "", cell: (p) => p.base_url ?? "—" },
              { header: t("admin.status"), cell: (p) => <StatusBadge status={p.enabled ? "enabled" : "disabled"} /> },
              { header: t("admin.upstreams.accounts"), align: "right", cell: (p) => p.upstream_accounts },
              { header: t("admin.upstreams.circuit"), cell: (p) => (p.upstream_accounts === 0 ? <StatusBadge status={stateOf(p.id)} /> : "—") },
              { header: t("admin.upstreams.test"), cell: (p) => <TestButton providerId={p.id} label={p.id} /> },
            ]}
          />
        )}
      </QueryView>
    </Card>
  );
}

function AccountDialog({ account, providers, onClose }: { account: UpstreamAccount | "new"; providers: string[]; onClose: () => void }) {
  const { t } = useI18n();
  const isNew = account === "new";
  const save = useAdminMutation(
    (b: Record<string, unknown>) =>
      isNew
        ? unwrap(api.POST("/admin/routing/upstream-accounts", { body: b as Schemas["UpstreamAccountInput"] }))
        : unwrap(api.PATCH("/admin/routing/upstream-accounts/{id}", { params: { path: { id: account.id } }, body: b as Schemas["UpstreamAccountPatch"] })),
    { onSuccess: onClose },
  );
  function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    const s = (k: string) => String(f.get(k) ?? "").trim();
    const b: Record<string, unknown> = {
      name: s("name"),
      discount_percent: Number(s("discount") || "0"),
      balance: s("balance") ? s("balance").replace(",", ".") : null,
      weight: Number(s("weight") || "1"),
      enabled: f.get("enabled") === "on",
    };
    if (isNew) b.provider_id = s("provider");
    if (s("api_key")) b.api_key = s("api_key");
    save.mutate(b);
  }
  const a = isNew ? null : account;
  return (
    <FormDialog
      dense
      title={isNew ? t("admin.upstreams.addAccount") : t("admin.upstreams.editAccount", { name: a!.name || a!.id })}
      onClose={onClose}
      onSubmit={submit}
      error={save.error ? errorText(save.error) : null}
      busy={save.isPending}
      submitLabel={t("common.save")}
    >
        {isNew && (
          <Select label={t("admin.provider")} name="provider" required>
            {providers.map((p) => (
              <option key={p} value={p}>
                {p}
              </option>
            ))}
          </Select>
        )}
        <Field label={t("admin.upstreams.accountName")} name="name" defaultValue={a?.name ?? ""} maxLength={200} />
        <Field
          label={isNew ? t("admin.upstreams.apiKey") : t("admin.upstreams.newApiKey")}
          name="api_key"
          type="password"
          autoComplete="off"
          required={isNew}
          minLength={8}
          hint={isNew ? t("admin.upstreams.apiKeyHint") : t("admin.upstreams.keyMasked", { key: a!.api_key })}
        />
        <div className="grid grid-cols-3 gap-3">
          <Field label={t("admin.upstreams.discount")} name="discount" type="number" min={0} max={100} step={0.01} defaultValue={a?.discount_percent ?? 0} />
          <Field label={t("admin.upstreams.balanceUsd")} name="balance" inputMode="decimal" defaultValue={a?.balance ?? ""} />
          <Field label={t("admin.upstreams.weight")} name="weight" type="number" min={0} defaultValue={a?.weight ?? 1} />
        </div>
        <label className="flex items-center gap-2 text-sm text-slate-800">
          <input type="checkbox" name="enabled" defaultChecked={a?.enabled ?? true} className="h-4 w-4" />
          {t("admin.upstreams.enabled")}
        </label>
    </FormDialog>
  );
}

function AccountsCard() {
  const { t } = useI18n();
  const q = useQuery({ queryKey: adminKey("upstream-accounts"), queryFn: () => unwrap(api.GET("/admin/routing/upstream-accounts")) });
  const providers = useQuery({ queryKey: adminKey("providers"), queryFn: () => unwrap(api.GET("/admin/routing/providers")) });
  const [editing, setEditing] = useState<UpstreamAccount | "new" | null>(null);
  const [deleting, setDeleting] = useState<UpstreamAccount | null>(null);
  const del = useAdminMutation((id: string) => unwrap(api.DELETE("/admin/routing/upstream-accounts/{id}", { params: { path: { id } } })), { onSuccess: () => setDeleting(null) });
  return (
    <Card title={t("admin.upstreams.masterAccounts")} actions={<Button variant="secondary" onClick={() => setEditing("new")}>{t("admin.upstreams.addAccount")}</Button>}>
      <QueryView q={q} isEmpty={(d) => d.data.length === 0} empty={t("admin.upstreams.noAccounts")}>
        {(d) => (
          <DataTable
            label={t("admin.upstreams.masterAccounts")}
            rows={d.data}
            rowKey={(a) => a.id}
            columns={[
              {
                header: (
                  <>
                    {t("admin.upstreams.accountName")} / {t("admin.provider")}
                  </>
                ),
                cell: (a) => (
                  <>
                    <div>
                      {a.name || "—"} <span className="text-xs text-slate-600">· {a.provider_id}</span>
                    </div>
                    <Id id={a.id} />
                  </>
                ),
              },
              { header: t("admin.upstreams.apiKey"), cell: (a) => <Mono>{a.api_key}</Mono> },
              { header: t("admin.upstreams.discount"), align: "right", cell: (a) => `${a.discount_percent}%` },
              { header: t("admin.upstreams.balanceUsd"), align: "right", cell: (a) => (a.balance === null ? "—" : `$${a.balance}`) },
              { header: t("admin.upstreams.weight"), align: "right", cell: (a) => a.weight },
              {
                header: (
                  <>
                    {t("admin.status")} / {t("admin.upstreams.circuit")}
                  </>
                ),
                cell: (a) => (
                  <>
                    <StatusBadge status={a.enabled ? "enabled" : "disabled"} />
                    <div className="mt-1">
                      <StatusBadge status={a.circuit} />
                    </div>
                  </>
                ),
              },
              {
                header: t("admin.actions"),
                srOnly: true,
                className: "space-y-1",
                cell: (a) => (
                  <>
                    <div className="flex gap-2">
                      <Button variant="secondary" onClick={() => setEditing(a)}>
                        {t("admin.edit")}
                      </Button>
                      <Button variant="danger" onClick={() => setDeleting(a)}>
                        {t("admin.delete")}
                      </Button>
                    </div>
                    {a.enabled && <TestButton providerId={a.provider_id} accountId={a.id} label={a.name || a.id} />}
                  </>
                ),
              },
            ]}
          />
        )}
      </QueryView>
      {del.error && <Alert tone="red">{errorText(del.error)}</Alert>}
      {editing && <AccountDialog account={editing} providers={(providers.data?.data ?? []).map((p) => p.id)} onClose={() => setEditing(null)} />}
      <ConfirmDialog
        open={!!deleting}
        title={t("admin.upstreams.deleteTitle")}
        text={t("admin.upstreams.deleteText", { name: deleting?.name || deleting?.id || "" })}
        confirmLabel={t("admin.delete")}
        busy={del.isPending}
        onClose={() => setDeleting(null)}
        onConfirm={() => deleting && del.mutate(deleting.id)}
      />
      <p className="mt-2 text-xs text-slate-600">{t("admin.upstreams.keysNote")}</p>
    </Card>
  );
}

function RoutesCard() {
  const { t } = useI18n();
  const [model, setModel] = useState("");
  const [draft, setDraft] = useState("");
  const models = useQuery({ queryKey: adminKey("price-table-models"), queryFn: () => unwrap(api.GET("/admin/price-table")) });
  const q = useQuery({ queryKey: adminKey("routes", model), queryFn: () => unwrap(api.GET("/admin/routing/routes", { params: { query: { model: model || undefined } } })) });
  const put = useAdminMutation((b: Schemas["ModelRouteInput"]) => unwrap(api.PUT("/admin/routing/routes", { body: b })));
  const del = useAdminMutation((id: string) => unwrap(api.DELETE("/admin/routing/routes/{id}", { params: { path: { id } } })));
  const modelIds = [...new Set((models.data?.data ?? []).map((r) => r.model_id))];
  // Open on the first priced model, so the page shows real routes before anyone types.
  useEffect(() => {
    if (!model && !draft && modelIds[0]) {
      setModel(modelIds[0]);
      setDraft(modelIds[0]);
    }
  }, [model, draft, modelIds]);
  function save(e: FormEvent<HTMLFormElement>, base: { model: string; provider_id: string; upstream_model: string }) {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    put.mutate({ ...base, priority: Number(f.get("priority")), weight: Number(f.get("weight")), enabled: f.get("enabled") === "on" });
  }
  return (
    <Card title={t("admin.upstreams.routes")}>
      <FilterBar onSubmit={() => setModel(draft.trim())}>
        <Field label={t("admin.model")} value={draft} onChange={(e) => setDraft(e.target.value)} list="route-models" className="w-72" placeholder="openai/gpt-4o-mini" />
        <datalist id="route-models">
          {modelIds.map((m) => (
            <option key={m} value={m} />
          ))}
        </datalist>
      </FilterBar>
      <p className="mb-3 text-sm text-slate-600">{t("admin.upstreams.routesHint")}</p>
      <QueryView q={q}>
        {(d) => {
          const effective = d.effective ?? [];
          const rows = model
            ? effective.map((r) => ({ key: `${r.provider_id}:${r.upstream_model}`, model, ...r, enabled: true, id: d.data.find((x) => x.provider_id === r.provider_id && x.upstream_model === r.upstream_model)?.id ?? null }))
            : d.data.map((r) => ({ key: r.id, model: r.model, provider_id: r.provider_id, upstream_model: r.upstream_model, priority: r.priority, weight: r.weight, source: "admin" as const, enabled: r.enabled, id: r.id }));
          if (rows.length === 0) return <p className="text-sm text-slate-600">{model ? t("admin.upstreams.noRoutesForModel") : t("admin.upstreams.noRuntimeRoutes")}</p>;
          return (
            <DataTable
              label={t("admin.upstreams.routes")}
              rows={rows}
              rowKey={(r) => r.key}
              columns={[
                { header: t("admin.model"), cell: (r) => r.model },
                { header: t("admin.provider"), cell: (r) => r.provider_id },
                { header: t("admin.upstreams.upstreamModel"), cell: (r) => <Mono>{r.upstream_model}</Mono> },
                { header: t("admin.upstreams.source"), cell: (r) => t(`admin.upstreams.source.${r.source}`) },
                {
                  header: t("admin.upstreams.priorityWeight"),
                  cell: (r) => (
                    <form className="flex flex-wrap items-end gap-2" onSubmit={(e) => save(e, { model: r.model, provider_id: r.provider_id, upstream_model: r.upstream_model })}>
                      <Field label={t("admin.upstreams.priority")} name="priority" type="number" min={-1000} max={1000} defaultValue={r.priority} className="w-24" />
                      <Field label={t("admin.upstreams.weight")} name="weight" type="number" min={0} defaultValue={r.weight} className="w-24" />
                      <label className="flex items-center gap-1 pb-2 text-sm">
                        <input type="checkbox" name="enabled" defaultChecked={r.enabled} className="h-4 w-4" />
                        {t("admin.upstreams.enabled")}
                      </label>
                      <Button type="submit" variant="secondary" disabled={put.isPending}>
                        {t("common.save")}
                      </Button>
                      {r.id && r.source === "admin" && (
                        <Button variant="ghost" onClick={() => del.mutate(r.id!)}>
                          {t("admin.upstreams.resetRoute")}
                        </Button>
                      )}
                    </form>
                  ),
                },
              ]}
            />
          );
        }}
      </QueryView>
      {(put.error || del.error) && <Alert tone="red">{errorText(put.error ?? del.error)}</Alert>}
    </Card>
  );
}

function CircuitsCard({ q }: { q: ReturnType<typeof useCircuits> }) {
  const { t, locale } = useI18n();
  const fmt = useFormat();
  const [resetting, setResetting] = useState<Circuit | null>(null);
  const reset = useAdminMutation((key: string) => unwrap(api.POST("/admin/routing/circuits/reset", { body: { key } })), { onSuccess: () => setResetting(null) });
  return (
    <Card title={t("admin.upstreams.circuits")} actions={<Button variant="ghost" onClick={() => void q.refetch()}>{t("admin.refresh")}</Button>}>
      <QueryView q={q} isEmpty={(d) => d.data.length === 0} empty={t("admin.upstreams.noCircuits")}>
        {(d) => (
          <DataTable
            label={t("admin.upstreams.circuits")}
            rows={d.data}
            rowKey={(c) => c.key}
            rowAttrs={(c) => ({ "data-testid": "circuit-row", "data-key": c.key, "data-state": c.state })}
            columns={[
              { header: t("admin.upstreams.circuitKey"), cell: (c) => <Id id={c.key} /> },
              { header: t("admin.upstreams.circuit"), cell: (c) => <StatusBadge status={c.state} /> },
              { header: t("admin.requests"), align: "right", cell: (c) => c.requests },
              { header: t("admin.failed"), align: "right", cell: (c) => c.failures },
              { header: t("admin.upstreams.failureRate"), align: "right", cell: (c) => pct(c.failure_rate, locale) },
              { header: t("admin.upstreams.retryAt"), cell: (c) => fmt.dateTime(c.retry_at) },
              {
                header: t("admin.actions"),
                srOnly: true,
                cell: (c) => (
                  <Button variant={c.state === "closed" ? "ghost" : "danger"} onClick={() => setResetting(c)}>
                    {t("admin.upstreams.reset")}
                  </Button>
                ),
              },
            ]}
          />
        )}
      </QueryView>
      {reset.error && <Alert tone="red">{errorText(reset.error)}</Alert>}
      <ConfirmDialog
        open={!!resetting}
        title={t("admin.upstreams.resetTitle")}
        text={t("admin.upstreams.resetText", { key: resetting?.key ?? "" })}
        confirmLabel={t("admin.upstreams.reset")}
        busy={reset.isPending}
        onClose={() => setResetting(null)}
        onConfirm={() => resetting && reset.mutate(resetting.key)}
      />
    </Card>
  );
}

function useCircuits() {
  return useQuery({ queryKey: adminKey("circuits"), queryFn: () => unwrap(api.GET("/admin/routing/circuits")), refetchInterval: 5_000 });
}

/** Providers, master accounts (keys masked), routes with priority/weight, live circuit breakers. */
export function AdminUpstreamsPage() {
  const { t } = useI18n();
  const circuits = useCircuits();
  return (
    <>
      <PageHeader title={t("admin.nav.upstreams")}>{t("admin.upstreams.subtitle")}</PageHeader>
      <div className="space-y-5">
        <ProvidersCard circuits={circuits.data?.data ?? []} />
        <AccountsCard />
        <CircuitsCard q={circuits} />
        <RoutesCard />
      </div>
    </>
  );
}
