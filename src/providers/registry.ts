import { ConfigError } from "../core/config-error.js";
import { baseUrlProblem, type AddressPolicy } from "./base-url-guard.js";
import type { ProviderConfig } from "../config/gateway-config.js";
import { secrets } from "../core/secret-scrubber.js";
import type { ProviderTarget, ProviderTimeouts } from "./types.js";

/** Where a provider type lives when its config gives no base_url. */
const DEFAULT_BASE_URLS: Partial<Record<ProviderConfig["type"], string>> = {
  openrouter: "https://openrouter.ai/api/v1",
  anthropic: "https://api.anthropic.com",
  gemini: "https://generativelanguage.googleapis.com",
};

/** What a provider falls back to when its config leaves it out (mapped from Env in main/settings.ts). */
export interface ProviderSettings {
  addressPolicy: AddressPolicy;
  timeouts: ProviderTimeouts;
}

/** Provider config (file or env shortcut) → target. `mockBaseUrl` is where the built-in mock listens. */
export function toProviderTarget(p: ProviderConfig, settings: ProviderSettings, mockBaseUrl: string | null): ProviderTarget {
  let baseUrl = p.base_url ?? (p.type === "mock" ? mockBaseUrl ?? "" : DEFAULT_BASE_URLS[p.type] ?? "");
  if (p.type === "mock" && !p.base_url && !mockBaseUrl) throw new Error(`provider ${p.id}: mock upstream not started`);
  baseUrl = baseUrl.replace(/\/+$/, "");
  // The built-in mock (no base_url) is the gateway's own listener; everything else is checked.
  if (p.base_url || p.type !== "mock") {
    const problem = baseUrlProblem(baseUrl, settings.addressPolicy);
    if (problem) throw new ConfigError(`provider "${p.id}": base_url ${problem}`);
  }
  // The key and credential headers (x-api-key, …) are secrets: never in an error body or a log line.
  secrets.add(p.api_key);
  for (const [k, v] of Object.entries(p.headers ?? {})) if (/key|token|auth|secret|password/i.test(k)) secrets.add(v.replace(/^Bearer\s+/i, ""));
  return {
    id: p.id,
    type: p.type,
    baseUrl,
    apiKey: p.api_key,
    modelPrefix: p.model_prefix ?? "",
    headers: p.headers ?? {},
    enabled: p.enabled,
    ...(p.forward_unknown_fields !== undefined ? { forwardUnknownFields: p.forward_unknown_fields } : {}),
    ...(p.responses_api !== undefined ? { responsesApi: p.responses_api } : {}),
    timeouts: {
      connectMs: p.timeouts?.connect_ms ?? settings.timeouts.connectMs,
      firstByteMs: p.timeouts?.first_byte_ms ?? settings.timeouts.firstByteMs,
      idleMs: p.timeouts?.idle_ms ?? settings.timeouts.idleMs,
      totalMs: p.timeouts?.total_ms ?? settings.timeouts.totalMs,
    },
  };
}
