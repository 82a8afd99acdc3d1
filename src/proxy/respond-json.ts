import type { ServerResponse } from "node:http";
import { RESPONSE_ALREADY_SENT } from "@hono/node-server/utils/response";
import { adapterFor, estimatedUsage } from "../providers/index.js";
import type { UpstreamAttempt } from "../routing/attempt.js";
import { servedAs, type AnswerContext } from "./answer-context.js";
import { dialectContext } from "./dialects/dialect.js";
import { promptTokens } from "./prompt-count.js";
import { countTokens } from "./o200k-count.js";
import type { UpstreamResponse } from "./upstream.js";
import { upstreamIdentity } from "./upstream-identity.js";
import { SUSPICIOUS_BYTES_PER_TOKEN } from "./usage-check.js";


/** A complete JSON answer: settled and logged before it is sent, `usage.cost` set to what was charged. */
export async function respondJson(
  run: AnswerContext,
  attempt: UpstreamAttempt,
  res: UpstreamResponse,
  upstreamJson: Record<string, unknown>,
  settleBreaker: (ok: boolean) => Promise<void>,
): Promise<Response> {
  void settleBreaker(true);
  const { req, d, metered } = run;
  const adapter = adapterFor(attempt.target);
  const json = adapter.translateResponse(upstreamJson, req.endpoint);
  const reported = adapter.usage(json.usage);
  let delivered: number | null = null;
  let usage = reported;
  if (!usage) usage = estimatedUsage(await promptTokens(req.body), countTokens(completionText(json)));
  else if (req.endpoint !== "embeddings") {
    const text = completionText(json);
    if (usage.completionTokens * SUSPICIOUS_BYTES_PER_TOKEN < Buffer.byteLength(text)) delivered = countTokens(text);
  }
  const served = servedAs(attempt, json.model);
  const settled = await metered.finish({
    status: "completed",
    served,
    usage,
    deliveredCompletion: delivered,
    localPrompt: reported && reported.promptTokens === 0 && req.endpoint !== "embeddings" ? ((n) => () => n)(await promptTokens(req.body)) : null,
    upstreamStatus: res.status,
    ...identityMeta(upstreamJson),
  });
  if (json.usage && typeof json.usage === "object") {
    const u = json.usage as Record<string, unknown>;
    delete u.cost_details;
    if (settled) u.cost = Number(settled.costDisplay);
  } else if (settled && req.endpoint !== "embeddings") {
    json.usage = { prompt_tokens: usage.promptTokens, completion_tokens: usage.completionTokens, total_tokens: usage.totalTokens, cost: Number(settled.costDisplay), estimated: true };
  }
  const dialect = req.dialect;
  const text = JSON.stringify(dialect ? dialect.api.response(json, dialectContext(req.requestId, req.startedAt, dialect.clientBody, () => d.clock.now())) : json);
  const headers = run.headers(served, "application/json");
  if (run.opts.cacheKey && d.cache) {
    headers["x-gateway-cache"] = "MISS";
    const u = reported ?? usage;
    void d.cache.store.set(run.opts.cacheKey, {
      status: 200,
      body: text,
      contentType: "application/json",
      usage: { promptTokens: u.promptTokens, completionTokens: u.completionTokens, totalTokens: u.totalTokens, cachedTokens: u.cachedTokens, reasoningTokens: u.reasoningTokens },
      providerId: served.providerId,
      upstreamModel: served.upstreamModel,
      storedAt: d.clock.now(),
    });
  }
  return jsonAnswer(req.sink, headers, text);
}

/**
 * The answer straight onto Node's response when there is one (no web Response to build and read
 * back: the Hono path and the inference front both hand the proxy a sink), else a Response.
 */
function jsonAnswer(sink: ServerResponse | undefined, headers: Record<string, string>, text: string): Response {
  if (!sink) return new Response(text, { status: 200, headers });
  headers["content-length"] = String(Buffer.byteLength(text));
  sink.writeHead(200, headers);
  sink.end(text);
  return RESPONSE_ALREADY_SENT;
}

function identityMeta(json: Record<string, unknown>): { meta?: Record<string, unknown> } {
  const id = upstreamIdentity(json);
  return id ? { meta: { ...id } } : {};
}

function completionText(json: Record<string, unknown>): string {
  const choices = json.choices as Array<{ message?: { content?: unknown; reasoning?: unknown }; text?: unknown }> | undefined;
  if (!Array.isArray(choices)) return "";
  let s = "";
  for (const c of choices) {
    if (typeof c.message?.content === "string") s += c.message.content;
    if (typeof c.text === "string") s += c.text;
  }
  return s;
}
