import { createHash, randomBytes } from "node:crypto";
import { and, eq, gt, isNull, sql } from "drizzle-orm";
import { writeAudit } from "../audit/index.js";
import type { Clock } from "../core/clock.js";
import { AppError } from "../core/errors.js";
import type { Logger } from "../core/logger.js";
import type { Db } from "../db/client.js";
import { emailTokens, users } from "../db/schema/index.js";
import type { Mailer } from "../mail/mailer.js";
import { MAIL, mailLang } from "../mail/texts.js";
import { hashPassword, passwordProblem } from "./password.js";
import { revokeUserSessions } from "./sessions.js";
import { findUserByEmail, getUser } from "./users.js";

export interface EmailLinkSettings {
  /** Base of the links in the e-mails (PUBLIC_URL); without it the links are relative paths. */
  publicUrl: string | null;
  verifyTtlMin: number;
  resetTtlMin: number;
}

type Purpose = "verify_email" | "reset_password";

/** A second reset e-mail to the same user within this window is not sent (mailbox flooding). */
const RESEND_GAP_MS = 60_000;

const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

/**
 * E-mail verification and password reset by one-time links. Tokens are 256-bit random, stored as
 * SHA-256, expire, and are spent by one conditional UPDATE (so a link works once even when two
 * clicks race). A reset request answers the same whether or not the address exists: the caller
 * never awaits the lookup or the SMTP exchange (see `requestPasswordReset`).
 */
export class AccountEmail {
  constructor(
    private readonly db: Db,
    private readonly mailer: Mailer | null,
    private readonly s: EmailLinkSettings,
    private readonly clock: Clock,
    private readonly logger?: Logger,
  ) {}

  get enabled(): boolean {
    return this.mailer !== null;
  }

  private link(path: string, token: string): string {
    return `${(this.s.publicUrl ?? "").replace(/\/+$/, "")}${path}?token=${token}`;
  }

  private async issue(userId: string, email: string, purpose: Purpose, ttlMin: number): Promise<string> {
    const token = `${purpose === "verify_email" ? "ev" : "pr"}_${randomBytes(32).toString("base64url")}`;
    const now = this.clock.now();
    await this.db.transaction(async (tx) => {
      // One live link per purpose: a new one retires the older ones.
      await tx
        .update(emailTokens)
        .set({ usedAt: new Date(now) })
        .where(and(eq(emailTokens.userId, userId), eq(emailTokens.purpose, purpose), isNull(emailTokens.usedAt)));
      await tx.insert(emailTokens).values({ tokenHash: sha256(token), userId, purpose, email, expiresAt: new Date(now + ttlMin * 60_000), createdAt: new Date(now) });
    });
    return token;
  }

  /** Spends a token: the user and address it was issued for, or null (unknown, used or expired). */
  private async consume(token: string, purpose: Purpose, tx: Pick<Db, "update"> = this.db): Promise<{ userId: string; email: string } | null> {
    const now = new Date(this.clock.now());
    const rows = await tx
      .update(emailTokens)
      .set({ usedAt: now })
      .where(and(eq(emailTokens.tokenHash, sha256(token)), eq(emailTokens.purpose, purpose), isNull(emailTokens.usedAt), gt(emailTokens.expiresAt, now)))
      .returning({ userId: emailTokens.userId, email: emailTokens.email });
    return rows[0] ?? null;
  }

  /** Sends the verification link to the user's current address; false when there is nothing to send. */
  async sendVerification(userId: string): Promise<boolean> {
    if (!this.mailer) return false;
    const u = await getUser(this.db, userId);
    if (!u?.email || u.emailVerifiedAt) return false;
    const token = await this.issue(u.id, u.email, "verify_email", this.s.verifyTtlMin);
    const m = MAIL.verify(mailLang(u.locale), this.link("/verify-email", token), this.s.verifyTtlMin);
    await this.mailer.send({ to: u.email, ...m });
    return true;
  }

  /** Marks the address verified when the token is good and the user still has that address. */
  async confirmVerification(token: string): Promise<{ userId: string; email: string }> {
    const r = await this.db.transaction(async (tx) => {
      const t = await this.consume(token, "verify_email", tx);
      if (!t) return null;
      const upd = await tx
        .update(users)
        .set({ emailVerifiedAt: new Date(this.clock.now()) })
        .where(and(eq(users.id, t.userId), eq(users.email, t.email)))
        .returning({ id: users.id });
      if (!upd[0]) return null;
      await writeAudit(tx, { actor: `user:${t.userId}`, action: "user.email_verified", targetType: "user", targetId: t.userId, after: { email: t.email } });
      return t;
    });
    if (!r) throw invalidLink();
    return r;
  }

  /**
   * Sends a reset link if the address belongs to an active user with a password. Resolves the same
   * way for every address; route handlers call it without awaiting so response time says nothing.
   */
  async requestPasswordReset(email: string): Promise<void> {
    if (!this.mailer) return;
    const u = await findUserByEmail(this.db, email);
    if (!u || !u.email || u.status !== "active") return;
    const recent = await this.db
      .select({ n: sql<number>`count(*)::int` })
      .from(emailTokens)
      .where(and(eq(emailTokens.userId, u.id), eq(emailTokens.purpose, "reset_password"), gt(emailTokens.createdAt, new Date(this.clock.now() - RESEND_GAP_MS))));
    if ((recent[0]?.n ?? 0) > 0) return;
    const token = await this.issue(u.id, u.email, "reset_password", this.s.resetTtlMin);
    const m = MAIL.reset(mailLang(u.locale), this.link("/reset-password", token), this.s.resetTtlMin);
    await this.mailer.send({ to: u.email, ...m });
  }

  /** Sets the new password and ends every session of the user; the link is spent either way it succeeds. */
  async confirmPasswordReset(token: string, password: string): Promise<{ userId: string }> {
    const problem = passwordProblem(password);
    if (problem) throw new AppError("invalid_request", problem, { param: "password" });
    const hash = await hashPassword(password);
    const r = await this.db.transaction(async (tx) => {
      const t = await this.consume(token, "reset_password", tx);
      if (!t) return null;
      // Following the link proves the mailbox, so the address counts as verified too.
      const upd = await tx
        .update(users)
        .set({ passwordHash: hash, emailVerifiedAt: sql`coalesce(${users.emailVerifiedAt}, now())` })
        .where(and(eq(users.id, t.userId), eq(users.email, t.email), eq(users.status, "active")))
        .returning({ id: users.id });
      if (!upd[0]) return null;
      await revokeUserSessions(tx, t.userId, "password_reset", new Date(this.clock.now()));
      await writeAudit(tx, { actor: `user:${t.userId}`, action: "user.password_reset", targetType: "user", targetId: t.userId });
      return t;
    });
    if (!r) throw invalidLink();
    this.logger?.info({ userId: r.userId }, "password reset by e-mail link");
    return { userId: r.userId };
  }
}

function invalidLink(): AppError {
  return new AppError("invalid_request", "This link is invalid, already used or expired; ask for a new one", { param: "token" });
}
