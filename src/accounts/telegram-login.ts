import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { and, eq, gt } from "drizzle-orm";
import type { Db, DbOrTx } from "../db/client.js";
import { accounts, authLoginRequests, users } from "../db/schema/index.js";
import { consumeOnce } from "./replay.js";
import { verifyTelegramWidget, type WidgetCheck } from "./telegram-widget.js";
import { findOrCreateTelegramAccount } from "./telegram-user.js";
import type { AccountRow, UserRow } from "./users.js";

/** The Telegram user as the bot (ctx.from) or the widget reports it. */
export interface TelegramIdentity {
  id: number;
  firstName?: string | null;
  lastName?: string | null;
  username?: string | null;
  languageCode?: string | null;
}

/**
 * The user a Telegram id belongs to, creating an account + client user on first contact through
 * the bot module's `findOrCreateTelegramAccount` (one creation path: same naming and referral code
 * whether someone meets the bot or the website first). users.telegram_id is UNIQUE, so one Telegram
 * id maps to at most one user even when the bot and the website race.
 */
export async function findOrCreateTelegramUser(db: Db, tg: TelegramIdentity): Promise<{ user: UserRow; account: AccountRow; created: boolean }> {
  const a = await findOrCreateTelegramAccount(db, {
    id: tg.id,
    first_name: tg.firstName ?? "",
    last_name: tg.lastName ?? undefined,
    username: tg.username ?? undefined,
    language_code: tg.languageCode ?? undefined,
  });
  const rows = await db.select({ user: users, account: accounts }).from(users).innerJoin(accounts, eq(accounts.id, users.accountId)).where(eq(users.id, a.userId)).limit(1);
  const r = rows[0];
  if (!r) throw new Error(`telegram user ${tg.id}: account lookup failed`);
  return { ...r, created: a.created };
}

// ---------------------------------------------------------------- Login Widget

export type WidgetLoginResult =
  | { ok: true; user: UserRow; account: AccountRow; created: boolean }
  | { ok: false; reason: Exclude<WidgetCheck, { ok: true }>["reason"] | "replayed" | "user_blocked" | "account_blocked" };

/**
 * Verifies Login Widget data and spends its hash once: the same signed payload can't log in twice,
 * even within its freshness window.
 */
export async function loginWithTelegramWidget(
  db: Db,
  data: Record<string, unknown>,
  opts: { botToken: string; maxAgeSec: number; nowMs: number },
): Promise<WidgetLoginResult> {
  const nowSec = Math.floor(opts.nowMs / 1000);
  const v = verifyTelegramWidget(data, opts.botToken, nowSec, opts.maxAgeSec);
  if (!v.ok) return v;
  const expires = new Date((v.user.authDate + opts.maxAgeSec + 60) * 1000);
  if (!(await consumeOnce(db, "tg_widget", v.user.hash, expires))) return { ok: false, reason: "replayed" };
  const r = await findOrCreateTelegramUser(db, { id: v.user.id, firstName: v.user.firstName, lastName: v.user.lastName, username: v.user.username });
  if (r.user.status !== "active") return { ok: false, reason: "user_blocked" };
  if (r.account.status !== "active") return { ok: false, reason: "account_blocked" };
  return { ok: true, ...r };
}

// ---------------------------------------------------------------- Bot deep-link login and linking

const LOGIN_PREFIX = "login_";
const LINK_PREFIX = "link_";

function sha256(s: string): string {
  return createHash("sha256").update(s).digest("hex");
}

/** 32 random bytes → 43 base64url chars; `login_` + nonce = 49 ≤ Telegram's 64-char start payload. */
function newNonce(): string {
  return randomBytes(32).toString("base64url");
}

export interface StartedDeepLink {
  nonce: string;
  /** `/start` payload: `login_<nonce>` or `link_<nonce>`. */
  startParam: string;
  /** Set for login: the browser keeps it (HttpOnly cookie) and must present it to exchange the nonce. */
  browserSecret: string | null;
  expiresAt: Date;
}

export async function startDeepLinkLogin(db: DbOrTx, opts: { ttlSec: number; nowMs: number; ip?: string | null; userAgent?: string | null }): Promise<StartedDeepLink> {
  const nonce = newNonce();
  const browserSecret = randomBytes(32).toString("base64url");
  const expiresAt = new Date(opts.nowMs + opts.ttlSec * 1000);
  await db.insert(authLoginRequests).values({
    id: sha256(nonce),
    purpose: "login",
    browserHash: sha256(browserSecret),
    ip: opts.ip ?? null,
    userAgent: opts.userAgent?.slice(0, 512) ?? null,
    expiresAt,
    createdAt: new Date(opts.nowMs),
  });
  return { nonce, startParam: LOGIN_PREFIX + nonce, browserSecret, expiresAt };
}

/** A logged-in web user asks to link their Telegram: the bot's `/start link_<nonce>` completes it. */
export async function startTelegramLink(db: DbOrTx, userId: string, opts: { ttlSec: number; nowMs: number }): Promise<StartedDeepLink> {
  const nonce = newNonce();
  const expiresAt = new Date(opts.nowMs + opts.ttlSec * 1000);
  await db.insert(authLoginRequests).values({ id: sha256(nonce), purpose: "link", userId, expiresAt, createdAt: new Date(opts.nowMs) });
  return { nonce, startParam: LINK_PREFIX + nonce, browserSecret: null, expiresAt };
}

/** Splits a `/start` payload into the deep-link kind and nonce; null if it is not one of ours. */
export function parseStartPayload(payload: string): { kind: "login" | "link"; nonce: string } | null {
  const m = /^(login|link)_([A-Za-z0-9_-]{43})$/.exec(payload.trim());
  return m ? { kind: m[1] as "login" | "link", nonce: m[2]! } : null;
}

export type ConfirmResult =
  | { ok: true; userId: string; accountId: string; created: boolean }
  | { ok: false; reason: "not_found" | "expired" | "already_used" | "user_blocked" | "account_blocked" };

/**
 * Called by the bot's `/start login_<nonce>` handler with `ctx.from` (trusted: the update came
 * through the authenticated webhook). Approves the pending login once; the browser that started it
 * then exchanges it for a session (`exchangeDeepLinkLogin`). Creates the account on first contact.
 */
export async function confirmDeepLinkLogin(db: Db, nonce: string, telegramUser: TelegramIdentity, nowMs = Date.now()): Promise<ConfirmResult> {
  const id = sha256(nonce);
  const rows = await db.select().from(authLoginRequests).where(and(eq(authLoginRequests.id, id), eq(authLoginRequests.purpose, "login"))).limit(1);
  const req = rows[0];
  if (!req) return { ok: false, reason: "not_found" };
  if (req.status !== "pending") return { ok: false, reason: "already_used" };
  if (req.expiresAt.getTime() <= nowMs) return { ok: false, reason: "expired" };
  const r = await findOrCreateTelegramUser(db, telegramUser);
  if (r.user.status !== "active") return { ok: false, reason: "user_blocked" };
  if (r.account.status !== "active") return { ok: false, reason: "account_blocked" };
  const now = new Date(nowMs);
  const approved = await db
    .update(authLoginRequests)
    .set({ status: "approved", telegramId: String(telegramUser.id), userId: r.user.id, approvedAt: now })
    .where(and(eq(authLoginRequests.id, id), eq(authLoginRequests.status, "pending"), gt(authLoginRequests.expiresAt, now)))
    .returning({ id: authLoginRequests.id });
  if (!approved[0]) return { ok: false, reason: "already_used" };
  return { ok: true, userId: r.user.id, accountId: r.account.id, created: r.created };
}

export type ExchangeResult =
  | { ok: true; user: UserRow; account: AccountRow }
  | { ok: false; reason: "pending" | "not_found" | "expired" | "user_blocked" | "account_blocked" };

/**
 * The browser polls with its nonce and browser secret. Once approved, the first exchange consumes
 * the request and yields the user; any later exchange (or one without the right browser secret)
 * gets not_found.
 */
export async function exchangeDeepLinkLogin(db: Db, nonce: string, browserSecret: string, nowMs: number): Promise<ExchangeResult> {
  const id = sha256(nonce);
  const rows = await db.select().from(authLoginRequests).where(and(eq(authLoginRequests.id, id), eq(authLoginRequests.purpose, "login"))).limit(1);
  const req = rows[0];
  if (!req || !req.browserHash || req.status === "consumed") return { ok: false, reason: "not_found" };
  const want = Buffer.from(req.browserHash, "hex");
  const got = Buffer.from(sha256(browserSecret), "hex");
  if (!timingSafeEqual(want, got)) return { ok: false, reason: "not_found" };
  if (req.expiresAt.getTime() <= nowMs) return { ok: false, reason: "expired" };
  if (req.status === "pending") return { ok: false, reason: "pending" };
  const now = new Date(nowMs);
  const consumed = await db
    .update(authLoginRequests)
    .set({ status: "consumed", consumedAt: now })
    .where(and(eq(authLoginRequests.id, id), eq(authLoginRequests.status, "approved")))
    .returning({ userId: authLoginRequests.userId });
  const userId = consumed[0]?.userId;
  if (!userId) return { ok: false, reason: "not_found" };
  const u = await db.select({ user: users, account: accounts }).from(users).innerJoin(accounts, eq(accounts.id, users.accountId)).where(eq(users.id, userId)).limit(1);
  const r = u[0];
  if (!r) return { ok: false, reason: "not_found" };
  if (r.user.status !== "active") return { ok: false, reason: "user_blocked" };
  if (r.account.status !== "active") return { ok: false, reason: "account_blocked" };
  return { ok: true, user: r.user, account: r.account };
}

export type LinkResult =
  | { ok: true; userId: string }
  | { ok: false; reason: "not_found" | "expired" | "already_used" | "already_linked" | "user_has_other_telegram" };

/**
 * Bot's `/start link_<nonce>`: binds ctx.from.id to the web user who asked. A Telegram id that
 * already belongs to a user (any account) is refused, never moved.
 */
export async function confirmTelegramLink(db: Db, nonce: string, telegramUser: TelegramIdentity, nowMs = Date.now()): Promise<LinkResult> {
  const id = sha256(nonce);
  const now = new Date(nowMs);
  return db.transaction(async (tx): Promise<LinkResult> => {
    const rows = await tx.select().from(authLoginRequests).where(and(eq(authLoginRequests.id, id), eq(authLoginRequests.purpose, "link"))).for("update").limit(1);
    const req = rows[0];
    if (!req || !req.userId) return { ok: false, reason: "not_found" };
    if (req.status !== "pending") return { ok: false, reason: "already_used" };
    if (req.expiresAt.getTime() <= nowMs) return { ok: false, reason: "expired" };
    const owner = await tx.select({ id: users.id }).from(users).where(eq(users.telegramId, telegramUser.id)).limit(1);
    if (owner[0]) return { ok: false, reason: owner[0].id === req.userId ? "already_used" : "already_linked" };
    const target = await tx.select({ telegramId: users.telegramId }).from(users).where(eq(users.id, req.userId)).for("update").limit(1);
    if (target[0]?.telegramId != null) return { ok: false, reason: "user_has_other_telegram" };
    await tx.update(users).set({ telegramId: telegramUser.id }).where(eq(users.id, req.userId));
    await tx.update(authLoginRequests).set({ status: "consumed", telegramId: String(telegramUser.id), consumedAt: now }).where(eq(authLoginRequests.id, id));
    return { ok: true, userId: req.userId };
  });
}
