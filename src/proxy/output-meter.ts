import { countTokens } from "./tokenizer.js";

const MAX_PENDING_BYTES = 8 * 1024 * 1024;

/**
 * Counts a stream's output as it passes, against the output tokens its hold covers. Cheap on the
 * common path: every token is at least one UTF-8 byte, so while counted tokens + the bytes of the
 * frames not yet counted stay under the limit nothing is tokenized. Near the limit the pending
 * frames are tokenized once (each frame at most once, never the whole output again).
 */
export class OutputMeter {
  private pending: string[] = [];
  private pendingBytes = 0;
  private counted = 0;
  private stopped = false;
  /** Eager mode: the text of every frame let through, for one exact count at the end. */
  private texts: string[] = [];
  private textBytes = 0;
  /** Exact tokens of text already folded out of `texts` (bounds memory on an endless stream). */
  private folded = 0;
  /** Tokens over the limit tolerated before the cut: the upstream's tokenizer is not ours. */
  private readonly limit: number | null;

  constructor(
    covered: number | null,
    /** The generated text of one payload (chat chunks by default). */
    private readonly textOf: (data: string) => string = outputText,
    /**
     * Count every frame as it passes (stream progress needs a running count before each send).
     * Each frame on its own counts at least as many tokens as the joined text, so the running
     * total never under-states what was delivered.
     */
    private readonly eager = false,
  ) {
    this.limit = covered === null ? null : covered + Math.max(8, Math.ceil(covered / 20));
  }

  get reachedLimit(): boolean {
    return this.stopped;
  }

  /**
   * One OpenAI chunk payload (JSON text). Returns false when forwarding it would take the output
   * past what the hold covers: it is not counted, and the stream must end.
   */
  add(data: string): boolean {
    if (this.stopped) return false;
    if (this.eager) {
      const text = this.textOf(data);
      const own = countTokens(text);
      if (this.limit !== null && this.counted + own > this.limit) {
        this.stopped = true;
        return false;
      }
      this.counted += own;
      this.texts.push(text);
      this.textBytes += text.length;
      if (this.textBytes > MAX_PENDING_BYTES) {
        this.folded += countTokens(this.texts.join(""));
        this.texts = [];
        this.textBytes = 0;
      }
      return true;
    }
    const bytes = Buffer.byteLength(data);
    if (this.limit === null || this.counted + this.pendingBytes + bytes <= this.limit) {
      this.pending.push(data);
      this.pendingBytes += bytes;
      // Bounds memory on an endless unmetered stream; counting in batches changes little.
      if (this.pendingBytes > MAX_PENDING_BYTES) this.countPending();
      return true;
    }
    this.countPending();
    const own = countTokens(this.textOf(data));
    if (this.counted + own > this.limit) {
      this.stopped = true;
      return false;
    }
    this.counted += own;
    return true;
  }

  /** Output tokens delivered so far (tokenizes what is still pending, once). */
  tokens(): number {
    this.countPending();
    return this.counted;
  }

  /**
   * What the client was delivered, counted over the joined text once: the figure a request is billed
   * for when the upstream reports none. The running count of eager mode is an upper bound (a BPE
   * merge across a frame boundary is counted twice), right for progress and the cut, too high for a bill.
   */
  deliveredTokens(): number {
    if (!this.eager) return this.tokens();
    return Math.min(this.counted, this.folded + countTokens(this.texts.join("")));
  }

  /**
   * What was delivered, for checking an upstream's report whose completion count (as the bill would
   * clamp it) is `ceiling`: the running count is an upper bound of the joined count, so while it is
   * at or under the ceiling neither figure can raise the report and the output is not tokenized a
   * second time. Null ceiling (no report): the joined count.
   */
  deliveredFor(ceiling: number | null): number {
    if (ceiling !== null && this.eager && this.counted <= ceiling) return this.counted;
    return this.deliveredTokens();
  }

  private countPending(): void {
    if (this.pending.length === 0) return;
    let text = "";
    for (const d of this.pending) text += this.textOf(d);
    this.counted += countTokens(text);
    this.pending = [];
    this.pendingBytes = 0;
  }
}

/** The generated text of one chat or completions chunk: content, reasoning, tool-call arguments, over every choice. */
export function outputText(data: string): string {
  let s = "";
  try {
    const j = JSON.parse(data) as {
      choices?: Array<{ delta?: { content?: unknown; reasoning?: unknown; reasoning_content?: unknown; tool_calls?: unknown }; text?: unknown }>;
    };
    for (const c of j.choices ?? []) {
      if (typeof c.delta?.content === "string") s += c.delta.content;
      if (typeof c.delta?.reasoning === "string") s += c.delta.reasoning;
      if (typeof c.delta?.reasoning_content === "string") s += c.delta.reasoning_content;
      if (c.delta?.tool_calls) s += JSON.stringify(c.delta.tool_calls);
      if (typeof c.text === "string") s += c.text;
    }
  } catch {
    /* a broken frame contributes nothing */
  }
  return s;
}
