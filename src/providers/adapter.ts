import type { Endpoint, TokenUsage } from "../contracts/request.js";
import type { ProviderTarget, UpstreamRequest } from "./types.js";

export type InferenceEndpoint = Exclude<Endpoint, "passthrough">;

export interface BuildRequestInput {
  endpoint: InferenceEndpoint;
  /** The client's JSON body in OpenAI's shape (unknown fields kept). Not mutated. */
  body: Record<string, unknown>;
  upstreamModel: string;
  stream: boolean;
  /** Set max_tokens upstream (billing's cap when the client sent none). */
  maxTokens: number | null;
  /** Field name the client used for the output cap, so we override the same one. */
  maxTokensField: "max_tokens" | "max_completion_tokens";
  /** The model's own output limit (catalog), for upstreams that require a cap (Anthropic). */
  modelMaxOutput?: number | null;
}

/** One SSE event as it came from the upstream. */
export interface SseEvent {
  /** The `event:` field, when the upstream names its events (Anthropic does, OpenAI does not). */
  event: string | null;
  data: string;
}

/**
 * Turns one upstream stream into OpenAI chat-chunk `data:` payloads. Stateful (one per stream): a
 * wire format that spreads usage or ids over several events keeps them here.
 */
export interface StreamTranslator {
  /** Payloads to forward for this upstream event (none, one or several; `[DONE]` included). */
  event(e: SseEvent): string[];
  /** Payloads still owed when the upstream ends (e.g. a closing usage chunk and `[DONE]`). */
  end(): string[];
}

/** What the first event of a stream says before anything is committed to the client. */
export interface OpeningEvent {
  /** The upstream opened a 200 stream with an error event: treat it as this HTTP status. */
  errorStatus: number | null;
  /** The model the upstream says serves the request, when it names one. */
  model: string | null;
}

/**
 * Everything the gateway knows about one upstream wire format. Pure: no I/O, no Hono, no db.
 * The proxy speaks OpenAI's shape to clients; an adapter translates to and from the upstream's.
 */
export interface ProviderAdapter {
  /** Request for an inference endpoint (URL, headers with credentials, body). */
  buildRequest(target: ProviderTarget, input: BuildRequestInput): UpstreamRequest;
  /** A non-stream upstream body → OpenAI's response shape (the same object when already OpenAI's). */
  translateResponse(json: Record<string, unknown>, endpoint: InferenceEndpoint): Record<string, unknown>;
  /** null: the upstream already streams OpenAI chunks (forwarded byte for byte, the fast path). */
  streamTranslator(endpoint: InferenceEndpoint): StreamTranslator | null;
  /** Usage of an OpenAI-shaped response body or chunk (`usage` field value). */
  usage(u: unknown): TokenUsage | null;
  /** Reads the first data event of a stream (untranslated). */
  openingEvent(data: string): OpeningEvent;
  /** An upstream error answer → the status the fallback loop classifies (and the body it reads the message from). */
  mapError(status: number, body: string): { status: number; body: string };
  /** The model that served: some upstreams (OpenRouter) answer with another than planned. */
  servedModel(planned: string, reported: unknown): string;
  /** A pass-through JSON body: the route's model set, provider extras added. */
  passthroughBody(json: Record<string, unknown>, upstreamModel: string | null): Record<string, unknown>;
}
