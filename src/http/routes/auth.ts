import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { accountView, listRequestLogs } from "../../accounts/admin.js";
import { hashPassword, needsRehash, passwordProblem } from "../../accounts/password.js";
import {
  checkCsrfToken,
  createSession,
  refreshSession,
  revokeSession,
  sessionOfRefreshToken,
  type IssuedTokens,
  type SessionMethod,
} from "../../accounts/sessions.js";
import { exchangeDeepLinkLogin, loginWithTelegramWidget, startDeepLinkLogin, startTelegramLink } from "../../accounts/telegram-login.js";
import { checkPassword, createAccount, createUser, findUserByEmail, getAccount, normalizeEmail, userView, type AccountRow, type UserRow } from "../../accounts/users.js";
import { writeAudit } from "../../audit/index.js";
import { AppError } from "../../core/errors.js";
import { accounts, requestLogs, users } from "../../db/schema/index.js";
import { resolveReferralCode } from "../../payments/referrals.js";
import { formatMoney } from "../../core/money.js";
import { didAuth } from "../middleware/did-auth.js";
import type { AppEnv } from "../context.js";
import { SECURITY } from "../openapi.js";
import type { AppDeps } from "../deps.js";
import { clientIp } from "../middleware/api-key-auth.js";
import { COOKIES, CSRF_HEADER, principalAuth, principalOf, sessionAuth, sessionPrincipal } from "../middleware/session-auth.js";
import { AccountSchema, accountsRouter, err, json, SessionSchema, UserSchema } from "./accounts-schemas.js";
import { and, eq, gte, lt, sql } from "drizzle-orm";

type Ctx = Context<AppEnv>;

const SessionMode = z
  .enum(["token", "cookie", "web"])
  .default("token")
  .openapi({
    description:
      "`token`: tokens in the body (API clients). `cookie`: httpOnly cookies + a CSRF token (browsers). `web`: the access token in the body (the page keeps it in memory), the refresh token only as an httpOnly cookie + a CSRF token (the dashboard).",
  });

const Register = z
  .object({
    email: z.string().trim().max(254).email(),
    password: z.string().min(1).max(256),
    name: z.string().trim().max(200).optional(),
    referral_code: z.string().max(64).optional().openapi({ description: "An inviter's code (the web app's ?ref= link); an unknown code is ignored" }),
    session: SessionMode,
  })
  .openapi("RegisterRequest");

const Login = z
  .object({ email: z.string().trim().min(1).max(254), password: z.string().min(1).max(256), session: SessionMode })
  .openapi("LoginRequest");

const Refresh = z
  .object({
    refresh_token: z.string().max(200).optional(),
    session: z.enum(["cookie", "web"]).optional().openapi({ description: "With the refresh cookie: answer as `cookie` (default) or `web` (access token in the body)" }),
  })
  .openapi("RefreshRequest");

const Me = z
  .object({
    kind: z.enum(["session", "key", "admin_token"]),
    role: z.enum(["client", "admin"]),
    user: UserSchema.nullable(),
    account: AccountSchema.nullable(),
  })
  .openapi("Me");

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

const Poll = z.object({ nonce: z.string().min(1).max(100), browser_secret: z.string().max(100).optional(), session: SessionMode }).openapi("TelegramDeepLinkPoll");

const security = [{ bearerAuth: [] }];

/** Email/password, refresh, logout, me, and Telegram login (widget and bot deep link). */
export function createAuthRoutes(deps: AppDeps) {
  const app = accountsRouter();
  const rt = deps.auth;
  const now = () => deps.clock.now();
  const cookieBase = { httpOnly: true, sameSite: "Lax" as const, secure: rt.cookieSecure };

  function setSessionCookies(c: Ctx, t: IssuedTokens) {
    const accessAge = Math.max(1, Math.floor((t.accessExpiresAt.getTime() - now()) / 1000));
    setCookie(c, COOKIES.access, t.accessToken, { ...cookieBase, path: "/", maxAge: accessAge });
    setRefreshCookies(c, t);
  }

  function setRefreshCookies(c: Ctx, t: IssuedTokens) {
    const refreshAge = Math.max(1, Math.floor((t.refreshExpiresAt.getTime() - now()) / 1000));
    // The refresh cookie travels only to the auth endpoints.
    setCookie(c, COOKIES.refresh, t.refreshToken, { ...cookieBase, path: "/v1/auth", maxAge: refreshAge });
    // Readable by the page's JS: it echoes it in x-csrf-token (double submit).
    setCookie(c, COOKIES.csrf, t.csrfToken, { ...cookieBase, httpOnly: false, path: "/", maxAge: refreshAge });
  }

  function clearSessionCookies(c: Ctx) {
    deleteCookie(c, COOKIES.access, { path: "/", secure: rt.cookieSecure });
    deleteCookie(c, COOKIES.refresh, { path: "/v1/auth", secure: rt.cookieSecure });
    deleteCookie(c, COOKIES.csrf, { path: "/", secure: rt.cookieSecure });
  }

  function sessionBody(c: Ctx, t: IssuedTokens, user: UserRow, account: AccountRow, mode: "token" | "cookie" | "web") {
    const base = {
      expires_in: deps.settings.accessTokenTtlSec,
      refresh_expires_in: deps.settings.refreshTokenTtlSec,
      csrf_token: t.csrfToken,
      user: userView(user),
      account: accountView(account, deps.settings.currency),
    };
    if (mode === "cookie") {
      setSessionCookies(c, t);
      return { token_type: "cookie" as const, ...base };
    }
    if (mode === "web") {
      // No access cookie: the page holds the access token in memory and sends it as Bearer, so
      // only the refresh/logout calls ride on cookies (and those need the CSRF header).
      setRefreshCookies(c, t);
      return { token_type: "Bearer" as const, access_token: t.accessToken, ...base };
    }
    return { token_type: "Bearer" as const, access_token: t.accessToken, refresh_token: t.refreshToken, ...base };
  }

  async function openSession(c: Ctx, user: UserRow, method: SessionMethod) {
    rt.maybePrune();
    const s = await rt.tokens();
    return createSession(deps.db, s, user, { method, ip: clientIp(c), userAgent: c.req.header("user-agent") }, now());
  }

  /** Cookie-carried refresh/logout are unsafe methods: same double-submit rule as other cookie sessions. */
  async function requireCsrfForRefreshCookie(c: Ctx, refreshToken: string) {
    const s = await rt.tokens();
    const sid = await sessionOfRefreshToken(deps.db, refreshToken);
    const header = c.req.header(CSRF_HEADER);
    if (!sid || !header || header !== getCookie(c, COOKIES.csrf) || !checkCsrfToken(s.secret, sid, header)) {
      throw new AppError("csrf_failed", `Missing or wrong CSRF token: send the \`${COOKIES.csrf}\` cookie's value in the \`${CSRF_HEADER}\` header`);
    }
  }

  // ------------------------------------------------------------ register

  app.openapi(
    createRoute({
      method: "post",
      path: "/v1/auth/register",
      tags: ["Auth"],
      summary: "Register with email and password (creates an account and logs in)",
      request: { body: { content: { "application/json": { schema: Register } }, required: true } },
      responses: { 201: json(SessionSchema, "Registered and logged in"), 400: err("Invalid"), 403: err("Registration closed"), 409: err("Email taken") },
    }),
    async (c) => {
      if (!deps.settings.registrationEnabled) throw new AppError("forbidden", "Self-registration is disabled on this gateway");
      const body = c.req.valid("json");
      const problem = passwordProblem(body.password);
      if (problem) throw new AppError("invalid_request", problem, { param: "password" });
      const email = normalizeEmail(body.email);
      if (await findUserByEmail(deps.db, email)) throw new AppError("conflict", "This email is already registered", { param: "email" });
      const passwordHash = await hashPassword(body.password);
      let created: { user: UserRow; account: AccountRow };
      try {
        created = await deps.db.transaction(async (tx) => {
          const account = await createAccount(tx, { name: body.name || email });
          const inviter = body.referral_code ? await resolveReferralCode(tx, body.referral_code) : null;
          if (inviter) await tx.update(accounts).set({ referredBy: inviter }).where(eq(accounts.id, account.id));
          const user = await createUser(tx, { accountId: account.id, email, name: body.name ?? null, role: "client" });
          await tx.update(users).set({ passwordHash }).where(eq(users.id, user.id));
          await writeAudit(tx, { actor: `user:${user.id}`, action: "user.register", targetType: "user", targetId: user.id, after: { email, account_id: account.id }, ip: clientIp(c) });
          return { user, account };
        });
      } catch (e) {
        if (await findUserByEmail(deps.db, email)) throw new AppError("conflict", "This email is already registered", { param: "email" });
        throw e;
      }
      // The verification e-mail goes out after the answer (no SMTP time on the request path).
      void deps.operator.accountEmail.sendVerification(created.user.id).catch((e) => deps.logger.error({ err: (e as Error).message }, "verification e-mail failed"));
      const t = await openSession(c, created.user, "password");
      return c.json(sessionBody(c, t, created.user, created.account, body.session), 201);
    },
  );

  // ------------------------------------------------------------ login

  app.openapi(
    createRoute({
      method: "post",
      path: "/v1/auth/login",
      tags: ["Auth"],
      summary: "Log in with email and password",
      description: "Slowed down per account and client address, per address and per account: past the free failures each attempt waits 1, 2, 4 … s (429 `too_many_attempts` with Retry-After); never a hard lock, so guesses from elsewhere do not lock the owner out.",
      request: { body: { content: { "application/json": { schema: Login } }, required: true } },
      responses: { 200: json(SessionSchema, "Logged in"), 401: err("Wrong email or password"), 403: err("Blocked"), 429: err("Too many attempts") },
    }),
    async (c) => {
      const body = c.req.valid("json");
      const email = normalizeEmail(body.email);
      const ip = clientIp(c);
      const tooMany = (retryAfterSec: number) =>
        new AppError("too_many_attempts", `Too many failed logins; try again in ${retryAfterSec} s`, { headers: { "retry-after": String(retryAfterSec) } });
      const gate = await rt.throttle.check(email, ip);
      if (!gate.allowed) throw tooMany(gate.retryAfterSec);
      const r = await checkPassword(deps.db, email, body.password);
      if (!r.ok) {
        if (r.reason === "bad_credentials") {
          const v = await rt.throttle.fail(email, ip);
          if (!v.allowed) throw tooMany(v.retryAfterSec);
          throw new AppError("invalid_credentials", "Wrong email or password");
        }
        throw new AppError(r.reason, r.reason === "user_blocked" ? "This user is blocked" : "This account is blocked");
      }
      await rt.throttle.succeed(email, ip);
      if (needsRehash(r.user.passwordHash!)) {
        await deps.db.update(users).set({ passwordHash: await hashPassword(body.password) }).where(eq(users.id, r.user.id));
      }
      const t = await openSession(c, r.user, "password");
      return c.json(sessionBody(c, t, r.user, r.account, body.session), 200);
    },
  );

  // ------------------------------------------------------------ refresh

  app.openapi(
    createRoute({
      method: "post",
      path: "/v1/auth/refresh",
      tags: ["Auth"],
      summary: "Exchange a refresh token for new tokens (the old one is spent)",
      description:
        "Refresh tokens rotate on every use. Presenting a spent one again means it was copied: the whole session is revoked. Browsers send no body: the httpOnly refresh cookie is used, with the CSRF header.",
      request: { body: { content: { "application/json": { schema: Refresh } }, required: false } },
      responses: { 200: json(SessionSchema, "New tokens"), 401: err("Invalid, expired, reused or revoked"), 403: err("CSRF") },
    }),
    async (c) => {
      let body: { refresh_token?: string; session?: "cookie" | "web" } = {};
      if ((c.req.header("content-type") ?? "").includes("json")) body = c.req.valid("json") ?? {};
      const cookieToken = getCookie(c, COOKIES.refresh);
      const token = body.refresh_token ?? cookieToken;
      if (!token) throw new AppError("invalid_token", "No refresh token: send {refresh_token} or the refresh cookie");
      const viaCookie = !body.refresh_token;
      if (viaCookie) await requireCsrfForRefreshCookie(c, token);
      const s = await rt.tokens();
      const r = await refreshSession(deps.db, s, token, now());
      if (!r.ok) {
        if (viaCookie) clearSessionCookies(c);
        if (r.reason === "user_blocked") throw new AppError("user_blocked", "This user is blocked");
        if (r.reason === "account_blocked") throw new AppError("account_blocked", "This account is blocked");
        const msg = {
          invalid: "Invalid refresh token",
          expired: "Refresh token expired; log in again",
          reused: "Refresh token reuse detected: this session has been ended everywhere; log in again",
          revoked: "This session has ended; log in again",
        }[r.reason];
        throw new AppError("invalid_token", msg);
      }
      const account = await getAccount(deps.db, r.user.accountId);
      return c.json(sessionBody(c, r.tokens, r.user, account!, viaCookie ? (body.session ?? "cookie") : "token"), 200);
    },
  );

  // ------------------------------------------------------------ logout

  app.openapi(
    createRoute({
      method: "post",
      path: "/v1/auth/logout",
      tags: ["Auth"],
      summary: "End the session (refresh token, access token or cookies)",
      request: { body: { content: { "application/json": { schema: Refresh } }, required: false } },
      responses: { 200: json(z.object({ ok: z.boolean(), revoked: z.boolean() }), "Logged out"), 400: err("Malformed body") },
    }),
    async (c) => {
      let body: { refresh_token?: string } = {};
      if ((c.req.header("content-type") ?? "").includes("json")) body = c.req.valid("json") ?? {};
      let sessionId: string | null = null;
      if (body.refresh_token) sessionId = await sessionOfRefreshToken(deps.db, body.refresh_token);
      else {
        const cookieToken = getCookie(c, COOKIES.refresh);
        if (cookieToken) {
          await requireCsrfForRefreshCookie(c, cookieToken);
          sessionId = await sessionOfRefreshToken(deps.db, cookieToken);
        } else {
          const p = await sessionPrincipal(deps, c).catch(() => null);
          sessionId = p?.sessionId ?? null;
        }
      }
      const revoked = sessionId ? await revokeSession(deps.db, sessionId, "logout") : false;
      clearSessionCookies(c);
      return c.json({ ok: true, revoked }, 200);
    },
  );

  // ------------------------------------------------------------ me

  app.use("/v1/auth/me", principalAuth(deps));
  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/auth/me",
      tags: ["Auth"],
      summary: "Who am I: user and account of the session (or of a management key)",
      security,
      responses: { 200: json(Me, "The caller"), 401: err("Not logged in") },
    }),
    async (c) => {
      const p = principalOf(c);
      const user = p.userId ? await deps.db.select().from(users).where(eq(users.id, p.userId)).limit(1) : [];
      const account = p.accountId ? await getAccount(deps.db, p.accountId) : null;
      return c.json(
        {
          kind: p.kind,
          role: p.role,
          user: user[0] ? userView(user[0]) : null,
          account: account ? accountView(account, deps.settings.currency) : null,
        },
        200,
      );
    },
  );

  // ------------------------------------------------------------ Telegram

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
      summary: "Log in with Telegram Login Widget data (the data-onauth callback object)",
      request: {
        query: z.object({ session: SessionMode }),
        body: { content: { "application/json": { schema: TelegramWidget } }, required: true },
      },
      responses: { 200: json(SessionSchema, "Logged in"), 401: err("invalid_signature: does not verify or already used; login_expired: auth_date too old"), 503: err("Not configured") },
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
      const st = await startDeepLinkLogin(deps.db, { ttlSec: deps.settings.telegram.deepLinkTtlSec, nowMs: now(), ip: clientIp(c), userAgent: c.req.header("user-agent") });
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
      responses: { 200: json(SessionSchema, "Approved: logged in"), 202: json(z.object({ status: z.literal("pending") }), "Waiting for the bot"), 404: err("Unknown, expired or used") },
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

  // ------------------------------------------------------------ seed 004: usage for a DID caller

  app.use("/api/v1/usage", didAuth(deps));
  app.openapi(
    createRoute({
      method: "get",
      path: "/api/v1/usage",
      tags: ["Auth"],
      summary: "Usage of the DID's account (DID-signed: x-did, x-did-timestamp, x-did-signature)",
      security: SECURITY.did,
      request: { query: z.object({ from: z.iso.datetime({ offset: true }).optional(), to: z.iso.datetime({ offset: true }).optional() }) },
      responses: { 200: json(z.record(z.string(), z.unknown()).openapi("DidUsage"), "Usage"), 401: err("Bad signature") },
    }),
    async (c) => {
      const auth = c.get("auth");
      const q = c.req.valid("query");
      const account = await getAccount(deps.db, auth.accountId);
      const conds = [eq(requestLogs.accountId, auth.accountId)];
      if (q.from) conds.push(gte(requestLogs.createdAt, new Date(q.from)));
      if (q.to) conds.push(lt(requestLogs.createdAt, new Date(q.to)));
      const byModel = await deps.db
        .select({
          model: requestLogs.requestedModel,
          requests: sql<number>`count(*)`.mapWith(Number),
          prompt: sql<string>`coalesce(sum(${requestLogs.promptTokens}), 0)::text`,
          completion: sql<string>`coalesce(sum(${requestLogs.completionTokens}), 0)::text`,
          cost: sql<string>`coalesce(sum(${requestLogs.priceMicros}), 0)::text`,
        })
        .from(requestLogs)
        .where(and(...conds))
        .groupBy(requestLogs.requestedModel);
      const recent = await listRequestLogs(deps.db, { accountId: auth.accountId, from: q.from ? new Date(q.from) : undefined, to: q.to ? new Date(q.to) : undefined, limit: 20 });
      const sum = (f: (r: (typeof byModel)[number]) => string) => byModel.reduce((s, r) => s + BigInt(f(r)), 0n);
      return c.json(
        {
          did: c.req.header("x-did") ?? null,
          account_id: auth.accountId,
          key_id: auth.keyId,
          balance: account ? formatMoney(account.balanceMicros - account.reservedMicros) : null,
          currency: deps.settings.currency,
          requests: byModel.reduce((s, r) => s + r.requests, 0),
          input_tokens: Number(sum((r) => r.prompt)),
          output_tokens: Number(sum((r) => r.completion)),
          total_cost: formatMoney(sum((r) => r.cost)),
          by_model: byModel.map((r) => ({ model: r.model, requests: r.requests, input_tokens: Number(r.prompt), output_tokens: Number(r.completion), cost: formatMoney(BigInt(r.cost)) })),
          recent: recent.data,
        },
        200,
      );
    },
  );

  return app;
}
