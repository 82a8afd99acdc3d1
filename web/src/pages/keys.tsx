import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { api, ApiError, unwrap, type Schemas } from "../api/client";
import { CopyButton } from "../components/copy-button";
import { DateField } from "../components/date-field";
import { ConfirmDialog, Dialog } from "../components/dialog";
import { QueryView } from "../components/states";
import { Alert, Badge, Button, Card, Field, PageHeader, TableFrame, td, th } from "../components/ui";
import { useI18n } from "../i18n/context";
import { useFormat } from "../i18n/format";
import { useKeys } from "../lib/queries";

type Key = Schemas["ApiKey"];
type Limits = Record<string, unknown>;

const LIMIT_FIELDS = [
  ["daily_tokens", "keys.dailyTokens", "tokens"],
  ["monthly_tokens", "keys.monthlyTokens", "tokens"],
  ["daily_money", "keys.dailyMoney", "money"],
  ["monthly_money", "keys.monthlyMoney", "money"],
] as const;

function limitsSummary(l: Limits, f: ReturnType<typeof useFormat>, t: (k: string, v?: Record<string, string | number>) => string): string {
  const parts: string[] = [];
  for (const [k, label, kind] of LIMIT_FIELDS) {
    const v = l[k];
    if (v === null || v === undefined || v === "") continue;
    parts.push(`${t(label, { currency: f.currency })}: ${kind === "money" ? f.money(String(v)) : f.number(Number(v))}`);
  }
  return parts.join(" · ");
}

/** The form for create and edit: name, limits, allowed models, expiry. */
function KeyForm({ initial, onSubmit, busy, error, submitLabel }: { initial?: Key; onSubmit: (body: Schemas["CreateApiKeyRequest"]) => void; busy: boolean; error: string | null; submitLabel: string }) {
  const { t } = useI18n();
  const f = useFormat();
  const lim = (initial?.limits ?? {}) as Limits;
  function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const fd = new FormData(e.currentTarget);
    const limits: Limits = {};
    for (const [k, , kind] of LIMIT_FIELDS) {
      const raw = String(fd.get(k) ?? "").trim().replace(",", ".");
      if (raw !== "") limits[k] = kind === "tokens" ? Number(raw) : raw;
      else if (initial && lim[k] !== undefined && lim[k] !== null) limits[k] = null;
    }
    const models = String(fd.get("allowed_models") ?? "")
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);
    const exp = String(fd.get("expires_at") ?? "");
    onSubmit({
      name: String(fd.get("name") ?? "").trim(),
      limits,
      allowed_models: models.length ? models : null,
      // The end of that day in the billing zone, the zone every date on the pages is shown in.
      expires_at: exp ? (f.instant(`${exp}T23:59:59`) ?? null) : null,
    });
  }
  return (
    <form onSubmit={submit} className="space-y-3" noValidate>
      <Field label={t("keys.name")} name="name" defaultValue={initial?.name ?? ""} required maxLength={200} autoFocus />
      <div className="grid grid-cols-1 gap-3 sm:grid-cols-2">
        {LIMIT_FIELDS.map(([k, label, kind]) => (
          <Field
            key={k}
            label={t(label, { currency: f.currency })}
            name={k}
            inputMode={kind === "tokens" ? "numeric" : "decimal"}
            defaultValue={lim[k] === null || lim[k] === undefined ? "" : String(lim[k])}
            hint={t("keys.limitHint")}
          />
        ))}
      </div>
      <Field label={t("keys.allowedModels")} name="allowed_models" defaultValue={(initial?.allowed_models ?? []).join(", ")} hint={t("keys.allowedModelsHint")} />
      <DateField label={t("keys.expiresAt")} name="expires_at" defaultValue={initial?.expires_at ? f.dayOf(initial.expires_at) : ""} hint={t("keys.expiresHint")} />
      {error && <Alert tone="red">{error}</Alert>}
      <div className="flex justify-end">
        <Button type="submit" disabled={busy}>
          {submitLabel}
        </Button>
      </div>
    </form>
  );
}

function SecretDialog({ secret, onClose }: { secret: string | null; onClose: () => void }) {
  const { t } = useI18n();
  return (
    <Dialog open={secret !== null} title={t("keys.secretTitle")} onClose={onClose} footer={<Button onClick={onClose}>{t("keys.secretDone")}</Button>}>
      <p className="mb-3 text-sm text-slate-700">{t("keys.secretText")}</p>
      <div className="flex flex-wrap items-center gap-2">
        <code data-testid="new-key-secret" className="min-w-0 flex-1 break-all rounded bg-slate-100 px-2 py-2 font-mono text-sm text-slate-900">
          {secret}
        </code>
        <CopyButton text={secret ?? ""} />
      </div>
    </Dialog>
  );
}

const msg = (e: unknown) => (e instanceof ApiError || e instanceof Error ? e.message : String(e));

export function KeysPage() {
  const { t } = useI18n();
  const f = useFormat();
  const qc = useQueryClient();
  const keys = useKeys();
  const [creating, setCreating] = useState(false);
  const [editing, setEditing] = useState<Key | null>(null);
  const [confirm, setConfirm] = useState<{ key: Key; action: "revoke" | "rotate" } | null>(null);
  const [secret, setSecret] = useState<string | null>(null);
  const refresh = () => qc.invalidateQueries({ queryKey: ["keys"] });

  const create = useMutation({
    mutationFn: (body: Schemas["CreateApiKeyRequest"]) => unwrap(api.POST("/v1/auth/api-keys", { body })),
    onSuccess: (k) => {
      setCreating(false);
      setSecret(k.secret);
      void refresh();
    },
  });
  const update = useMutation({
    mutationFn: ({ id, body }: { id: string; body: Schemas["UpdateApiKeyRequest"] }) => unwrap(api.PATCH("/v1/auth/api-keys/{id}", { params: { path: { id } }, body })),
    onSuccess: () => {
      setEditing(null);
      void refresh();
    },
  });
  const revoke = useMutation({
    mutationFn: (id: string) => unwrap(api.DELETE("/v1/auth/api-keys/{id}", { params: { path: { id } } })),
    onSuccess: () => {
      setConfirm(null);
      void refresh();
    },
  });
  const rotate = useMutation({
    mutationFn: (id: string) => unwrap(api.POST("/v1/auth/api-keys/{id}/rotate", { params: { path: { id } }, body: { grace_seconds: 3600 } })),
    onSuccess: (k) => {
      setConfirm(null);
      setSecret(k.secret);
      void refresh();
    },
  });

  const statusBadge = (k: Key) => {
    if (k.status === "active" && k.expires_at && Date.parse(k.expires_at) < Date.now()) return <Badge tone="amber">{t("keys.expired")}</Badge>;
    return <Badge tone={k.status === "active" ? "green" : k.status === "disabled" ? "amber" : "gray"}>{t(`keys.status.${k.status}`)}</Badge>;
  };

  /** Edit, disable/enable, rotate, revoke: the same buttons in the table and in the narrow-screen cards. */
  const actions = (k: (typeof keys.data & object)["data"][number]) =>
    k.status === "revoked" ? null : (
      <div className="grid grid-cols-2 justify-items-start gap-x-1 [&>button]:min-h-7 [&>button]:px-2 [&>button]:py-1 [&>button]:text-xs">
          <Button variant="ghost" aria-label={`${t("keys.edit")}: ${k.name}`} onClick={() => (update.reset(), setEditing(k))}>
            {t("keys.edit")}
          </Button>
          <Button
            variant="ghost"
            aria-label={`${k.status === "active" ? t("keys.disable") : t("keys.enable")}: ${k.name}`}
            onClick={() => update.mutate({ id: k.id, body: { status: k.status === "active" ? "disabled" : "active" } })}
          >
            {k.status === "active" ? t("keys.disable") : t("keys.enable")}
          </Button>
          <Button variant="ghost" aria-label={`${t("keys.rotate")}: ${k.name}`} onClick={() => setConfirm({ key: k, action: "rotate" })}>
            {t("keys.rotate")}
          </Button>
          <Button variant="ghost" className="text-red-700" aria-label={`${t("keys.revoke")}: ${k.name}`} onClick={() => setConfirm({ key: k, action: "revoke" })}>
            {t("keys.revoke")}
          </Button>
        </div>
    );

  return (
    <>
      <PageHeader
        title={t("keys.title")}
        actions={
          <Button
            onClick={() => {
              create.reset();
              setCreating(true);
            }}
          >
            {t("keys.create")}
          </Button>
        }
      />
      <Card>
        <QueryView q={keys} empty={t("keys.empty")} isEmpty={(d) => d.data.length === 0}>
          {(d) => (
            <>
            {/* Below 640 px each key is a card: the eight columns would make the table scroll sideways. */}
            <ul className="-mx-1 space-y-3 sm:hidden" aria-label={t("keys.title")}>
              {d.data.map((k) => (
                <li key={k.id} data-key-card={k.id} className="rounded-md p-3 ring-1 ring-slate-200">
                  <div className="flex items-start justify-between gap-2">
                    <div className="min-w-0">
                      <div className="font-medium text-slate-900 [overflow-wrap:anywhere]">{k.name || "—"}</div>
                      <div className="font-mono text-xs text-slate-700 break-all">{k.key}</div>
                    </div>
                    {statusBadge(k)}
                  </div>
                  <dl className="mt-2 grid grid-cols-[auto_1fr] gap-x-3 gap-y-1 text-xs text-slate-700">
                    <dt className="text-slate-600">{t("keys.limits")}</dt>
                    <dd className="min-w-0 [overflow-wrap:anywhere]">
                      {limitsSummary(k.limits, f, t) || t("keys.noLimits")}
                      {k.allowed_models?.length ? <div className="font-mono">{k.allowed_models.join(", ")}</div> : null}
                      {k.expires_at ? <div>{`${t("keys.expiresAt")}: ${f.date(k.expires_at)}`}</div> : null}
                    </dd>
                    <dt className="text-slate-600">{t("keys.usage")}</dt>
                    <dd className="tabular">{k.usage ? f.cost(k.usage.spent) : "—"}</dd>
                    <dt className="text-slate-600">{t("keys.created")}</dt>
                    <dd>{f.date(k.created_at)}</dd>
                    <dt className="text-slate-600">{t("keys.lastUsed")}</dt>
                    <dd>{k.last_used_at ? f.when(k.last_used_at) : t("keys.never")}</dd>
                  </dl>
                  <div className="mt-2">{actions(k)}</div>
                </li>
              ))}
            </ul>
            <div className="hidden sm:block">
            <TableFrame label={t("keys.title")}>
              <thead>
                <tr>
                  <th className={th}>{t("keys.name")}</th>
                  <th className={th}>{t("keys.prefix")}</th>
                  <th className={th}>{t("keys.status")}</th>
                  <th className={th}>{t("keys.limits")}</th>
                  <th className={th}>{t("keys.usage")}</th>
                  <th className={th}>{t("keys.created")}</th>
                  <th className={th}>{t("keys.lastUsed")}</th>
                  <th className={th}>
                    <span className="sr-only">{t("keys.actions")}</span>
                  </th>
                </tr>
              </thead>
              <tbody className="divide-y divide-slate-100">
                {d.data.map((k) => (
                  <tr key={k.id} data-key-id={k.id}>
                    <td className={`${td} font-medium`}>{k.name || "—"}</td>
                    <td className={`${td} font-mono text-xs`}>{k.key}</td>
                    <td className={td}>{statusBadge(k)}</td>
                    <td className={`${td} text-xs text-slate-700`}>
                      {limitsSummary(k.limits, f, t) || t("keys.noLimits")}
                      {k.allowed_models?.length ? <div className="font-mono">{k.allowed_models.join(", ")}</div> : null}
                      {k.expires_at ? <div>{`${t("keys.expiresAt")}: ${f.date(k.expires_at)}`}</div> : null}
                    </td>
                    <td className={`${td} tabular`}>{k.usage ? f.cost(k.usage.spent) : "—"}</td>
                    <td className={td}>{f.date(k.created_at)}</td>
                    <td className={td}>{k.last_used_at ? f.when(k.last_used_at) : t("keys.never")}</td>
                    <td className={`${td} text-right`}>
                      {actions(k)}
                    </td>
                  </tr>
                ))}
              </tbody>
            </TableFrame>
            </div>
            </>
          )}
        </QueryView>
        {update.isError && !editing && (
          <div className="mt-3">
            <Alert tone="red">{msg(update.error)}</Alert>
          </div>
        )}
      </Card>

      <Dialog open={creating} title={t("keys.createTitle")} onClose={() => setCreating(false)}>
        <KeyForm onSubmit={(b) => create.mutate(b)} busy={create.isPending} error={create.isError ? msg(create.error) : null} submitLabel={t("keys.create")} />
      </Dialog>
      <Dialog open={editing !== null} title={t("keys.editTitle", { name: editing?.name ?? "" })} onClose={() => setEditing(null)}>
        {editing && (
          <KeyForm
            initial={editing}
            onSubmit={(b) => update.mutate({ id: editing.id, body: b })}
            busy={update.isPending}
            error={update.isError ? msg(update.error) : null}
            submitLabel={t("common.save")}
          />
        )}
      </Dialog>
      <ConfirmDialog
        open={confirm !== null}
        title={confirm?.action === "revoke" ? t("keys.revoke") : t("keys.rotate")}
        text={confirm ? t(confirm.action === "revoke" ? "keys.revokeConfirm" : "keys.rotateConfirm", { name: confirm.key.name }) : ""}
        confirmLabel={confirm?.action === "revoke" ? t("keys.revoke") : t("keys.rotate")}
        busy={revoke.isPending || rotate.isPending}
        onClose={() => setConfirm(null)}
        onConfirm={() => confirm && (confirm.action === "revoke" ? revoke.mutate(confirm.key.id) : rotate.mutate(confirm.key.id))}
      />
      <SecretDialog secret={secret} onClose={() => setSecret(null)} />
    </>
  );
}
