import { createHash, timingSafeEqual } from "node:crypto";
import { eq } from "drizzle-orm";
import { BotError, GrammyError, HttpError, type Bot } from "grammy";
import type { Update } from "grammy/types";
import type { Logger } from "../core/logger.js";
import type { Db } from "../db/client.js";
import { telegramUpdates } from "../db/schema/index.js";
import { ALLOWED_UPDATES, type BotContext } from "./bot.js";

/**
 * Constant-time check of X-Telegram-Bot-Api-Secret-Token: both sides are hashed first so the
 * comparison is over equal-length digests and its time says nothing about the secret's length or
 * a matching prefix. No secret configured = nothing matches (fail closed).
 */
export function secretMatches(expected: string | null | undefined, got: string | null | undefined): boolean {
  if (!expected || got == null) return false;
  const a = createHash("sha256").update(expected).digest();
  const b = createHash("sha256").update(got).digest();
  return timingSafeEqual(a, b);
}

export interface WebhookRequest {
  secretHeader: string | null | undefined;
  body: string;
}

export interface WebhookOutcome {
  status: 200 | 401 | 500;
  result: "handled" | "unauthorized" | "malformed" | "duplicate" | "failed_permanent" | "failed_transient";
}

function isUpdateShape(v: unknown): v is Update {
  return typeof v === "object" && v !== null && !Array.isArray(v) && Number.isSafeInteger((v as { update_id?: unknown }).update_id);
}

/**
 * Errors that a redelivery cannot fix (a bug or an update shape we don't understand, a Bot API
 * 4xx such as "bot was blocked by the user") are logged and acknowledged; anything else (database
 * down, network to the Bot API) gets 500 so Telegram redelivers — safe, because every payment
 * effect is idempotent on its own key.
 */
function isPermanent(e: unknown): boolean {
  const inner = e instanceof BotError ? e.error : e;
  if (inner instanceof GrammyError) return inner.error_code >= 400 && inner.error_code < 500 && inner.error_code !== 429;
  if (inner instanceof HttpError) return false;
  return inner instanceof TypeError || inner instanceof RangeError || inner instanceof SyntaxError;
}

/**
 * POST /telegram/webhook, framework-free: secret check before the body is even parsed, malformed
 * bodies acknowledged (Telegram would otherwise retry them for 24 h), update_id recorded after a
 * successful run as a redelivery filter (payments do not rely on it).
 */
export async function handleTelegramWebhook(
  bot: Bot<BotContext>,
  req: WebhookRequest,
  deps: { secret: string | null | undefined; logger: Logger; db?: Db; timeoutMs?: number },
): Promise<WebhookOutcome> {
  if (!secretMatches(deps.secret, req.secretHeader)) {
    deps.logger.warn({ hasHeader: req.secretHeader != null }, "telegram webhook: bad secret token");
    return { status: 401, result: "unauthorized" };
  }
  let update: unknown;
  try {
    update = JSON.parse(req.body);
  } catch {
    update = undefined;
  }
  if (!isUpdateShape(update)) {
    deps.logger.warn({ bodyPrefix: req.body.slice(0, 200) }, "telegram webhook: malformed update acknowledged");
    return { status: 200, result: "malformed" };
  }
  if (deps.db) {
    const seen = await deps.db.select({ id: telegramUpdates.updateId }).from(telegramUpdates).where(eq(telegramUpdates.updateId, update.update_id)).limit(1);
    if (seen[0]) return { status: 200, result: "duplicate" };
  }
  try {
    await withDeadline(bot.handleUpdate(update), deps.timeoutMs ?? 9000);
  } catch (e) {
    const permanent = isPermanent(e);
    const err = e instanceof BotError ? e.error : e;
    deps.logger.error({ err, updateId: update.update_id, permanent }, "telegram webhook: update failed");
    if (!permanent) return { status: 500, result: "failed_transient" };
    await markSeen(deps.db, update.update_id);
    return { status: 200, result: "failed_permanent" };
  }
  await markSeen(deps.db, update.update_id);
  return { status: 200, result: "handled" };
}

async function markSeen(db: Db | undefined, updateId: number): Promise<void> {
  if (!db) return;
  await db.insert(telegramUpdates).values({ updateId }).onConflictDoNothing();
}

function withDeadline<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`update handling exceeded ${ms} ms`)), ms);
    }),
  ]);
}


/** Registers the webhook with an explicit allowed_updates; never drops pending updates (they may be payments). */
export async function setTelegramWebhook(bot: Bot<BotContext>, url: string, secret: string): Promise<void> {
  await bot.api.setWebhook(url, {
    secret_token: secret,
    allowed_updates: [...ALLOWED_UPDATES],
    max_connections: 40,
    drop_pending_updates: false,
  });
}

/** Development: long polling with the same explicit allowed_updates. */
export function startPolling(bot: Bot<BotContext>, logger: Logger): Promise<void> {
  return bot.start({
    allowed_updates: [...ALLOWED_UPDATES],
    drop_pending_updates: false,
    onStart: (me) => logger.info({ username: me.username }, "telegram bot polling"),
  });
}
