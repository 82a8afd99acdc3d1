import type { InferenceEndpoint } from "../proxy/service.js";

/**
 * Hand-written checks of the inference bodies, for the request path: true only when the body
 * certainly passes the route's zod schema (inference-entry.ts), which then need not run (zod copies
 * every message object of the body it validates). False means "not sure": the schema runs and
 * gives its own verdict and error messages, so the errors clients see are zod's, unchanged.
 * Every rule here is one of the schema's; a rule the schema lacks must never be added here.
 */
export function surelyValid(endpoint: InferenceEndpoint, b: Record<string, unknown>): boolean {
  if (!nonEmptyString(b.model) || !optionalModels(b.models)) return false;
  if (endpoint === "chat.completions") return chatValid(b);
  if (endpoint === "completions") return optionalBoolean(b.stream) && optionalMaxTokens(b.max_tokens) && promptValid(b.prompt);
  if (endpoint === "embeddings") return inputValid(b.input);
  return false;
}

function chatValid(b: Record<string, unknown>): boolean {
  if (!optionalBoolean(b.stream) || !optionalMaxTokens(b.max_tokens) || !optionalMaxTokens(b.max_completion_tokens)) return false;
  const t = b.temperature;
  if (t !== undefined && !(typeof t === "number" && t >= 0 && t <= 2)) return false;
  const so = b.stream_options;
  if (so !== undefined && so !== null) {
    if (!plainObject(so) || !optionalBoolean((so as { include_usage?: unknown }).include_usage)) return false;
  }
  const messages = b.messages;
  if (!Array.isArray(messages) || messages.length === 0) return false;
  for (const m of messages) {
    if (!plainObject(m)) return false;
    const { role, content } = m as { role?: unknown; content?: unknown };
    if (!nonEmptyString(role)) return false;
    if (content !== undefined && content !== null && typeof content !== "string" && !Array.isArray(content)) return false;
  }
  return true;
}

/** string | string[] | number[] | number[][] */
function promptValid(p: unknown): boolean {
  if (typeof p === "string") return true;
  return Array.isArray(p) && (p.every((x) => typeof x === "string") || numbers(p) || p.every((x) => Array.isArray(x) && numbers(x)));
}

/** string | string[] (at least one) | number[] | number[][] */
function inputValid(p: unknown): boolean {
  if (typeof p === "string") return true;
  if (!Array.isArray(p)) return false;
  if (p.length > 0 && p.every((x) => typeof x === "string")) return true;
  return numbers(p) || p.every((x) => Array.isArray(x) && numbers(x));
}

function numbers(a: unknown[]): boolean {
  for (const x of a) if (typeof x !== "number" || !Number.isFinite(x)) return false;
  return true;
}

function nonEmptyString(v: unknown): boolean {
  return typeof v === "string" && v.length > 0;
}

function optionalBoolean(v: unknown): boolean {
  return v === undefined || typeof v === "boolean";
}

function optionalMaxTokens(v: unknown): boolean {
  return v === undefined || (typeof v === "number" && Number.isSafeInteger(v) && v > 0);
}

function optionalModels(v: unknown): boolean {
  if (v === undefined) return true;
  if (!Array.isArray(v) || v.length === 0) return false;
  for (const x of v) if (!nonEmptyString(x)) return false;
  return true;
}

function plainObject(v: unknown): boolean {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
