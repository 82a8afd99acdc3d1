import { promptTokens } from "./prompt-count.js";
import { promptTokenUpperBound } from "./tokenizer.js";

/**
 * What a stream reports while it runs (implemented by src/billing/stream-progress.ts): the
 * completion tokens about to be delivered are recorded on the hold first, so a crash bills at
 * least what was delivered.
 */
export interface StreamProgressHooks {
  start(requestId: string, s: { promptTokens: number; maxTokens?: number | null }): Promise<void>;
  /** Before sending output that brings the stream's total to `completionTokens`; await a returned promise. */
  report(requestId: string, completionTokens: number): Promise<void> | undefined;
  end(requestId: string): void;
  /** The exact prompt count, when the stream started from the byte upper bound (a big prompt). */
  refinePrompt(requestId: string, promptTokens: number): void;
}

/** A stream open this long has its prompt counted exactly for the crash-safe bill. */
const PROMPT_REFINE_AFTER_MS = 2000;

/**
 * Starts a stream's progress on its hold and returns what stops it. Progress is recorded on the hold
 * before output goes out, so a crash bills at least what was delivered. The prompt starts from its
 * byte upper bound (what the hold covers); a stream still open after a few seconds gets the exact
 * count (off the event loop), so most streams, which end with the upstream's usage, are never
 * tokenized: never under-billed after a crash, never above the hold.
 */
export function trackStreamProgress(progress: StreamProgressHooks | undefined, requestId: string, body: Record<string, unknown>, maxTokens: number | null): () => void {
  if (!progress) return () => undefined;
  void progress.start(requestId, { promptTokens: promptTokenUpperBound(body), maxTokens }).catch(() => undefined);
  const refine = setTimeout(() => void promptTokens(body).then((n) => progress.refinePrompt(requestId, n)), PROMPT_REFINE_AFTER_MS);
  refine.unref();
  return () => {
    clearTimeout(refine);
    progress.end(requestId);
  };
}
