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
