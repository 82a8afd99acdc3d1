import { AppError } from "../core/errors.js";

/**
 * What a client JSON body may contain before anything else looks at it.
 *
 * Depth: measured on the raw text before JSON.parse, so a 20,000-level body costs one linear scan
 * and never reaches code that recurses (JSON.stringify when building the upstream request, the
 * tokenizer, zod). Every such body is the client's fault: a 400 here never touches an upstream or
 * its circuit breaker.
 *
 * Upstream-steering fields: an OpenAI-compatible upstream such as LiteLLM honours request fields
 * that choose where and with which credentials it calls out (`api_base`, `api_key`, `aws_*`, …).
 * A client must never pick the operator's upstream target or credentials, so these are refused
 * (400 `forbidden_parameter`, `param` = the field's path) wherever they appear in the body, except
 * inside JSON-schema subtrees (tool `parameters`, `response_format.json_schema.schema`), where
 * property names are the client's own data. The list is documented in README ("Refused fields").
 */

/** Field names refused anywhere in a client body (outside JSON-schema subtrees). */
export const FORBIDDEN_FIELDS: readonly string[] = [
  "api_base",
  "base_url",
  "api_key",
  "api_version",
  "api_type",
  "organization",
  "extra_headers",
  "extra_query",
  "extra_body",
  "custom_llm_provider",
  "user_config",
  "model_list",
  "litellm_params",
  "litellm_credential_name",
  "litellm_logging_obj",
  "fallbacks",
  "context_window_fallbacks",
  "content_policy_fallbacks",
  "proxy_base_url",
  "azure_endpoint",
  "azure_ad_token",
  "region_name",
];

/** Field-name prefixes refused the same way (cloud credentials and endpoints of LiteLLM providers). */
export const FORBIDDEN_PREFIXES: readonly string[] = ["aws_", "vertex_", "azure_", "watsonx_", "sagemaker_", "bedrock_"];

/** Keys whose value is a JSON schema (property names there are data, not request fields). */
const SCHEMA_KEYS = new Set(["parameters", "schema", "input_schema", "json_schema", "properties"]);

const forbidden = new Set(FORBIDDEN_FIELDS);

function isForbidden(name: string): boolean {
  const n = name.toLowerCase();
  if (forbidden.has(n)) return true;
  for (const p of FORBIDDEN_PREFIXES) if (n.startsWith(p)) return true;
  return false;
}

export interface JsonLimits {
  /** Deepest nesting of objects/arrays accepted. */
  maxDepth: number;
}

/**
 * The nesting depth of a JSON text, stopping as soon as it exceeds `max` (returns max + 1 then).
 * Brackets inside strings do not count; the text need not be valid JSON (JSON.parse judges that).
 */
export function jsonDepthExceeds(text: string, max: number): boolean {
  // Nesting needs as many brackets: with no more than `max` of them in all, the scan is not needed
  // (indexOf runs natively; the character loop below was most of this check's cost on chat bodies).
  if (bracketsAtMost(text, max)) return false;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 92 /* \ */) i++;
      else if (ch === 34 /* " */) inString = false;
      continue;
    }
    if (ch === 34) inString = true;
    else if (ch === 123 /* { */ || ch === 91 /* [ */) {
      if (++depth > max) return true;
    } else if (ch === 125 /* } */ || ch === 93 /* ] */) depth--;
  }
  return false;
}

function bracketsAtMost(text: string, max: number): boolean {
  let n = 0;
  for (const open of ["{", "["]) {
    for (let i = text.indexOf(open); i !== -1; i = text.indexOf(open, i + 1)) if (++n > max) return false;
  }
  return true;
}

/** 400 when the text nests deeper than allowed. Call before JSON.parse. */
export function assertJsonDepth(text: string, limits: JsonLimits): void {
  if (jsonDepthExceeds(text, limits.maxDepth)) {
    throw new AppError("json_too_deep", `The JSON body nests deeper than ${limits.maxDepth} levels`);
  }
}

/** The path of the first upstream-steering field in a parsed body, or null. */
export function findForbiddenField(value: unknown, path = ""): string | null {
  if (value === null || typeof value !== "object") return null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const hit = findForbiddenField(value[i], `${path}[${i}]`);
      if (hit) return hit;
    }
    return null;
  }
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    const here = path ? `${path}.${k}` : k;
    if (isForbidden(k)) return here;
    if (SCHEMA_KEYS.has(k)) continue;
    const hit = findForbiddenField(v, here);
    if (hit) return hit;
  }
  return null;
}

/** 400 `forbidden_parameter` naming the first upstream-steering field of the body. */
export function assertNoForbiddenFields(body: unknown): void {
  const field = findForbiddenField(body);
  if (field) {
    throw new AppError("forbidden_parameter", `The field \`${field}\` is not accepted: the gateway chooses the upstream and its credentials`, { param: field });
  }
}

export const MAX_MODEL_NAME_LENGTH = 256;

/**
 * A `model` that is not printable ASCII (NUL, CR/LF, a Cyrillic look-alike) or too long would break
 * the response headers that echo it; refused here for every JSON route (the proxy validates the rest).
 */
export function assertModelText(body: unknown): void {
  if (!body || typeof body !== "object" || Array.isArray(body)) return;
  const m = (body as { model?: unknown }).model;
  // eslint-disable-next-line no-control-regex
  if (typeof m !== "string") return;
  // Printable ASCII only: model ids are (OpenRouter's, LiteLLM's, the config's), and anything else —
  // a Cyrillic "о" typo, CJK, NUL, CR/LF — cannot be echoed in a response header.
  if (!/^[\x20-\x7e]*$/.test(m)) throw new AppError("invalid_request", "`model` may contain printable ASCII characters only", { param: "model" });
  // Model names are echoed in response headers; Node refuses header blocks over 16 KiB.
  if (m.length > MAX_MODEL_NAME_LENGTH) throw new AppError("invalid_request", `\`model\` is longer than ${MAX_MODEL_NAME_LENGTH} characters`, { param: "model" });
}

/**
 * Parses a client JSON text under the limits: depth first (on the text), then JSON.parse, then the
 * steering-field check. The result is any JSON value; callers decide which shapes they accept.
 */
export function parseClientJson(text: string, limits: JsonLimits): unknown {
  assertJsonDepth(text, limits);
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new AppError("invalid_json", "Malformed JSON in request body");
  }
  assertNoForbiddenFields(v);
  assertModelText(v);
  return v;
}
