import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { ConfigError, type Env } from "./env.js";

/**
 * The providers-and-models file (GATEWAY_CONFIG, YAML or JSON). Its documented form is a public
 * contract: new keys may be added, but existing ones keep their meaning.
 */
const TimeoutsSchema = z
  .object({
    connect_ms: z.number().int().positive().optional(),
    first_byte_ms: z.number().int().positive().optional(),
    idle_ms: z.number().int().positive().optional(),
    total_ms: z.number().int().positive().optional(),
  })
  .strict();

export const ProviderConfigSchema = z
  .object({
    id: z.string().regex(/^[a-zA-Z0-9_.-]+$/, "letters, digits, _ . - only"),
    type: z.enum(["openrouter", "openai", "litellm", "mock", "anthropic", "gemini"]),
    base_url: z.string().url().optional(),
    api_key: z.string().optional(),
    model_prefix: z.string().default(""),
    headers: z.record(z.string(), z.string()).optional(),
    timeouts: TimeoutsSchema.optional(),
    enabled: z.boolean().default(true),
    /**
     * Send request fields the provider type's field table does not name (providers/request-fields.ts).
     * Default: off for api.openai.com and Azure OpenAI (they answer 400 to unknown fields), on elsewhere.
     */
    forward_unknown_fields: z.boolean().optional(),
    /**
     * OpenAI Responses requests (`/v1/responses`): `native` sends them to the provider's own
     * `/responses`, `translate` turns them into chat. Default: native for `openai` on api.openai.com
     * or Azure OpenAI and for `litellm`, translate elsewhere (providers/responses-api.ts).
     */
    responses_api: z.enum(["native", "translate"]).optional(),
  })
  .strict()
  .refine((p) => p.responses_api !== "native" || p.type !== "anthropic" && p.type !== "gemini", {
    message: "responses_api: native is for OpenAI-compatible providers (anthropic and gemini speak their own API)",
    path: ["responses_api"],
  });

const PriceSchema = z
  .object({
    input: z.number().min(0),
    output: z.number().min(0),
    cached_input: z.number().min(0).optional(),
    /** USD per 1M prompt tokens written to the upstream's prompt cache (Anthropic's cache_creation_input_tokens). */
    cache_write: z.number().min(0).optional(),
    reasoning: z.number().min(0).optional(),
  })
  .strict();

export const RouteConfigSchema = z
  .object({
    provider: z.string(),
    model: z.string().optional(),
    priority: z.number().int().default(1),
    weight: z.number().int().min(0).default(1),
  })
  .strict();

export const ModelConfigSchema = z
  .object({
    id: z.string().min(1),
    aliases: z.array(z.string().min(1)).default([]),
    routes: z.array(RouteConfigSchema).default([]),
    price: PriceSchema.optional(),
    context_length: z.number().int().positive().optional(),
    max_output: z.number().int().positive().optional(),
    name: z.string().optional(),
    description: z.string().optional(),
  })
  .strict();

export const GatewayFileSchema = z
  .object({
    providers: z.array(ProviderConfigSchema).default([]),
    models: z.array(ModelConfigSchema).default([]),
  })
  .passthrough();

export type ProviderConfig = z.infer<typeof ProviderConfigSchema>;
export type ModelConfig = z.infer<typeof ModelConfigSchema>;

export interface GatewayConfig {
  providers: ProviderConfig[];
  models: ModelConfig[];
  /** True when nothing was configured and the built-in mock serves every model. */
  demo: boolean;
}

/** `${VAR}` → value from the environment snapshot; a missing variable is a start-up error. */
function substitute(text: string, vars: Record<string, string | undefined>, where: string): string {
  return text.replace(/\$\{([A-Z0-9_]+)\}/g, (_m, name: string) => {
    const v = vars[name];
    if (v === undefined) throw new ConfigError(`${where}: \${${name}} is not set in the environment`);
    return v;
  });
}

/** Substitutes in string values only, after parsing, so comments and keys are never touched. */
function substituteDeep(v: unknown, vars: Record<string, string | undefined>, where: string): unknown {
  if (typeof v === "string") return substitute(v, vars, where);
  if (Array.isArray(v)) return v.map((x, i) => substituteDeep(x, vars, `${where}.${i}`));
  if (v && typeof v === "object") {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, substituteDeep(x, vars, `${where}.${k}`)]));
  }
  return v;
}

export function parseGatewayFile(text: string, source: string, vars: Record<string, string | undefined>) {
  let parsed: unknown;
  try {
    parsed = source.endsWith(".json") ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw new ConfigError(`${source}: cannot parse (${(e as Error).message})`);
  }
  const raw = substituteDeep(parsed, vars, source);
  const r = GatewayFileSchema.safeParse(raw ?? {});
  if (!r.success) {
    const lines = r.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`);
    throw new ConfigError(`${source}: invalid gateway config:\n${lines.join("\n")}`);
  }
  return r.data;
}

/** The built-in mock's catalog: non-zero prices so billing is visible in demo mode. */
export const MOCK_MODELS: ModelConfig[] = [
  { id: "mock/gpt-4o-mini", aliases: ["gpt-4o-mini"], routes: [], price: { input: 0.15, output: 0.6 }, context_length: 128000, max_output: 16384 },
  { id: "mock/gpt-4o", aliases: ["gpt-4o"], routes: [], price: { input: 2.5, output: 10 }, context_length: 128000, max_output: 16384 },
  { id: "mock/text-embedding-3-small", aliases: ["text-embedding-3-small"], routes: [], price: { input: 0.02, output: 0 }, context_length: 8192, max_output: 1 },
];

/**
 * Providers and models from, in order: the config file, then the env shortcuts
 * (OPENROUTER_API_KEY, UPSTREAM_BASE_URL), and the built-in mock in demo mode when neither exists.
 */
export function loadGatewayConfig(env: Env, vars: Record<string, string | undefined>): GatewayConfig {
  const providers: ProviderConfig[] = [];
  const models: ModelConfig[] = [];
  if (env.GATEWAY_CONFIG) {
    let text: string;
    try {
      text = readFileSync(env.GATEWAY_CONFIG, "utf8");
    } catch (e) {
      throw new ConfigError(`GATEWAY_CONFIG: cannot read ${env.GATEWAY_CONFIG} (${(e as NodeJS.ErrnoException).code ?? "error"})`);
    }
    const file = parseGatewayFile(text, env.GATEWAY_CONFIG, vars);
    providers.push(...file.providers);
    models.push(...file.models);
  }
  const ids = new Set(providers.map((p) => p.id));
  if (env.UPSTREAM_BASE_URL && !ids.has("upstream")) {
    providers.push({
      id: "upstream",
      type: env.UPSTREAM_TYPE,
      base_url: env.UPSTREAM_BASE_URL,
      api_key: env.UPSTREAM_API_KEY,
      model_prefix: env.UPSTREAM_MODEL_PREFIX,
      enabled: true,
    });
  }
  if (env.OPENROUTER_API_KEY && !ids.has("openrouter")) {
    providers.push({
      id: "openrouter",
      type: "openrouter",
      base_url: env.OPENROUTER_BASE_URL,
      api_key: env.OPENROUTER_API_KEY,
      model_prefix: "",
      enabled: true,
    });
  }
  const demo = providers.length === 0;
  if (demo) {
    providers.push({ id: "mock", type: "mock", model_prefix: "", enabled: true });
    models.push(...MOCK_MODELS);
  }
  validateReferences(providers, models);
  return { providers, models, demo };
}

function validateReferences(providers: ProviderConfig[], models: ModelConfig[]): void {
  const ids = new Set<string>();
  for (const p of providers) {
    if (ids.has(p.id)) throw new ConfigError(`provider id "${p.id}" is defined twice`);
    ids.add(p.id);
    if (p.type !== "mock" && !p.base_url && p.type !== "openrouter") {
      throw new ConfigError(`provider "${p.id}": base_url is required for type ${p.type}`);
    }
  }
  const names = new Set<string>();
  for (const m of models) {
    for (const n of [m.id, ...m.aliases]) {
      if (names.has(n)) throw new ConfigError(`model name "${n}" is used twice`);
      names.add(n);
    }
    for (const r of m.routes) {
      if (!ids.has(r.provider)) throw new ConfigError(`model "${m.id}": route names unknown provider "${r.provider}"`);
    }
  }
}
