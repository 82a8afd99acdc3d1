import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { exchangeDeepLinkLogin, loginWithTelegramWidget, startDeepLinkLogin, startTelegramLink } from "../../../accounts/telegram-login.js";
import { AppError } from "../../../core/errors.js";
import type { AppEnv } from "../../context.js";
import type { AppDeps } from "../../deps.js";
import { clientIp } from "../../middleware/api-key-auth.js";
import { COOKIES, principalOf, sessionAuth } from "../../middleware/session-auth.js";
import { SECURITY } from "../../openapi.js";
import { accountsRouter, err, json, SessionSchema } from "../accounts-schemas.js";
import { SessionMode, sessionResponder } from "./session-responder.js";

type Ctx = Context<AppEnv>;

const TelegramWidget = z
  .object({
    id: z.union([z.number(), z.string()]),
    first_name: z.string().optional(),
    last_name: z.string().optional(),
    username: z.string().optional(),
    photo_url: z.string().optional(),
    auth_date: z.union([z.number(), z.string()]),
    hash: z.string(),
  })
  .catchall(z.union([z.string(), z.number()]))
  .openapi("TelegramWidgetData");

const DeepLink = z
  .object({
    nonce: z.string(),
    start_param: z.string(),
    deep_link: z.string().nullable(),
    browser_secret: z.string().optional(),
    expires_at: z.string(),
  })
  .openapi("TelegramDeepLink");

const Poll = z
  .object({ nonce: z.string().min(1).max(100), browser_secret: z.string().max(100).optional(), session: SessionMode })
  .openapi("TelegramDeepLinkPoll");

/** Telegram login (Login Widget, its redirect callback, the bot deep link) and linking Telegram to a user. */
export function createTelegramAuthRoutes(deps: AppDeps) {
  const app = accountsRouter();
  const sessions = sessionResponder(deps);
  const rt = deps.auth;
  const now = () => deps.clock.now();
  const { cookieBase, openSession, sessionBody, setSessionCookies } = sessions;
  const security = SECURITY.bearer;

  function telegramConfigured(): string {
    const t = deps.settings.telegram.botToken;
    if (!t) throw new AppError("service_unavailable", "Telegram login is not configured on this gateway (TELEGRAM_BOT_TOKEN)");
    return t;
  }

  function deepLinkUrl(startParam: string): string | null {
    // Without the bot's username the client builds the link.
    const bot = deps.settings.telegram.botUsername?.replace(/^@/, "");
    return bot ? `https://t.me/${bot}?start=${startParam}` : null;
  }

  async function widgetLogin(c: Ctx, data: Record<string, unknown>) {
    const r = await loginWithTelegramWidget(deps.db, data, { botToken: telegramConfigured(), maxAgeSec: deps.settings.telegram.loginMaxAgeSec, nowMs: now() });
    if (!r.ok) {
      if (r.reason === "user_blocked" || r.reason === "account_blocked") throw new AppError(r.reason, "Blocked");
      const msg = {
        missing_fields: "Telegram login data is incomplete",
        bad_hash: "Telegram login data does not verify",
        stale: "Telegram login data is too old; log in again",
        from_future: "Telegram login data is dated in the future",
        replayed: "This Telegram login was already used",
      }[r.reason];
      throw new AppError(r.reason === "stale" ? "login_expired" : "invalid_signature", msg);
    }
    return r;
  }

  app.openapi(
    createRoute({
      method: "post",
      path: "/v1/auth/telegram/widget",
      tags: ["Auth"],
      summary: "Log in with Telegram Login Widget data (what Telegram.Login.auth or data-onauth hands the page)",
      request: {
        query: z.object({ session: SessionMode }),
        body: { content: { "application/json": { schema: TelegramWidget } }, required: true },
      },
      responses: {
        200: json(SessionSchema, "Logged in"),
        401: err("invalid_signature: does not verify or already used; login_expired: auth_date older than TELEGRAM_LOGIN_MAX_AGE_SEC"),
        503: err("Not configured"),
      },
    }),
    async (c) => {
      const r = await widgetLogin(c, c.req.valid("json"));
      const t = await openSession(c, r.user, "telegram_widget");
      return c.json(sessionBody(c, t, r.user, r.account, c.req.valid("query").session), 200);
    },
  );

  // Redirect flow (data-auth-url / login_url): Telegram appends its fields; this path carries no
  // parameters of ours, so every query field takes part in the hash.
  app.get("/v1/auth/telegram/callback", async (c) => {
    const data = Object.fromEntries(new URL(c.req.url).searchParams);
    const r = await widgetLogin(c, data);
    const t = await openSession(c, r.user, "telegram_widget");
    setSessionCookies(c, t);
    return c.redirect(`${deps.settings.publicUrl?.replace(/\/+$/, "") ?? ""}/dashboard`, 302);
  });

  app.openapi(
    createRoute({
      method: "post",
      path: "/v1/auth/telegram/deep-link",
      tags: ["Auth"],
      summary: "Start a bot deep-link login: open deep_link in Telegram, then poll",
      request: { query: z.object({ session: SessionMode }) },
      responses: { 201: json(DeepLink, "Started"), 400: err("Malformed body") },
    }),
    async (c) => {
      const mode = c.req.valid("query").session;
      const st = await startDeepLinkLogin(deps.db, {
        ttlSec: deps.settings.telegram.deepLinkTtlSec,
        nowMs: now(),
        ip: clientIp(c),
        userAgent: c.req.header("user-agent"),
      });
      setCookie(c, COOKIES.tgLogin, st.browserSecret!, { ...cookieBase, path: "/v1/auth/telegram", maxAge: deps.settings.telegram.deepLinkTtlSec });
      return c.json(
        {
          nonce: st.nonce,
          start_param: st.startParam,
          deep_link: deepLinkUrl(st.startParam),
          ...(mode === "token" ? { browser_secret: st.browserSecret! } : {}),
          expires_at: st.expiresAt.toISOString(),
        },
        201,
      );
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/v1/auth/telegram/deep-link/poll",
      tags: ["Auth"],
      summary: "Poll a deep-link login: 202 while pending, then the session once (single use)",
      request: { body: { content: { "application/json": { schema: Poll } }, required: true } },
      responses: {
        200: json(SessionSchema, "Approved: logged in"),
        202: json(z.object({ status: z.literal("pending") }), "Waiting for the bot"),
        404: err("Unknown, expired or used"),
      },
    }),
    async (c) => {
      const body = c.req.valid("json");
      const secret = body.browser_secret ?? getCookie(c, COOKIES.tgLogin);
      if (!secret) throw new AppError("not_found", "Unknown or expired login");
      const r = await exchangeDeepLinkLogin(deps.db, body.nonce, secret, now());
      if (!r.ok) {
        if (r.reason === "pending") return c.json({ status: "pending" as const }, 202);
        if (r.reason === "user_blocked" || r.reason === "account_blocked") throw new AppError(r.reason, "Blocked");
        throw new AppError("not_found", "Unknown, expired or already used login");
      }
      deleteCookie(c, COOKIES.tgLogin, { path: "/v1/auth/telegram", secure: rt.cookieSecure });
      const t = await openSession(c, r.user, "telegram_deeplink");
      return c.json(sessionBody(c, t, r.user, r.account, body.session), 200);
    },
  );

  app.use("/v1/auth/telegram/link", sessionAuth(deps));
  app.openapi(
    createRoute({
      method: "post",
      path: "/v1/auth/telegram/link",
      tags: ["Auth"],
      summary: "Link Telegram to the logged-in user: open deep_link in Telegram (one Telegram id ↔ one user)",
      security,
      responses: { 201: json(DeepLink.omit({ browser_secret: true }), "Started"), 401: err("Not logged in") },
    }),
    async (c) => {
      const p = principalOf(c);
      const st = await startTelegramLink(deps.db, p.userId!, { ttlSec: deps.settings.telegram.deepLinkTtlSec, nowMs: now() });
      return c.json({ nonce: st.nonce, start_param: st.startParam, deep_link: deepLinkUrl(st.startParam), expires_at: st.expiresAt.toISOString() }, 201);
    },
  );

  return app;
}
