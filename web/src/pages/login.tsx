import { useState, type FormEvent } from "react";
import { Link, useSearchParams } from "react-router";
import { ApiError } from "../api/client";
import { useAuth } from "../auth/session";
import { LanguageSwitch } from "../components/layout";
import { Alert, Button, Field } from "../components/ui";
import { useI18n } from "../i18n/context";
import { useWebConfig } from "../lib/web-config";
import { TelegramLogin } from "./telegram-login";
import { TelegramWidgetLogin } from "./telegram-widget";

/** Telegram's two ways in: the Login Widget (when the bot's username and id are known) and the bot's deep link. */
function TelegramOptions() {
  const { t } = useI18n();
  const cfg = useWebConfig();
  if (!cfg?.telegram.login) return null;
  const botId = cfg.telegram.widget_bot_id;
  return (
    <div className="mt-5 space-y-3 border-t border-slate-200 pt-5">
      {botId && <TelegramWidgetLogin botId={botId} />}
      <TelegramLogin label={botId ? t("auth.telegramBot") : undefined} />
    </div>
  );
}

function AuthFrame({ title, children }: { title: string; children: React.ReactNode }) {
  const { t } = useI18n();
  return (
    <div className="flex min-h-screen flex-col items-center justify-center px-4 py-10">
      <main id="main" className="w-full max-w-sm">
        <div className="mb-6 flex items-center justify-between">
          <div className="flex items-center gap-2 font-semibold text-slate-900">
            <img src={`${import.meta.env.BASE_URL}favicon.svg`} alt="" className="h-7 w-7" />
            {t("app.name")}
          </div>
          <LanguageSwitch />
        </div>
        <div className="rounded-lg bg-white p-6 shadow-sm ring-1 ring-slate-200">
          <h1 className="mb-5 text-lg font-semibold text-slate-900">{title}</h1>
          {children}
        </div>
      </main>
    </div>
  );
}

function messageOf(e: unknown): string {
  return e instanceof ApiError ? e.message : e instanceof Error ? e.message : String(e);
}

export function LoginPage() {
  const { t } = useI18n();
  const { login } = useAuth();
  const [params] = useSearchParams();
  const cfg = useWebConfig();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    setBusy(true);
    setError(null);
    try {
      await login(String(f.get("email")), String(f.get("password")));
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <AuthFrame title={t("auth.loginTitle")}>
      {params.get("expired") && (
        <div className="mb-4">
          <Alert tone="amber">{t("auth.expired")}</Alert>
        </div>
      )}
      <form onSubmit={submit} className="space-y-4" noValidate>
        <Field label={t("auth.email")} name="email" type="email" autoComplete="email" required />
        <Field label={t("auth.password")} name="password" type="password" autoComplete="current-password" required />
        {error && <Alert tone="red">{error}</Alert>}
        <Button type="submit" className="w-full" disabled={busy}>
          {t("auth.login")}
        </Button>
      </form>
      <TelegramOptions />
      <p className="mt-5 text-sm text-slate-600">
        <Link to={`/admin/login${params.get("next")?.startsWith("/admin") ? `?next=${encodeURIComponent(params.get("next")!)}` : ""}`} className="font-medium text-indigo-700 underline">
          {t("admin.login.link")}
        </Link>
      </p>
      {cfg?.registration_enabled !== false && (
        <p className="mt-5 text-sm text-slate-600">
          {t("auth.noAccount")}{" "}
          <Link to={`/signup${params.get("next") ? `?next=${encodeURIComponent(params.get("next")!)}` : ""}`} className="font-medium text-indigo-700 underline">
            {t("auth.signup")}
          </Link>
        </p>
      )}
    </AuthFrame>
  );
}

export function SignupPage() {
  const { t } = useI18n();
  const { register } = useAuth();
  const [params] = useSearchParams();
  const cfg = useWebConfig();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    setBusy(true);
    setError(null);
    try {
      await register(String(f.get("email")), String(f.get("password")), String(f.get("name") ?? ""), params.get("ref") ?? undefined);
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <AuthFrame title={t("auth.signupTitle")}>
      {cfg?.registration_enabled === false ? (
        <Alert tone="amber">{t("auth.registrationClosed")}</Alert>
      ) : (
        <form onSubmit={submit} className="space-y-4" noValidate>
          <Field label={`${t("auth.name")} (${t("common.optional")})`} name="name" autoComplete="name" />
          <Field label={t("auth.email")} name="email" type="email" autoComplete="email" required />
          <Field label={t("auth.password")} name="password" type="password" autoComplete="new-password" hint={t("auth.passwordHint")} required minLength={8} />
          {error && <Alert tone="red">{error}</Alert>}
          <Button type="submit" className="w-full" disabled={busy}>
            {t("auth.signup")}
          </Button>
        </form>
      )}
      <TelegramOptions />
      <p className="mt-5 text-sm text-slate-600">
        {t("auth.haveAccount")}{" "}
        <Link to="/login" className="font-medium text-indigo-700 underline">
          {t("auth.login")}
        </Link>
      </p>
    </AuthFrame>
  );
}
