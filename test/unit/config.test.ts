import { providerSettings } from "../../src/main/settings.js";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { ConfigError, loadEnv } from "../../src/config/env.js";
import { loadGatewayConfig } from "../../src/config/gateway-config.js";
import { Catalog } from "../../src/catalog/index.js";
import { buildUpstreamRequest, toProviderTarget } from "../../src/providers/index.js";

const ISSUE_YAML = `
providers:
  - id: main                      # unique name
    type: openai                  # openrouter | openai | litellm | mock
    base_url: http://127.0.0.1:9001/v1
    api_key: \${UPSTREAM_API_KEY}  # \${VAR} is taken from the environment
    model_prefix: ""              # e.g. "openrouter/" in front of a LiteLLM proxy
models:
  - id: openai/gpt-4o-mini        # what clients send
    aliases: [gpt-4o-mini]
    routes:
      - { provider: main, model: gpt-4o-mini, priority: 1, weight: 1 }
    price: { input: 0.15, output: 0.60 }   # upstream cost, USD per 1M tokens
`;

function writeTmp(name: string, text: string): string {
  const p = join(mkdtempSync(join(tmpdir(), "gw-cfg-")), name);
  writeFileSync(p, text);
  return p;
}

test("the documented YAML config works as written, with ${VAR} from the environment", () => {
  const path = writeTmp("gateway.yaml", ISSUE_YAML);
  const vars = { GATEWAY_CONFIG: path, UPSTREAM_API_KEY: "sk-up-123" };
  const env = loadEnv(vars);
  const cfg = loadGatewayConfig(env, vars);
  assert.equal(cfg.demo, false);
  assert.equal(cfg.providers[0]!.api_key, "sk-up-123");
  const catalog = new Catalog(cfg.models, ["main"]);
  const byAlias = catalog.resolve("gpt-4o-mini")!;
  assert.equal(byAlias.id, "openai/gpt-4o-mini");
  assert.equal(byAlias.routes[0]!.upstreamModel, "gpt-4o-mini");
  assert.equal(byAlias.routes[0]!.price!.inputMicrosPerM, 150_000n);
  assert.equal(byAlias.routes[0]!.price!.outputMicrosPerM, 600_000n);
  const unknown = catalog.resolve("anthropic/claude-3.5-sonnet")!;
  assert.equal(unknown.passthrough, true);
  assert.equal(unknown.routes[0]!.providerId, "main");
  assert.equal(unknown.routes[0]!.upstreamModel, "anthropic/claude-3.5-sonnet");
});

test("JSON config files are accepted too", () => {
  const path = writeTmp("gateway.json", JSON.stringify({ providers: [{ id: "x", type: "mock" }], models: [{ id: "m/1" }] }));
  const cfg = loadGatewayConfig(loadEnv({ GATEWAY_CONFIG: path }), {});
  assert.equal(cfg.providers[0]!.id, "x");
  assert.equal(cfg.models[0]!.id, "m/1");
});

test("a missing ${VAR}, an unknown provider in a route and a bad type are start-up errors naming the problem", () => {
  const p1 = writeTmp("a.yaml", ISSUE_YAML);
  assert.throws(() => loadGatewayConfig(loadEnv({ GATEWAY_CONFIG: p1 }), {}), (e: unknown) => e instanceof ConfigError && /UPSTREAM_API_KEY/.test(e.message));
  const p2 = writeTmp("b.yaml", "providers: [{id: a, type: openai, base_url: 'http://x/v1'}]\nmodels: [{id: m, routes: [{provider: nope}]}]\n");
  assert.throws(() => loadGatewayConfig(loadEnv({ GATEWAY_CONFIG: p2 }), {}), (e: unknown) => e instanceof ConfigError && /nope/.test(e.message));
  const p3 = writeTmp("c.yaml", "providers: [{id: a, type: bedrock}]\n");
  assert.throws(() => loadGatewayConfig(loadEnv({ GATEWAY_CONFIG: p3 }), {}), (e: unknown) => e instanceof ConfigError && /providers\.0\.type/.test(e.message));
});

test("a bad environment value stops start-up with a message naming every bad setting", () => {
  assert.throws(
    () => loadEnv({ PORT: "not-a-port", DATABASE_URL: "mysql://x", ENCRYPTION_KEY: "short" }),
    (e: unknown) => e instanceof ConfigError && /PORT/.test(e.message) && /DATABASE_URL/.test(e.message) && /ENCRYPTION_KEY/.test(e.message),
  );
});

test("shortest configs: OPENROUTER_API_KEY alone, or UPSTREAM_BASE_URL + UPSTREAM_API_KEY; nothing → demo mode", () => {
  const or = loadGatewayConfig(loadEnv({ OPENROUTER_API_KEY: "sk-or-1" }), {});
  assert.equal(or.demo, false);
  assert.equal(or.providers[0]!.type, "openrouter");
  const target = toProviderTarget(or.providers[0]!, providerSettings(loadEnv({})), null);
  assert.equal(target.baseUrl, "https://openrouter.ai/api/v1");
  const up = loadGatewayConfig(loadEnv({ UPSTREAM_BASE_URL: "http://127.0.0.1:9/v1", UPSTREAM_API_KEY: "k" }), {});
  assert.equal(up.providers[0]!.base_url, "http://127.0.0.1:9/v1");
  const demo = loadGatewayConfig(loadEnv({}), {});
  assert.equal(demo.demo, true);
  assert.equal(demo.providers[0]!.type, "mock");
  assert.ok(demo.models.every((m) => m.price && (m.price.input > 0 || m.price.output > 0)), "mock models carry a price");
});

test("LiteLLM model_prefix rewrites the model name; OpenRouter is asked for usage accounting; streams always ask for usage", () => {
  const env = loadEnv({});
  const litellm = toProviderTarget({ id: "l", type: "litellm", base_url: "http://127.0.0.1:4000", model_prefix: "openrouter/", enabled: true }, providerSettings(env), null);
  const cat = new Catalog([], ["l"]);
  const route = cat.resolve("openai/gpt-4o")!.routes[0]!;
  const req = buildUpstreamRequest(litellm, { path: "/chat/completions", body: { model: "openai/gpt-4o", messages: [], stream: true }, upstreamModel: litellm.modelPrefix + route.upstreamModel, stream: true, maxTokens: null, maxTokensField: "max_tokens" });
  const body = JSON.parse(req.body!) as Record<string, unknown>;
  assert.equal(body.model, "openrouter/openai/gpt-4o");
  assert.deepEqual(body.stream_options, { include_usage: true });
  assert.equal(req.url, "http://127.0.0.1:4000/chat/completions");
  const orT = toProviderTarget({ id: "o", type: "openrouter", api_key: "sk-or", model_prefix: "", enabled: true }, providerSettings(env), null);
  const orReq = buildUpstreamRequest(orT, { path: "/chat/completions", body: { model: "x", messages: [] }, upstreamModel: "x", stream: false, maxTokens: 100, maxTokensField: "max_tokens" });
  const ob = JSON.parse(orReq.body!) as Record<string, unknown>;
  assert.deepEqual(ob.usage, { include: true });
  assert.equal(ob.max_tokens, 100);
  assert.equal(orReq.headers.authorization, "Bearer sk-or");
});
