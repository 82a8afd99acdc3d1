import type { TokenUsage } from "../../contracts/request.js";
import { AppError } from "../../core/errors.js";
import type { SseTap } from "../sse-tap.js";
import { dataOf } from "../sse-tap.js";
import type { RelayTap } from "../stream-relay.js";
import type { ChatChunk, DialectStream } from "./dialect.js";

/**
 * The chat stream's tap (metering, usage, the hold's cut) with the client's dialect after it: the
 * chat frames the tap lets through are parsed once more and written as the dialect's events, and
 * the upstream's end becomes the dialect's closing events (with the reported usage, or the local
 * count of what was delivered when none came).
 */
export class DialectTap implements RelayTap {
  /** The upstream sent its own error event: the dialect's error went out, no closing events follow. */
  private failed = false;

  constructor(
    private readonly inner: SseTap,
    private readonly out: DialectStream,
    /** The usage to close with when the upstream reported none. */
    private readonly estimate: () => TokenUsage,
    private readonly requestId: string,
  ) {}

  get sawContent(): boolean {
    return this.inner.sawContent;
  }

  get stopped(): boolean {
    return this.inner.stopped;
  }

  push(chunk: Buffer): string {
    const chat = this.inner.push(chunk);
    return this.translate(typeof chat === "string" ? chat : chat.toString("utf8"));
  }

  flush(): string {
    const rest = this.translate(this.inner.flush());
    return this.failed ? rest : rest + this.out.end(this.inner.usage ?? this.estimate());
  }

  private translate(text: string): string {
    if (!text) return "";
    let out = "";
    for (const frame of text.split(/\r?\n\r?\n/)) {
      const data = dataOf(frame);
      if (data === null || data === "" || data === "[DONE]") continue;
      let c: ChatChunk & { error?: { message?: unknown } };
      try {
        c = JSON.parse(data) as typeof c;
      } catch {
        continue;
      }
      if (this.failed) continue;
      if (c.error && !Array.isArray(c.choices)) {
        this.failed = true;
        const message = typeof c.error.message === "string" ? c.error.message : "The upstream failed mid-stream";
        out += this.out.error(new AppError("upstream_error", message), this.requestId);
        continue;
      }
      out += this.out.chunk(c);
    }
    return out;
  }
}
