import { StringDecoder } from "node:string_decoder";
import { parseUsage } from "./usage.js";
import type { TokenUsage } from "./types.js";

const MAX_KEPT_BYTES = 8 * 1024 * 1024;

export interface SseTapOptions {
  /** Forward the usage-only chunk to the client (it asked with stream_options.include_usage). */
  clientWantsUsage: boolean;
  /** Called when the usage-only chunk is forwarded, to add fields (e.g. `cost`) to its `usage`. */
  decorateUsage?: (usage: TokenUsage, raw: Record<string, unknown>) => void;
}

/**
 * Reads an upstream SSE stream frame by frame as it passes through: finds the usage chunk, notices
 * the first content and [DONE], drops the usage chunk a client did not ask for, and keeps the raw
 * data frames so output can be counted locally if the stream ends without usage.
 * Chunks that need no change are forwarded as the same Buffer (no copy).
 */
export class SseTap {
  usage: TokenUsage | null = null;
  sawDone = false;
  sawContent = false;
  upstreamError: unknown = null;
  private readonly decoder = new StringDecoder("utf8");
  private pending = "";
  private readonly kept: string[] = [];
  private keptBytes = 0;

  constructor(private readonly opts: SseTapOptions) {}

  /** Returns what to send to the client for this upstream chunk (possibly empty). */
  push(chunk: Buffer): Buffer | string {
    const text = this.decoder.write(chunk);
    const startsClean = this.pending.length === 0;
    let buf = this.pending + text;
    let out = "";
    let changed = !startsClean;
    let idx: number;
    while ((idx = frameEnd(buf)) !== -1) {
      const sepLen = buf.startsWith("\r\n\r\n", idx) ? 4 : 2;
      const frame = buf.slice(0, idx);
      buf = buf.slice(idx + sepLen);
      const replaced = this.onFrame(frame);
      if (replaced === null) out += frame + "\n\n";
      else {
        changed = true;
        if (replaced !== "") out += replaced + "\n\n";
      }
    }
    this.pending = buf;
    if (buf.length > 0) changed = true;
    if (!changed && out.length === text.length) return chunk;
    return out;
  }

  /** Whatever is left when the upstream ends (an unterminated last frame is still forwarded). */
  flush(): string {
    const rest = this.pending + this.decoder.end();
    this.pending = "";
    if (!rest.trim()) return "";
    const replaced = this.onFrame(rest);
    if (replaced === null) return rest + "\n\n";
    return replaced === "" ? "" : replaced + "\n\n";
  }

  /** Concatenated generated text of the frames seen so far (for local counting). */
  producedText(): string {
    let s = "";
    for (const data of this.kept) {
      try {
        const j = JSON.parse(data) as { choices?: Array<{ delta?: { content?: unknown; reasoning?: unknown; tool_calls?: unknown }; text?: unknown }> };
        for (const c of j.choices ?? []) {
          if (typeof c.delta?.content === "string") s += c.delta.content;
          if (typeof c.delta?.reasoning === "string") s += c.delta.reasoning;
          if (c.delta?.tool_calls) s += JSON.stringify(c.delta.tool_calls);
          if (typeof c.text === "string") s += c.text;
        }
      } catch {
        /* a broken frame contributes nothing */
      }
    }
    return s;
  }

  /** null = forward unchanged; "" = drop; other = replacement frame text. */
  private onFrame(frame: string): string | null {
    const data = dataOf(frame);
    if (data === null) return null;
    if (data === "[DONE]") {
      this.sawDone = true;
      return null;
    }
    if (data.includes('"usage"') && !data.includes('"usage":null')) {
      let j: Record<string, unknown>;
      try {
        j = JSON.parse(data) as Record<string, unknown>;
      } catch {
        return null;
      }
      const u = parseUsage(j.usage);
      if (u) {
        this.usage = u;
        const choices = j.choices;
        const usageOnly = !Array.isArray(choices) || choices.length === 0;
        if (usageOnly) {
          if (!this.opts.clientWantsUsage) return "";
          if (this.opts.decorateUsage) {
            this.opts.decorateUsage(u, j.usage as Record<string, unknown>);
            return `data: ${JSON.stringify(j)}`;
          }
          return null;
        }
      }
    }
    if (data.includes('"error"') && data.startsWith("{")) {
      try {
        const j = JSON.parse(data) as Record<string, unknown>;
        if (j.error) this.upstreamError = j.error;
      } catch {
        /* not JSON: pass through */
      }
    }
    if (!this.sawContent && (data.includes('"content":"') || data.includes('"text":"') || data.includes('"tool_calls"'))) this.sawContent = true;
    if (this.keptBytes < MAX_KEPT_BYTES) {
      this.kept.push(data);
      this.keptBytes += data.length;
    }
    return null;
  }
}

function frameEnd(buf: string): number {
  const a = buf.indexOf("\n\n");
  const b = buf.indexOf("\r\n\r\n");
  if (a === -1) return b;
  if (b === -1) return a;
  return Math.min(a, b);
}

/** The `data:` payload of one SSE frame (multi-line data joined), or null for comments/other fields. */
function dataOf(frame: string): string | null {
  if (frame.startsWith("data: ") && frame.indexOf("\n") === -1) return frame.slice(6).trim();
  let data: string | null = null;
  for (const line of frame.split(/\r?\n/)) {
    if (line.startsWith("data:")) {
      const v = line.slice(5).replace(/^ /, "");
      data = data === null ? v : data + "\n" + v;
    }
  }
  return data === null ? null : data.trim();
}
