import { useEffect, useState } from "react";
import { api, unwrap } from "../api/client";
import { useAuth } from "../auth/session";
import { Alert, Button } from "../components/ui";
import { useI18n } from "../i18n/context";
import { useWebConfig } from "../lib/web-config";

/**
 * Bot deep-link login: the gateway hands out a one-time `start=login_…` link; after the user presses
 * Start in the bot, polling returns the session (bound to this browser by an httpOnly cookie).
 */
export function TelegramLogin({ label }: { label?: string } = {}) {
  const { t } = useI18n();
  const { accept } = useAuth();
  const cfg = useWebConfig();
  const [link, setLink] = useState<{ nonce: string; url: string | null; start: string } | null>(null);
  const [error, setError] = useState<string | null>(null);

  async function start() {
    setError(null);
    const r = await unwrap(api.POST("/v1/auth/telegram/deep-link", { params: { query: { session: "web" } } })).catch((e: Error) => (setError(e.message), null));
    if (!r) return;
    const bot = cfg?.telegram.bot_username;
    setLink({ nonce: r.nonce, start: r.start_param, url: r.deep_link ?? (bot ? `https://t.me/${bot}?start=${r.start_param}` : null) });
  }

  useEffect(() => {
    if (!link) return;
    let stop = false;
    const tick = async () => {
      if (stop) return;
      const r = await api.POST("/v1/auth/telegram/deep-link/poll", { body: { nonce: link.nonce, session: "web" } });
      if (stop) return;
      if (r.response.status === 200 && r.data && "user" in r.data) return accept(r.data);
      if (r.response.status === 202) return void setTimeout(tick, 2000);
      setLink(null);
      setError(t("auth.telegramExpired"));
    };
    const id = setTimeout(tick, 2000);
    return () => {
      stop = true;
      clearTimeout(id);
    };
  }, [link, accept, t]);

  return (
    <div>
      {!link ? (
        <Button variant="secondary" className="w-full" onClick={() => void start()}>
          {label ?? t("auth.telegram")}
        </Button>
      ) : (
        <div className="space-y-3 text-sm text-slate-700" role="status">
          <p>{t("auth.telegramWaiting")}</p>
          {link.url ? (
            <a className="font-medium text-indigo-700 underline" href={link.url} target="_blank" rel="noreferrer">
              {t("auth.telegramOpen")}
            </a>
          ) : (
            <code className="block break-all rounded bg-slate-100 p-2">/start {link.start}</code>
          )}
        </div>
      )}
      {error && (
        <div className="mt-3">
          <Alert tone="red">{error}</Alert>
        </div>
      )}
    </div>
  );
}
