import { AppError } from "../core/errors.js";

/**
 * Model names are ids (`openai/gpt-4o-mini`, `meta-llama/llama-3.1-8b:free`): printable ASCII
 * without spaces. Anything else (a Cyrillic look-alike, CR/LF, NUL, CJK) can't be a model we
 * route, and must never reach a header or an upstream URL.
 */
const MODEL_NAME = /^[\x21-\x7e]{1,256}$/;

export function checkModelName(name: unknown, param = "model"): string {
  if (typeof name !== "string" || name.length === 0) throw new AppError("invalid_request", `\`${param}\` is required and must be a string`, { param });
  if (!MODEL_NAME.test(name)) {
    throw new AppError("invalid_request", `\`${param}\` must be 1-256 printable ASCII characters without spaces (no model has other characters)`, { param });
  }
  return name;
}

/** The value if it is a safe header value, else undefined (upstream-reported text never goes in a header unchecked). */
export function headerSafe(v: string | null | undefined): string | undefined {
  return v && MODEL_NAME.test(v) ? v : undefined;
}

/** The output cap the client asked for, per choice (`max_completion_tokens` wins, as OpenAI does). */
export function requestedMaxTokens(body: Record<string, unknown>): { field: "max_tokens" | "max_completion_tokens"; value: number | null } {
  const field = body.max_completion_tokens !== undefined ? "max_completion_tokens" : "max_tokens";
  const v = body[field];
  if (v === undefined || v === null) return { field, value: null };
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1) throw new AppError("invalid_request", `\`${field}\` must be a positive integer`, { param: field });
  return { field, value: v };
}

/**
 * How many completions the upstream generates: `n` (chat, completions) and `best_of`
 * (completions: generated server-side, all billed). Bounded so one request can't multiply its
 * output beyond what a hold is meant to cover.
 */
export function requestedChoices(body: Record<string, unknown>, max: number): number {
  const read = (param: "n" | "best_of"): number => {
    const v = body[param];
    if (v === undefined || v === null) return 1;
    if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > max) {
      throw new AppError("invalid_request", `\`${param}\` must be an integer from 1 to ${max}`, { param });
    }
    return v;
  };
  const n = read("n");
  const bestOf = read("best_of");
  if (body.best_of !== undefined && body.best_of !== null && bestOf < n) throw new AppError("invalid_request", "`best_of` must be at least `n`", { param: "best_of" });
  return Math.max(n, bestOf);
}

/** Service tiers the upstream bills at (or below) the list price the gateway charges. */
const LIST_PRICE_TIERS = new Set(["auto", "default", "flex"]);

/**
 * `service_tier`: OpenAI bills `priority` (and `scale`, prepaid capacity of the operator's own
 * account) above the list price the gateway charges, so forwarding it would sell tokens below
 * their cost. Checked on the client's body, which a native Responses upstream gets as it is.
 */
export function checkServiceTier(body: Record<string, unknown>): void {
  const v = body.service_tier;
  if (v === undefined || v === null) return;
  if (typeof v !== "string" || !LIST_PRICE_TIERS.has(v)) {
    throw new AppError("unsupported_parameter", "`service_tier` must be `auto`, `default` or `flex`: other tiers are billed above this gateway's prices", { param: "service_tier" });
  }
}
