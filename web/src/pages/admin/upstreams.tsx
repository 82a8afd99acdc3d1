import { useQuery } from "@tanstack/react-query";
import { useEffect, useState, type FormEvent } from "react";
import { api, unwrap, type Schemas } from "../../api/client";
import { ConfirmDialog } from "../../components/dialog";
import { FormDialog } from "../../components/form-dialog";
import { QueryView } from "../../components/states";
import { Alert, Button, Card, Field, PageHeader, Select, TableFrame, td, th } from "../../components/ui";
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
          <TableFrame label={t("admin.upstreams.providers")}>
            <thead>
              <tr>
                <th className={th}>ID</th>
                <th className={th}>{t("admin.upstreams.type")}</th>
                <th className={th}>{t("admin.upstreams.baseUrl")}</th>
                <th className={th}>{t("admin.status")}</th>
                <th className={`${th} text-right`}>{t("admin.upstreams.accounts")}</th>
                <th className={th}>{t("admin.upstreams.circuit")}</th>
                <th className={th}>{t("admin.upstreams.test")}</th>
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100">
              {d.data.map((p) => (
                <tr key={p.id} data-testid="provider-row" data-id={p.id}>
                  <td className={td}>
                    <Mono>{p.id}</Mono>
                  </td>
                  <td className={td}>
                    <div>{p.type}</div>
                    <div className="text-xs text-slate-600">{t(`admin.upstreams.source.${p.source}`)}</div>
                  </td>
                  <td className={`${td} max-w-56 truncate`} title={p.base_url ?? ""}>
                    {p.base_url ?? "—"}
                  </td>
                  <td className={td}>
                    <StatusBadge status={p.enabled ? "enabled" : "disabled"} />
                  </td>
                  <td className={`${td} tabular text-right`}>{p.upstream_accounts}</td>
                  <td className={td}>{p.upstream_accounts === 0 ? <StatusBadge status={stateOf(p.id)} /> : "—"}</td>
                  <td className={td}>
                    <TestButton providerId={p.id} label={p.id} />
                  </td>
                </tr>
              ))}
            </tbody>
          </TableFrame>
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
          <TableFrame label={t("admin.upstreams.masterAccounts")}>
            <thead>
              <tr>
                <th className={th}>
                  {t("admin.upstreams.accountName")} / {t("admin.provider")}
                </th>
                <th className={th}>{t("admin.upstreams.apiKey")}</th>
                <th className={`${th} text-right`}>{t("admin.upstreams.discount")}</th>
                <th className={`${th} text-right`}>{t("admin.upstreams.balanceUsd")}</th>
                <th className={`${th} text-right`}>{t("admin.upstreams.weight")}</th>
                <th className={th}>
                  {t("admin.status")} / {t("admin.upstreams.circuit")}
                </th>
                <th className={th}>
                  <span className="sr-only">{t("admin.actions")}</span>
                </th>
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100">
              {d.data.map((a) => (
                <tr key={a.id}>
                  <td className={td}>
                    <div>
                      {a.name || "—"} <span className="text-xs text-slate-600">· {a.provider_id}</span>
                    </div>
                    <Id id={a.id} />
                  </td>
                  <td className={td}>
                    <Mono>{a.api_key}</Mono>
                  </td>
                  <td className={`${td} tabular text-right`}>{a.discount_percent}%</td>
                  <td className={`${td} tabular text-right`}>{a.balance === null ? "—" : `$${a.balance}`}</td>
                  <td className={`${td} tabular text-right`}>{a.weight}</td>
                  <td className={td}>
                    <StatusBadge status={a.enabled ? "enabled" : "disabled"} />
                    <div className="mt-1">
                      <StatusBadge status={a.circuit} />
                    </div>
                  </td>
                  <td className={`${td} space-y-1`}>
                    <div className="flex gap-2">
                      <Button variant="secondary" onClick={() => setEditing(a)}>
                        {t("admin.edit")}
                      </Button>
                      <Button variant="danger" onClick={() => setDeleting(a)}>
                        {t("admin.delete")}
                      </Button>
                    </div>
                    {a.enabled && <TestButton providerId={a.provider_id} accountId={a.id} label={a.name || a.id} />}
                  </td>
                </tr>
              ))}
            </tbody>
          </TableFrame>
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
            <TableFrame label={t("admin.upstreams.routes")}>
              <thead>
                <tr>
                  <th className={th}>{t("admin.model")}</th>
                  <th className={th}>{t("admin.provider")}</th>
                  <th className={th}>{t("admin.upstreams.upstreamModel")}</th>
                  <th className={th}>{t("admin.upstreams.source")}</th>
                  <th className={th}>{t("admin.upstreams.priorityWeight")}</th>
                </tr>
              </thead>
              <tbody className="divide-y divide-slate-100">
                {rows.map((r) => (
                  <tr key={r.key}>
                    <td className={td}>{r.model}</td>
                    <td className={td}>{r.provider_id}</td>
                    <td className={td}>
                      <Mono>{r.upstream_model}</Mono>
                    </td>
                    <td className={td}>{t(`admin.upstreams.source.${r.source}`)}</td>
                    <td className={td}>
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
                    </td>
                  </tr>
                ))}
              </tbody>
            </TableFrame>
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
          <TableFrame label={t("admin.upstreams.circuits")}>
            <thead>
              <tr>
                <th className={th}>{t("admin.upstreams.circuitKey")}</th>
                <th className={th}>{t("admin.upstreams.circuit")}</th>
                <th className={`${th} text-right`}>{t("admin.requests")}</th>
                <th className={`${th} text-right`}>{t("admin.failed")}</th>
                <th className={`${th} text-right`}>{t("admin.upstreams.failureRate")}</th>
                <th className={th}>{t("admin.upstreams.retryAt")}</th>
                <th className={th}>
                  <span className="sr-only">{t("admin.actions")}</span>
                </th>
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100">
              {d.data.map((c) => (
                <tr key={c.key} data-testid="circuit-row" data-key={c.key} data-state={c.state}>
                  <td className={td}>
                    <Id id={c.key} />
                  </td>
                  <td className={td}>
                    <StatusBadge status={c.state} />
                  </td>
                  <td className={`${td} tabular text-right`}>{c.requests}</td>
                  <td className={`${td} tabular text-right`}>{c.failures}</td>
                  <td className={`${td} tabular text-right`}>{pct(c.failure_rate, locale)}</td>
                  <td className={td}>{fmt.dateTime(c.retry_at)}</td>
                  <td className={td}>
                    <Button variant={c.state === "closed" ? "ghost" : "danger"} onClick={() => setResetting(c)}>
                      {t("admin.upstreams.reset")}
                    </Button>
                  </td>
                </tr>
              ))}
            </tbody>
          </TableFrame>
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
