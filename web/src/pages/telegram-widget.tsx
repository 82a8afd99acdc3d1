import { useEffect, useRef, useState } from "react";
import { api, unwrap } from "../api/client";
import { useAuth } from "../auth/session";
import { Alert, Button } from "../components/ui";
import { useI18n } from "../i18n/context";

/** Telegram's Login Widget script; its `Telegram.Login.auth` opens the confirmation window on oauth.telegram.org. */
export const TELEGRAM_WIDGET_SCRIPT = "https://telegram.org/js/telegram-widget.js?22";

/** What the widget hands back once the user confirmed: the signed fields the gateway verifies. */
type WidgetUser = { id: number; auth_date: number; hash: string; first_name?: string; last_name?: string; username?: string; photo_url?: string };

interface TelegramLoginApi {
  auth(options: { bot_id: string; request_access?: "write"; lang?: string }, callback: (user: WidgetUser | false) => void): void;
}
declare global {
  interface Window {
    Telegram?: { Login?: TelegramLoginApi };
  }
}

/**
 * The gateway allows telegram.org scripts only on the document it served for /login or /signup
 * (the CSP is the first document's; client-side navigation keeps it). Reached from another page
 * (after logging out, or an expired session), the login page loads itself once more.
 */
export function documentAllowsWidget(): boolean {
  const nav = performance.getEntriesByType("navigation")[0] as PerformanceNavigationTiming | undefined;
  const first = new URL(nav?.name ?? location.href);
  return /\/(login|signup)\/?$/.test(first.pathname);
}

let loading: Promise<TelegramLoginApi> | null = null;
function loadWidget(): Promise<TelegramLoginApi> {
  loading ??= new Promise<TelegramLoginApi>((resolve, reject) => {
    const s = document.createElement("script");
    s.src = TELEGRAM_WIDGET_SCRIPT;
    s.async = true;
    s.onload = () => (window.Telegram?.Login ? resolve(window.Telegram.Login) : reject(new Error("no Telegram.Login")));
    s.onerror = () => reject(new Error("telegram widget script did not load"));
    document.head.appendChild(s);
  }).catch((e: unknown) => {
    loading = null;
    throw e;
  });
  return loading;
}

/**
 * Log in (or sign up: a new Telegram id gets its own account) with the Login Widget: our own
 * button, Telegram's confirmation window, then the signed fields go to the gateway, which checks
 * the hash with the bot token and spends it once.
 */
export function TelegramWidgetLogin({ botId }: { botId: string }) {
  const { t, locale } = useI18n();
  const { accept } = useAuth();
  const [ready, setReady] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const reloaded = useRef(false);

  useEffect(() => {
    if (!documentAllowsWidget()) {
      if (!reloaded.current) {
        reloaded.current = true;
        location.replace(location.href);
      }
      return;
    }
    let live = true;
    loadWidget().then(
      () => live && setReady(true),
      () => live && setError(t("auth.telegramWidgetUnavailable")),
    );
    return () => {
      live = false;
    };
  }, [t]);

  function start() {
    const tg = window.Telegram?.Login;
    if (!tg) return;
    setError(null);
    setBusy(true);
    tg.auth({ bot_id: botId, request_access: "write", lang: locale }, (user) => {
      if (!user) {
        setBusy(false);
        setError(t("auth.telegramWidgetCancelled"));
        return;
      }
      unwrap(api.POST("/v1/auth/telegram/widget", { params: { query: { session: "web" } }, body: user }))
        .then(accept)
        .catch((e: Error) => setError(e.message))
        .finally(() => setBusy(false));
    });
  }

  return (
    <div className="space-y-3">
      <Button variant="secondary" className="w-full" onClick={start} disabled={!ready || busy} data-testid="telegram-widget-login">
        {t("auth.telegram")}
      </Button>
      {error && <Alert tone="red">{error}</Alert>}
    </div>
  );
}
