import { textTokens } from "./prompt-count.js";
import { countTokens } from "./o200k-count.js";
import { SUSPICIOUS_BYTES_PER_TOKEN } from "./usage-check.js";

/** Text kept per stream for the exact count at the end; beyond it a frame counts by its bytes. */
const KEEP_MAX_BYTES = 1024 * 1024;
/**
 * Uncounted bytes the figure reported to stream progress may carry: above it the text since the
 * last count is tokenized (one call per this much output, not per frame). Bytes run 3-4 times the
 * tokens, so a bound left to grow by bytes alone made progress write to the hold that much more often.
 */
const PROGRESS_SLACK_BYTES = 16;
/** Kept text counted in place for the client's estimated usage chunk (≈ 0.06–0.3 ms per 1,000 characters), at most. */
const INLINE_EXACT_BYTES = 16 * 1024;

/**
 * Counts a stream's output as it passes, against the output tokens its hold covers, at a bounded
 * cost: nothing is tokenized per frame. Every token is at least one UTF-8 byte, so the running
 * figure is the exact count of what was tokenized plus the bytes of the generated text since: an
 * upper bound, right for the hold's cut and for stream progress. Only when that bound would pass
 * the limit is the text since the last count tokenized (each frame at most once, at most what the
 * hold covers), and the exact figure for a bill is taken once at the end, over the joined text, off
 * the event loop (prompt-count.ts) and only when the upstream's report cannot settle it.
 */
export class OutputMeter {
  /** Generated text of the frames let through, for the exact count at the end (bounded). */
  private kept: string[] = [];
  private keptBytes = 0;
  /** Bytes of all generated text let through. */
  private textBytes = 0;
  /** Bytes of text not kept (past KEEP_MAX_BYTES): counted as one token per byte. */
  private unkept = 0;
  /** Index in `kept` of the first text not yet in `counted`. */
  private pendingFrom = 0;
  private pendingBytes = 0;
  /** Upper bound of the tokens of the texts before `pendingFrom` (exact counts of pieces, bytes of unkept text). */
  private counted = 0;
  private stopped = false;
  /** Tokens over the limit tolerated before the cut: the upstream's tokenizer is not ours. */
  private readonly limit: number | null;

  constructor(
    covered: number | null,
    /** The generated text of one payload (chat chunks by default). */
    private readonly textOf: (data: string) => string = outputText,
  ) {
    this.limit = covered === null ? null : covered + Math.max(8, Math.ceil(covered / 20));
  }

  get reachedLimit(): boolean {
    return this.stopped;
  }

  /**
   * One chunk payload (JSON text). Returns false when forwarding it would take the output past what
   * the hold covers: it is not counted, and the stream must end.
   */
  add(data: string): boolean {
    if (this.stopped) return false;
    const text = this.textOf(data);
    if (text === "") return true;
    const bytes = Buffer.byteLength(text);
    if (this.limit !== null && this.counted + this.pendingBytes + bytes > this.limit) {
      // Near the limit: the bound is too coarse to decide; count what it holds, then this frame.
      this.countPending();
      if (this.counted + bytes > this.limit) {
        const own = countTokens(text);
        if (this.counted + own > this.limit) {
          this.stopped = true;
          return false;
        }
        this.keep(text, bytes, own);
        return true;
      }
    }
    this.keep(text, bytes, null);
    return true;
  }

  /**
   * Output tokens delivered so far, at most (for stream progress): the running bound, with the text
   * since the last count tokenized once it carries more than PROGRESS_SLACK_BYTES.
   */
  tokens(): number {
    if (this.pendingBytes > PROGRESS_SLACK_BYTES) this.countPending();
    return this.bound();
  }

  /** The running bound as it stands (nothing tokenized). */
  bound(): number {
    return this.counted + this.pendingBytes;
  }

  /**
   * What was delivered, counted now over the joined text when that is short (a stream's estimated
   * usage chunk, written before [DONE]); a longer output gives the running bound.
   */
  deliveredTokens(): number {
    if (this.keptBytes > INLINE_EXACT_BYTES) return this.bound();
    return Math.min(this.bound(), countTokens(this.kept.join("")) + this.unkept);
  }

  /**
   * What was delivered, for checking an upstream's report whose completion count (as the bill would
   * clamp it) is `ceiling`: while the running bound is at or under it neither figure can raise the
   * report, and nothing is tokenized; a report of at least one token per 8 bytes of output is taken
   * as it is, like a JSON answer's (usage-check.ts). Otherwise (and with no report: null) the joined
   * text is counted once, off the event loop when it is long — never below what was delivered,
   * never above the bound.
   */
  deliveredFor(ceiling: number | null): number | Promise<number> {
    const bound = this.bound();
    if (ceiling !== null && (bound <= ceiling || this.textBytes <= ceiling * SUSPICIOUS_BYTES_PER_TOKEN)) return Math.min(bound, ceiling);
    if (this.keptBytes === 0) return bound;
    const unkept = this.unkept;
    return textTokens(this.kept.join("")).then((n) => Math.min(bound, n + unkept));
  }

  private keep(text: string, bytes: number, own: number | null): void {
    this.textBytes += bytes;
    if (this.keptBytes + bytes > KEEP_MAX_BYTES) {
      // Not kept: from here its bytes (or its own count) stand for it, in the final figure too.
      const n = own ?? bytes;
      this.counted += n;
      this.unkept += n;
      return;
    }
    this.kept.push(text);
    this.keptBytes += bytes;
    if (own === null) this.pendingBytes += bytes;
    else {
      this.counted += own;
      this.pendingFrom = this.kept.length;
    }
  }

  private countPending(): void {
    if (this.pendingFrom >= this.kept.length) return;
    const text = this.pendingFrom === 0 ? this.kept.join("") : this.kept.slice(this.pendingFrom).join("");
    this.counted += countTokens(text);
    this.pendingFrom = this.kept.length;
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
