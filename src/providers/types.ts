/** An upstream as the proxy needs it: where to send, with which credentials. Never logged whole. */
export interface ProviderTarget {
  id: string;
  type: "openrouter" | "openai" | "litellm" | "mock" | "anthropic" | "gemini";
  baseUrl: string;
  apiKey: string | undefined;
  modelPrefix: string;
  headers: Record<string, string>;
  timeouts: ProviderTimeouts;
  enabled: boolean;
  /** Send request fields the type's field table does not name (providers/request-fields.ts); unset: `defaultForwardUnknown`. */
  forwardUnknownFields?: boolean;
  /** OpenAI Responses requests: sent to the upstream's own `/responses`, or translated to chat; unset: `responsesNative`'s default. */
  responsesApi?: "native" | "translate";
}

export interface ProviderTimeouts {
  connectMs: number;
  firstByteMs: number;
  idleMs: number;
  totalMs: number;
}

/** What the proxy sends upstream for one attempt. */
export interface UpstreamRequest {
  url: string;
  method: "POST" | "GET";
  headers: Record<string, string>;
  body: string | undefined;
}
