import { and, desc, eq, gte, ilike, isNotNull, isNull, lt, or, type SQL } from "drizzle-orm";
import { formatMoney } from "../core/money.js";
import type { DbOrTx } from "../db/client.js";
import { auditLog, requestLogs } from "../db/schema/index.js";
import { escapeLike } from "./api-keys.js";
import { clampLimit, keyset, page } from "./pagination.js";

/** Admin (and client) reads of the request log and the audit log, newest first, keyset-paged. */

export interface LogQuery {
  accountId?: string;
  keyId?: string;
  model?: string;
  status?: "pending" | "completed" | "failed" | "cancelled";
  providerId?: string;
  /** Only rows whose upstream usage was corrected (true) or not (false). */
  usageAnomaly?: boolean;
  from?: Date;
  to?: Date;
  limit?: number;
  cursor?: string;
}

export function logView(r: typeof requestLogs.$inferSelect) {
  return {
    id: r.id,
    account_id: r.accountId,
    api_key_id: r.apiKeyId,
    endpoint: r.endpoint,
    model: r.requestedModel,
    served_model: r.servedModel,
    provider_id: r.providerId,
    upstream_account_id: r.upstreamAccountId,
    stream: r.stream,
    status: r.status,
    prompt_tokens: r.promptTokens,
    completion_tokens: r.completionTokens,
    cached_tokens: r.cachedTokens,
    reasoning_tokens: r.reasoningTokens,
    total_tokens: r.totalTokens,
    estimated: r.estimated,
    latency_ms: r.latencyMs,
    ttft_ms: r.ttftMs,
    upstream_status: r.upstreamStatus,
    error_code: r.errorCode,
    usage_anomaly: r.usageAnomaly,
    cost: r.priceMicros === null ? null : formatMoney(r.priceMicros),
    upstream_cost: r.upstreamCostMicros === null ? null : formatMoney(r.upstreamCostMicros),
    profit: r.profitMicros === null ? null : formatMoney(r.profitMicros),
    cache_hit: r.cacheHit,
    attempts: r.attempts,
    created_at: r.createdAt.toISOString(),
    completed_at: r.completedAt?.toISOString() ?? null,
  };
}

export async function listRequestLogs(db: DbOrTx, query: LogQuery = {}) {
  const conds: SQL[] = [];
  if (query.accountId) conds.push(eq(requestLogs.accountId, query.accountId));
  if (query.keyId) conds.push(eq(requestLogs.apiKeyId, query.keyId));
  if (query.model) conds.push(or(eq(requestLogs.requestedModel, query.model), eq(requestLogs.servedModel, query.model))!);
  if (query.status) conds.push(eq(requestLogs.status, query.status));
  if (query.providerId) conds.push(eq(requestLogs.providerId, query.providerId));
  if (query.usageAnomaly !== undefined) conds.push(query.usageAnomaly ? isNotNull(requestLogs.usageAnomaly) : isNull(requestLogs.usageAnomaly));
  if (query.from) conds.push(gte(requestLogs.createdAt, query.from));
  if (query.to) conds.push(lt(requestLogs.createdAt, query.to));
  const ks = keyset(requestLogs.createdAt, requestLogs.id, query.cursor);
  if (ks) conds.push(ks);
  const limit = clampLimit(query.limit, 50, 1000);
  const rows = await db
    .select()
    .from(requestLogs)
    .where(conds.length ? and(...conds) : undefined)
    .orderBy(desc(requestLogs.createdAt), desc(requestLogs.id))
    .limit(limit + 1);
  return page(rows, limit, logView);
}

// ---------------------------------------------------------------- audit log

export interface AuditQuery {
  actor?: string;
  action?: string;
  targetType?: string;
  targetId?: string;
  from?: Date;
  to?: Date;
  limit?: number;
  cursor?: string;
}

export async function listAudit(db: DbOrTx, query: AuditQuery = {}) {
  const conds: SQL[] = [];
  if (query.actor) conds.push(eq(auditLog.actor, query.actor));
  if (query.action) conds.push(query.action.endsWith(".*") ? ilike(auditLog.action, `${escapeLike(query.action.slice(0, -1))}%`) : eq(auditLog.action, query.action));
  if (query.targetType) conds.push(eq(auditLog.targetType, query.targetType));
  if (query.targetId) conds.push(eq(auditLog.targetId, query.targetId));
  if (query.from) conds.push(gte(auditLog.createdAt, query.from));
  if (query.to) conds.push(lt(auditLog.createdAt, query.to));
  const ks = keyset(auditLog.createdAt, auditLog.id, query.cursor);
  if (ks) conds.push(ks);
  const limit = clampLimit(query.limit);
  const rows = await db
    .select()
    .from(auditLog)
    .where(conds.length ? and(...conds) : undefined)
    .orderBy(desc(auditLog.createdAt), desc(auditLog.id))
    .limit(limit + 1);
  return page(rows, limit, (r) => ({
    id: r.id,
    actor: r.actor,
    action: r.action,
    target_type: r.targetType,
    target_id: r.targetId,
    before: r.before,
    after: r.after,
    ip: r.ip,
    created_at: r.createdAt.toISOString(),
  }));
}
