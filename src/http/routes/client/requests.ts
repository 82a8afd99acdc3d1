import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { listRequestLogs, logView, type LogQuery } from "../../../accounts/admin-logs.js";
import { getKey } from "../../../accounts/api-keys.js";
import { AppError } from "../../../core/errors.js";
import type { AppEnv } from "../../context.js";
import type { AppDeps } from "../../deps.js";
import { SECURITY, errorResponse as err, json } from "../../openapi.js";
import { createRouter } from "../../router.js";
import { accountAuthOnce, Money, Page } from "./account-shared.js";

const RequestFilters = z.object({
  key_id: z
    .string()
    .max(100)
    .optional()
    .openapi({ param: { name: "key_id", in: "query" } }),
  model: z
    .string()
    .max(300)
    .optional()
    .openapi({ param: { name: "model", in: "query" }, description: "Requested or served model id" }),
  status: z
    .enum(["pending", "completed", "failed", "cancelled"])
    .optional()
    .openapi({ param: { name: "status", in: "query" } }),
  from: z.iso
    .datetime({ offset: true })
    .optional()
    .openapi({ param: { name: "from", in: "query" }, description: "Inclusive" }),
  to: z.iso
    .datetime({ offset: true })
    .optional()
    .openapi({ param: { name: "to", in: "query" }, description: "Exclusive" }),
});

const CustomerRequest = z
  .object({
    id: z.string(),
    created_at: z.string(),
    completed_at: z.string().nullable(),
    api_key_id: z.string().nullable(),
    endpoint: z.string(),
    model: z.string().nullable(),
    served_model: z.string().nullable(),
    provider_id: z.string().nullable(),
    stream: z.boolean(),
    status: z.string(),
    prompt_tokens: z.number().int().nullable(),
    completion_tokens: z.number().int().nullable(),
    cached_tokens: z.number().int().nullable(),
    reasoning_tokens: z.number().int().nullable(),
    total_tokens: z.number().int().nullable(),
    estimated: z.boolean(),
    latency_ms: z.number().int().nullable(),
    ttft_ms: z.number().int().nullable(),
    error_code: z.string().nullable(),
    cost: Money.nullable(),
    cache_hit: z.boolean(),
  })
  .openapi("CustomerRequest");

type LogRow = ReturnType<typeof logView>;
/** The customer's view of a log row: what the request cost them, not what it cost the gateway. */
function customerRequest(r: LogRow): z.infer<typeof CustomerRequest> {
  return {
    id: r.id,
    created_at: r.created_at,
    completed_at: r.completed_at,
    api_key_id: r.api_key_id,
    endpoint: r.endpoint,
    model: r.model,
    served_model: r.served_model,
    provider_id: r.provider_id,
    stream: r.stream,
    status: r.status,
    prompt_tokens: r.prompt_tokens,
    completion_tokens: r.completion_tokens,
    cached_tokens: r.cached_tokens,
    reasoning_tokens: r.reasoning_tokens,
    total_tokens: r.total_tokens,
    estimated: r.estimated,
    latency_ms: r.latency_ms,
    ttft_ms: r.ttft_ms,
    error_code: r.error_code,
    cost: r.cost,
    cache_hit: r.cache_hit,
  };
}

const CSV_COLUMNS = [
  "id",
  "created_at",
  "api_key_id",
  "model",
  "served_model",
  "provider_id",
  "status",
  "stream",
  "prompt_tokens",
  "completion_tokens",
  "cached_tokens",
  "reasoning_tokens",
  "total_tokens",
  "estimated",
  "cost",
  "latency_ms",
  "ttft_ms",
  "error_code",
] as const;
/** At most this many rows per export: a bigger range is split by dates. */
export const CSV_MAX_ROWS = 50_000;

function csvCell(v: unknown): string {
  if (v === null || v === undefined) return "";
  const s = String(v);
  // Quote when needed; a leading =+-@ would be a formula in a spreadsheet.
  const safe = /^[=+\-@\t\r]/.test(s) && !/^-?\d/.test(s) ? `'${s}` : s;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** The customer's request log with filters, as pages and as CSV. Upstream cost and profit never appear here. */
export function createClientRequestRoutes(deps: AppDeps) {
  const app = createRouter();
  const security = SECURITY.bearer;
  const once = accountAuthOnce(deps);
  for (const p of ["/v1/client/requests", "/v1/client/requests.csv"]) app.use(p, once);
  const _cur = deps.settings.currency;

  async function logQuery(c: Context<AppEnv>, f: z.infer<typeof RequestFilters>): Promise<LogQuery> {
    const accountId = c.get("auth").accountId;
    // Another account's key id answers as an unknown one (404), never as an empty page that confirms it exists.
    if (f.key_id && !(await getKey(deps.db, { accountId, actor: "client" }, f.key_id))) throw new AppError("not_found", "No such API key", { param: "key_id" });
    const from = f.from ? new Date(f.from) : undefined;
    const to = f.to ? new Date(f.to) : undefined;
    if (from && to && from >= to) throw new AppError("invalid_request", "`from` must be before `to`", { param: "from" });
    return { accountId, keyId: f.key_id, model: f.model, status: f.status, from, to };
  }

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/client/requests",
      tags: ["Client"],
      summary: "The account's request log with filters (key, model, status, date range), newest first",
      security,
      request: { query: RequestFilters.extend(Page) },
      responses: {
        200: json(z.object({ data: z.array(CustomerRequest), next_cursor: z.string().nullable() }).openapi("CustomerRequests"), "A page"),
        400: err("Invalid filter"),
        401: err("Not authenticated"),
        404: err("Unknown key_id"),
      },
    }),
    async (c) => {
      const q = c.req.valid("query");
      const page = await listRequestLogs(deps.db, { ...(await logQuery(c, q)), limit: q.limit, cursor: q.cursor });
      return c.json({ data: page.data.map(customerRequest), next_cursor: page.next_cursor }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/client/requests.csv",
      tags: ["Client"],
      summary: `The filtered request log as CSV (at most ${CSV_MAX_ROWS} rows, newest first)`,
      security,
      request: { query: RequestFilters },
      responses: {
        200: { content: { "text/csv": { schema: z.string() } }, description: "CSV with a header row" },
        400: err("Invalid filter"),
        401: err("Not authenticated"),
      },
    }),
    async (c) => {
      const base = await logQuery(c, c.req.valid("query"));
      const lines = [CSV_COLUMNS.join(",")];
      let cursor: string | undefined;
      let n = 0;
      do {
        const page = await listRequestLogs(deps.db, { ...base, limit: 1000, cursor });
        for (const r of page.data.map(customerRequest)) {
          if (n++ >= CSV_MAX_ROWS) break;
          lines.push(CSV_COLUMNS.map((k) => csvCell(r[k])).join(","));
        }
        cursor = page.next_cursor ?? undefined;
      } while (cursor && n < CSV_MAX_ROWS);
      const stamp = new Date(deps.clock.now()).toISOString().slice(0, 10);
      return c.body(lines.join("\r\n") + "\r\n", 200, {
        "content-type": "text/csv; charset=utf-8",
        "content-disposition": `attachment; filename="requests-${stamp}.csv"`,
      });
    },
  );

  return app;
}
