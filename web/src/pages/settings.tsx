import { useMutation } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { api, ApiError, unwrap } from "../api/client";
import { useAuth, useSession } from "../auth/session";
import { LanguageSwitch } from "../components/layout";
import { Alert, Button, Card, Field, PageHeader } from "../components/ui";
import { useI18n } from "../i18n/context";
import { useFormat } from "../i18n/format";
import { useWebConfig } from "../lib/web-config";

const msg = (e: unknown) => (e instanceof ApiError || e instanceof Error ? e.message : String(e));

function ProfileCard() {
  const { t, locale } = useI18n();
  const { user } = useSession();
  const { reload } = useAuth();
  const save = useMutation({
    mutationFn: (name: string) => unwrap(api.PATCH("/v1/auth/profile", { body: { name, locale } })),
    onSuccess: () => void reload(),
  });
  return (
    <Card title={t("settings.profile")}>
      <form
        className="space-y-3"
        onSubmit={(e: FormEvent<HTMLFormElement>) => {
          e.preventDefault();
          save.mutate(String(new FormData(e.currentTarget).get("name") ?? ""));
        }}
      >
        <Field label={t("settings.email")} value={user.email ?? "—"} readOnly disabled />
        <Field label={t("settings.name")} name="name" defaultValue={user.name ?? ""} maxLength={200} autoComplete="name" />
        <div>
          <div className="mb-1 text-sm font-medium text-slate-800">{t("settings.language")}</div>
          <LanguageSwitch />
        </div>
        {save.isError && <Alert tone="red">{msg(save.error)}</Alert>}
        {save.isSuccess && <Alert tone="green">{t("common.saved")}</Alert>}
        <Button type="submit" disabled={save.isPending}>
          {t("common.save")}
        </Button>
      </form>
    </Card>
  );
}

function PasswordCard() {
  const { t } = useI18n();
  const change = useMutation({
    mutationFn: (b: { current_password: string; new_password: string }) => unwrap(api.POST("/v1/auth/password", { body: b })),
  });
  return (
    <Card title={t("settings.password")}>
      <form
        className="space-y-3"
        onSubmit={(e: FormEvent<HTMLFormElement>) => {
          e.preventDefault();
          const fd = new FormData(e.currentTarget);
          const form = e.currentTarget;
          change.mutate({ current_password: String(fd.get("current") ?? ""), new_password: String(fd.get("new") ?? "") }, { onSuccess: () => form.reset() });
        }}
      >
        <Field label={t("settings.currentPassword")} name="current" type="password" autoComplete="current-password" />
        <Field label={t("settings.newPassword")} name="new" type="password" autoComplete="new-password" hint={t("auth.passwordHint")} />
        {change.isError && <Alert tone="red">{msg(change.error)}</Alert>}
        {change.isSuccess && <Alert tone="green">{t("settings.passwordChanged")}</Alert>}
        <Button type="submit" disabled={change.isPending}>
          {t("settings.password")}
        </Button>
      </form>
    </Card>
  );
}

function TelegramCard() {
  const { t } = useI18n();
  const { user } = useSession();
  const cfg = useWebConfig();
  const [link, setLink] = useState<{ url: string | null; start: string } | null>(null);
  const start = useMutation({
    mutationFn: () => unwrap(api.POST("/v1/auth/telegram/link")),
    onSuccess: (r) => {
      const bot = cfg?.telegram.bot_username;
      setLink({ start: r.start_param, url: r.deep_link ?? (bot ? `https://t.me/${bot}?start=${r.start_param}` : null) });
    },
  });
  return (
    <Card title={t("settings.telegram")}>
      {user.telegram_id ? (
        <p className="text-sm text-slate-700">{t("settings.telegramLinked", { id: user.telegram_id })}</p>
      ) : !cfg?.telegram.login ? (
        <p className="text-sm text-slate-600">{t("settings.telegramOff")}</p>
      ) : (
        <div className="space-y-3 text-sm text-slate-700">
          <p>{t("settings.telegramNotLinked")}</p>
          {link ? (
            link.url ? (
              <a className="font-medium text-indigo-700 underline" href={link.url} target="_blank" rel="noreferrer">
                {t("auth.telegramOpen")}
              </a>
            ) : (
              <code className="block break-all rounded bg-slate-100 p-2">/start {link.start}</code>
            )
          ) : (
            <Button variant="secondary" onClick={() => start.mutate()} disabled={start.isPending}>
              {t("settings.telegramLink")}
            </Button>
          )}
          {start.isError && <Alert tone="red">{msg(start.error)}</Alert>}
        </div>
      )}
    </Card>
  );
}

export function SettingsPage() {
  const { t } = useI18n();
  const f = useFormat();
  const { account } = useSession();
  return (
    <>
      <PageHeader title={t("settings.title")} />
      <div className="grid grid-cols-1 gap-4 lg:grid-cols-2">
        <ProfileCard />
        <PasswordCard />
        <TelegramCard />
        <Card title={t("settings.account")}>
          <dl className="space-y-2 text-sm">
            <div>
              <dt className="text-slate-600">{t("settings.accountId")}</dt>
              <dd className="font-mono text-slate-900" data-testid="account-id">
                {account.id}
              </dd>
            </div>
            <div>
              <dt className="text-slate-600">{t("settings.timezone")}</dt>
              <dd className="text-slate-900">{f.timeZone}</dd>
            </div>
          </dl>
        </Card>
      </div>
    </>
  );
}
