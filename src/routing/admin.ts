import { and, eq } from "drizzle-orm";
import { writeAudit } from "../audit/index.js";
import { AppError } from "../core/errors.js";
import { newId, randomBase62 } from "../core/ids.js";
import type { Db } from "../db/client.js";
import { baseUrlProblem, DEFAULT_ADDRESS_POLICY, type AddressPolicy } from "../providers/base-url-guard.js";
import { modelRoutes, routingProviders, upstreamAccounts } from "../db/schema/index.js";
import { maskSecret, type SecretBox } from "./secret-box.js";
import { accountKeyContext, verifyEncryptionKey } from "./store.js";

/**
 * Admin verbs over the routing tables. Every write runs in a transaction with its audit row;
 * snapshots in the audit log show keys masked, never sealed or plain.
 */
export interface AdminContext {
  db: Db;
  box: SecretBox | null;
  actor: string;
  ip?: string | null;
  /** Provider ids of the config file (admin providers may not reuse them). */
  configProviderIds: readonly string[];
  /** Where provider base URLs may point (UPSTREAM_ALLOW_*); default: loopback and private allowed. */
  addressPolicy?: AddressPolicy;
}

function checkBaseUrl(ctx: AdminContext, url: string | null | undefined): void {
  if (!url) return;
  const problem = baseUrlProblem(url, ctx.addressPolicy ?? DEFAULT_ADDRESS_POLICY);
  if (problem) throw new AppError("upstream_url_not_allowed", `base_url ${problem}`, { param: "base_url" });
}

type ProviderRow = typeof routingProviders.$inferSelect;
type AccountRow = typeof upstreamAccounts.$inferSelect;
type RouteRow = typeof modelRoutes.$inferSelect;

export interface UpstreamAccountView {
  id: string;
  providerId: string;
  name: string;
  apiKeyMask: string;
  discountBp: number;
  balanceMicros: bigint | null;
  balanceCheckedAt: Date | null;
  weight: number;
  enabled: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export function accountView(r: AccountRow): UpstreamAccountView {
  return {
    id: r.id,
    providerId: r.providerId,
    name: r.name,
    apiKeyMask: r.apiKeyMask,
    discountBp: r.discountBp,
    balanceMicros: r.balanceMicros,
    balanceCheckedAt: r.balanceCheckedAt,
    weight: r.weight,
    enabled: r.enabled,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
  };
}

async function knownProvider(ctx: AdminContext, id: string): Promise<boolean> {
  if (ctx.configProviderIds.includes(id)) return true;
  const [p] = await ctx.db.select({ id: routingProviders.id }).from(routingProviders).where(eq(routingProviders.id, id));
  return !!p;
}

// ---- providers ----

export interface ProviderInput {
  id: string;
  type: ProviderRow["type"];
  baseUrl?: string | null;
  modelPrefix?: string;
  headers?: Record<string, string>;
  timeouts?: Record<string, number>;
  enabled?: boolean;
}

export function listProviders(db: Db): Promise<ProviderRow[]> {
  return db.select().from(routingProviders).orderBy(routingProviders.id);
}

export async function createProvider(ctx: AdminContext, input: ProviderInput): Promise<ProviderRow> {
  if (ctx.configProviderIds.includes(input.id)) {
    throw new AppError("conflict", `provider "${input.id}" is defined in the config file`, { param: "id" });
  }
  if (input.type !== "mock" && input.type !== "openrouter" && !input.baseUrl) {
    throw new AppError("invalid_request", `base_url is required for type ${input.type}`, { param: "base_url" });
  }
  checkBaseUrl(ctx, input.baseUrl);
  return ctx.db.transaction(async (tx) => {
    const rows = await tx
      .insert(routingProviders)
      .values({
        id: input.id,
        type: input.type,
        baseUrl: input.baseUrl ?? null,
        modelPrefix: input.modelPrefix ?? "",
        headers: input.headers ?? {},
        timeouts: input.timeouts ?? {},
        enabled: input.enabled ?? true,
      })
      .onConflictDoNothing()
      .returning();
    const row = rows[0];
    if (!row) throw new AppError("conflict", `provider "${input.id}" already exists`, { param: "id" });
    await writeAudit(tx, { actor: ctx.actor, action: "routing.provider.create", targetType: "provider", targetId: row.id, after: row, ip: ctx.ip });
    return row;
  });
}

export async function updateProvider(ctx: AdminContext, id: string, patch: Partial<Omit<ProviderInput, "id">>): Promise<ProviderRow> {
  checkBaseUrl(ctx, patch.baseUrl);
  return ctx.db.transaction(async (tx) => {
    const [before] = await tx.select().from(routingProviders).where(eq(routingProviders.id, id)).for("update");
    if (!before) throw new AppError("not_found", `provider "${id}" is not an admin-managed provider`);
    const [after] = await tx
      .update(routingProviders)
      .set({
        ...(patch.type !== undefined && { type: patch.type }),
        ...(patch.baseUrl !== undefined && { baseUrl: patch.baseUrl }),
        ...(patch.modelPrefix !== undefined && { modelPrefix: patch.modelPrefix }),
        ...(patch.headers !== undefined && { headers: patch.headers }),
        ...(patch.timeouts !== undefined && { timeouts: patch.timeouts }),
        ...(patch.enabled !== undefined && { enabled: patch.enabled }),
        updatedAt: new Date(),
      })
      .where(eq(routingProviders.id, id))
      .returning();
    await writeAudit(tx, { actor: ctx.actor, action: "routing.provider.update", targetType: "provider", targetId: id, before, after, ip: ctx.ip });
    return after!;
  });
}

export async function deleteProvider(ctx: AdminContext, id: string): Promise<void> {
  await ctx.db.transaction(async (tx) => {
    const [before] = await tx.select().from(routingProviders).where(eq(routingProviders.id, id)).for("update");
    if (!before) throw new AppError("not_found", `provider "${id}" is not an admin-managed provider`);
    const [acct] = await tx.select({ id: upstreamAccounts.id }).from(upstreamAccounts).where(eq(upstreamAccounts.providerId, id)).limit(1);
    const [route] = await tx.select({ id: modelRoutes.id }).from(modelRoutes).where(eq(modelRoutes.providerId, id)).limit(1);
    if (acct || route) throw new AppError("conflict", `provider "${id}" still has upstream accounts or routes; delete or disable those first`);
    await tx.delete(routingProviders).where(eq(routingProviders.id, id));
    await writeAudit(tx, { actor: ctx.actor, action: "routing.provider.delete", targetType: "provider", targetId: id, before, ip: ctx.ip });
  });
}

// ---- upstream accounts ----

export interface UpstreamAccountInput {
  providerId: string;
  name?: string;
  apiKey: string;
  discountBp?: number;
  balanceMicros?: bigint | null;
  weight?: number;
  enabled?: boolean;
}

function requireBox(ctx: AdminContext): SecretBox {
  if (!ctx.box) throw new AppError("service_unavailable", "ENCRYPTION_KEY is not set: upstream keys cannot be stored");
  return ctx.box;
}

export async function listUpstreamAccounts(db: Db, providerId?: string): Promise<UpstreamAccountView[]> {
  const rows = await db
    .select()
    .from(upstreamAccounts)
    .where(providerId ? eq(upstreamAccounts.providerId, providerId) : undefined)
    .orderBy(upstreamAccounts.providerId, upstreamAccounts.id);
  return rows.map(accountView);
}

export async function getUpstreamAccount(db: Db, id: string): Promise<UpstreamAccountView> {
  const [r] = await db.select().from(upstreamAccounts).where(eq(upstreamAccounts.id, id));
  if (!r) throw new AppError("not_found", "upstream account not found");
  return accountView(r);
}

export async function createUpstreamAccount(ctx: AdminContext, input: UpstreamAccountInput): Promise<UpstreamAccountView> {
  const box = requireBox(ctx);
  if (!(await knownProvider(ctx, input.providerId))) throw new AppError("invalid_request", `unknown provider "${input.providerId}"`, { param: "provider_id" });
  // Stores the check value on the very first key, so a later start with another key is caught.
  await verifyEncryptionKey(ctx.db, box);
  const id = newId("upstreamAccount");
  return ctx.db.transaction(async (tx) => {
    const [row] = await tx
      .insert(upstreamAccounts)
      .values({
        id,
        providerId: input.providerId,
        name: input.name ?? "",
        apiKeyEncrypted: box.seal(input.apiKey, accountKeyContext(id)),
        apiKeyMask: maskSecret(input.apiKey),
        discountBp: input.discountBp ?? 0,
        balanceMicros: input.balanceMicros ?? null,
        balanceCheckedAt: input.balanceMicros !== undefined && input.balanceMicros !== null ? new Date() : null,
        weight: input.weight ?? 1,
        enabled: input.enabled ?? true,
      })
      .returning();
    const view = accountView(row!);
    await writeAudit(tx, { actor: ctx.actor, action: "routing.upstream_account.create", targetType: "upstream_account", targetId: id, after: view, ip: ctx.ip });
    return view;
  });
}

export async function updateUpstreamAccount(
  ctx: AdminContext,
  id: string,
  patch: Partial<Omit<UpstreamAccountInput, "providerId">>,
): Promise<UpstreamAccountView> {
  const box = patch.apiKey !== undefined ? requireBox(ctx) : null;
  return ctx.db.transaction(async (tx) => {
    const [before] = await tx.select().from(upstreamAccounts).where(eq(upstreamAccounts.id, id)).for("update");
    if (!before) throw new AppError("not_found", "upstream account not found");
    const [after] = await tx
      .update(upstreamAccounts)
      .set({
        ...(patch.name !== undefined && { name: patch.name }),
        ...(patch.apiKey !== undefined && { apiKeyEncrypted: box!.seal(patch.apiKey, accountKeyContext(id)), apiKeyMask: maskSecret(patch.apiKey) }),
        ...(patch.discountBp !== undefined && { discountBp: patch.discountBp }),
        ...(patch.balanceMicros !== undefined && { balanceMicros: patch.balanceMicros, balanceCheckedAt: new Date() }),
        ...(patch.weight !== undefined && { weight: patch.weight }),
        ...(patch.enabled !== undefined && { enabled: patch.enabled }),
        updatedAt: new Date(),
      })
      .where(eq(upstreamAccounts.id, id))
      .returning();
    const view = accountView(after!);
    await writeAudit(tx, {
      actor: ctx.actor,
      action: patch.apiKey !== undefined ? "routing.upstream_account.rotate_key" : "routing.upstream_account.update",
      targetType: "upstream_account",
      targetId: id,
      before: accountView(before),
      after: view,
      ip: ctx.ip,
    });
    return view;
  });
}

export async function deleteUpstreamAccount(ctx: AdminContext, id: string): Promise<void> {
  await ctx.db.transaction(async (tx) => {
    const [before] = await tx.select().from(upstreamAccounts).where(eq(upstreamAccounts.id, id)).for("update");
    if (!before) throw new AppError("not_found", "upstream account not found");
    await tx.delete(upstreamAccounts).where(eq(upstreamAccounts.id, id));
    await writeAudit(tx, { actor: ctx.actor, action: "routing.upstream_account.delete", targetType: "upstream_account", targetId: id, before: accountView(before), ip: ctx.ip });
  });
}

// ---- routes ----

export interface RouteInput {
  modelId: string;
  providerId: string;
  upstreamModel: string;
  priority?: number;
  weight?: number;
  enabled?: boolean;
}

export function listRoutes(db: Db, modelId?: string): Promise<RouteRow[]> {
  return db
    .select()
    .from(modelRoutes)
    .where(modelId ? eq(modelRoutes.modelId, modelId) : undefined)
    .orderBy(modelRoutes.modelId, modelRoutes.priority, modelRoutes.id);
}

/** Creates the route, or updates priority/weight/enabled of the row with the same model+provider+upstream model. */
export async function upsertRoute(ctx: AdminContext, input: RouteInput): Promise<RouteRow> {
  if (!(await knownProvider(ctx, input.providerId))) throw new AppError("invalid_request", `unknown provider "${input.providerId}"`, { param: "provider_id" });
  return ctx.db.transaction(async (tx) => {
    const [before] = await tx
      .select()
      .from(modelRoutes)
      .where(and(eq(modelRoutes.modelId, input.modelId), eq(modelRoutes.providerId, input.providerId), eq(modelRoutes.upstreamModel, input.upstreamModel)))
      .for("update");
    let after: RouteRow;
    if (before) {
      [after] = (await tx
        .update(modelRoutes)
        .set({
          priority: input.priority ?? before.priority,
          weight: input.weight ?? before.weight,
          enabled: input.enabled ?? before.enabled,
          updatedAt: new Date(),
        })
        .where(eq(modelRoutes.id, before.id))
        .returning()) as [RouteRow];
    } else {
      const rows = await tx
        .insert(modelRoutes)
        .values({
          id: `rt_${randomBase62(20)}`,
          modelId: input.modelId,
          providerId: input.providerId,
          upstreamModel: input.upstreamModel,
          priority: input.priority ?? 1,
          weight: input.weight ?? 1,
          enabled: input.enabled ?? true,
        })
        .onConflictDoNothing()
        .returning();
      if (!rows[0]) throw new AppError("conflict", "the route was created concurrently; retry");
      after = rows[0];
    }
    await writeAudit(tx, {
      actor: ctx.actor,
      action: before ? "routing.route.update" : "routing.route.create",
      targetType: "model_route",
      targetId: after.id,
      before: before ?? null,
      after,
      ip: ctx.ip,
    });
    return after;
  });
}

export async function updateRoute(ctx: AdminContext, id: string, patch: { priority?: number; weight?: number; enabled?: boolean }): Promise<RouteRow> {
  return ctx.db.transaction(async (tx) => {
    const [before] = await tx.select().from(modelRoutes).where(eq(modelRoutes.id, id)).for("update");
    if (!before) throw new AppError("not_found", "route not found");
    const [after] = await tx
      .update(modelRoutes)
      .set({
        ...(patch.priority !== undefined && { priority: patch.priority }),
        ...(patch.weight !== undefined && { weight: patch.weight }),
        ...(patch.enabled !== undefined && { enabled: patch.enabled }),
        updatedAt: new Date(),
      })
      .where(eq(modelRoutes.id, id))
      .returning();
    await writeAudit(tx, { actor: ctx.actor, action: "routing.route.update", targetType: "model_route", targetId: id, before, after, ip: ctx.ip });
    return after!;
  });
}

export async function deleteRoute(ctx: AdminContext, id: string): Promise<void> {
  await ctx.db.transaction(async (tx) => {
    const [before] = await tx.select().from(modelRoutes).where(eq(modelRoutes.id, id)).for("update");
    if (!before) throw new AppError("not_found", "route not found");
    await tx.delete(modelRoutes).where(eq(modelRoutes.id, id));
    await writeAudit(tx, { actor: ctx.actor, action: "routing.route.delete", targetType: "model_route", targetId: id, before, ip: ctx.ip });
  });
}
