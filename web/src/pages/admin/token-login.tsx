import { useState, type FormEvent } from "react";
import { Link, Navigate, useSearchParams } from "react-router";
import { api, unwrap } from "../../api/client";
import { useAuth } from "../../auth/session";
import { LanguageSwitch } from "../../components/layout";
import { Alert, Button, Field } from "../../components/ui";
import { errorText } from "../../features/admin/hooks";
import { useI18n } from "../../i18n/context";

/**
 * The ADMIN_TOKEN holder's login: the token is sent once to POST /v1/auth/admin-token and traded
 * for an ordinary admin session (access token in memory, refresh token as an httpOnly cookie); the
 * page never stores the token.
 */
export function AdminTokenLoginPage() {
  const { t } = useI18n();
  const { state, accept } = useAuth();
  const [params] = useSearchParams();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const next = params.get("next");
  const target = next && next.startsWith("/admin") && !next.startsWith("//") ? next : "/admin";

  if (state.status === "authenticated" && state.user.role === "admin") return <Navigate to={target} replace />;

  async function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const token = String(new FormData(e.currentTarget).get("token") ?? "").trim();
    if (!token) return setError(t("admin.login.required"));
    setBusy(true);
    setError(null);
    try {
      accept(await unwrap(api.POST("/v1/auth/admin-token", { body: { token, session: "web" } })));
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  }

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
          <h1 className="mb-2 text-lg font-semibold text-slate-900">{t("admin.login.title")}</h1>
          <p className="mb-5 text-sm text-slate-600">{t("admin.login.text")}</p>
          {state.status === "authenticated" && (
            <div className="mb-4">
              <Alert tone="amber">{t("admin.login.notAdmin")}</Alert>
            </div>
          )}
          <form onSubmit={submit} className="space-y-4" noValidate>
            <Field label={t("admin.login.token")} name="token" type="password" autoComplete="off" spellCheck={false} required />
            {error && <Alert tone="red">{error}</Alert>}
            <Button type="submit" className="w-full" disabled={busy}>
              {t("admin.login.submit")}
            </Button>
          </form>
          <p className="mt-5 text-sm text-slate-600">
            <Link to="/login" className="font-medium text-indigo-700 underline">
              {t("admin.login.withPassword")}
            </Link>
          </p>
        </div>
      </main>
    </div>
  );
}
