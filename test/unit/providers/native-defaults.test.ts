import assert from "node:assert/strict";
import { test } from "node:test";
import { ProviderConfigSchema } from "../../../src/config/gateway-config.js";
import { DEFAULT_ADDRESS_POLICY, toProviderTarget } from "../../../src/providers/index.js";

const settings = { addressPolicy: DEFAULT_ADDRESS_POLICY, timeouts: { connectMs: 1, firstByteMs: 1, idleMs: 1, totalMs: 1 } };

test("anthropic and gemini providers default to the vendors' API hosts; a base_url overrides them", () => {
  const a = toProviderTarget(ProviderConfigSchema.parse({ id: "claude", type: "anthropic", api_key: "k" }), settings, null);
  assert.equal(a.baseUrl, "https://api.anthropic.com");
  const g = toProviderTarget(ProviderConfigSchema.parse({ id: "google", type: "gemini", api_key: "k" }), settings, null);
  assert.equal(g.baseUrl, "https://generativelanguage.googleapis.com");
  const own = toProviderTarget(ProviderConfigSchema.parse({ id: "c2", type: "anthropic", base_url: "https://claude-proxy.example/" }), settings, null);
  assert.equal(own.baseUrl, "https://claude-proxy.example");
});
