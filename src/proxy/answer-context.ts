import type { ResolvedModel, ServedBy } from "../contracts/request.js";
import { adapterFor } from "../providers/index.js";
import type { UpstreamAttempt } from "../routing/attempt.js";
import type { MeteredRequest } from "./metered-request.js";
import type { ProxyRequest, ResolvedDeps } from "./proxy-deps.js";

// What the answer writers (respond-json, respond-stream) need of the inference run that calls them;
// an interface here so they don't import the run that imports them.

export interface RunOptions {
  stream: boolean;
  maxField: "max_tokens" | "max_completion_tokens";
  cacheKey: string | null;
  /** The prompt's byte upper bound (what the hold and rate limit counted). */
  promptTokens: number;
}

export interface AnswerContext {
  readonly d: ResolvedDeps;
  readonly req: ProxyRequest;
  readonly model: ResolvedModel;
  readonly metered: MeteredRequest;
  readonly opts: RunOptions;
  /** The response headers for an answer served by `served`. */
  headers(served: ServedBy, contentType: string): Record<string, string>;
}

/** The model that served, as the upstream's adapter reads it from the answer. */
export function servedAs(attempt: UpstreamAttempt, reported: unknown): ServedBy {
  const model = adapterFor(attempt.target).servedModel(attempt.served.upstreamModel, reported);
  return model === attempt.served.upstreamModel ? attempt.served : { ...attempt.served, upstreamModel: model };
}
