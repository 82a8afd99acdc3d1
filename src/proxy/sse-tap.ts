import { secrets } from "../core/secret-scrubber.js";
import { StringDecoder } from "node:string_decoder";
import type { TokenUsage } from "../contracts/request.js";
import type { StreamTranslator } from "../providers/index.js";
import type { OutputMeter } from "./output-meter.js";

export interface SseTapOptions {
  /** Forward the usage-only chunk to the client (it asked with stream_options.include_usage). */
  clientWantsUsage: boolean;
  /** Called when the usage-only chunk is forwarded, to add fields (e.g. `cost`) to its `usage`. */
  decorateUsage?: (usage: TokenUsage, raw: Record<string, unknown>) => void;
  /** Reads `usage` out of a chunk (the provider adapter's). */
  parseUsage: (u: unknown) => TokenUsage | null;
  /** Counts the output against the hold; the tap stops forwarding when it says so. */
  meter: OutputMeter;
  /** Upstreams that do not speak OpenAI's SSE: their events become OpenAI chunks here. */
  translator?: StreamTranslator | null;
  /**
   * The local estimate when the upstream ends without usage: a client that asked for usage still
   * gets a usage chunk before [DONE] (marked `estimated`, priced like the bill will be).
   */
  estimateUsage?: () => TokenUsage;
}

/**
 * Reads an upstream SSE stream frame by frame as it passes through: finds the usage chunk, notices
 * the first content and [DONE], drops the usage chunk a client did not ask for, and meters the
 * output (for the estimate when the stream ends without usage, and against the hold).
 * Chunks that need no change are forwarded as the same Buffer (no copy).
 */
export class SseTap {
  usage: TokenUsage | null = null;
  sawDone = false;
  sawContent = false;
  /** The output reached what the hold covers: nothing more is forwarded. */
  stopped = false;
  private readonly decoder = new StringDecoder("utf8");
  private pending = "";
  /** id/created/model of the first chunk, for a usage chunk the gateway writes itself. */
  private identity: { id: unknown; created: unknown; model: unknown } | null = null;

  constructor(private readonly opts: SseTapOptions) {}

  /** Returns what to send to the client for this upstream chunk (possibly empty). */
  push(chunk: Buffer): Buffer | string {
    if (this.stopped) return "";
    const text = this.decoder.write(chunk);
    const startsClean = this.pending.length === 0;
    let buf = this.pending + text;
    let out = "";
    let changed = !startsClean || this.opts.translator != null;
    let idx: number;
    while ((idx = frameEnd(buf)) !== -1) {
      const sepLen = buf.startsWith("\r\n\r\n", idx) ? 4 : 2;
      const frame = buf.slice(0, idx);
      buf = buf.slice(idx + sepLen);
      const replaced = this.opts.translator ? this.translate(frame) : this.onFrame(frame);
      if (this.stopped) {
        this.pending = "";
        return out;
      }
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
    let out = "";
    if (rest.trim()) {
      const replaced = this.opts.translator ? this.translate(rest) : this.onFrame(rest);
      if (this.stopped) return "";
      out = replaced === null ? rest + "\n\n" : replaced === "" ? "" : replaced + "\n\n";
    }
    if (this.opts.translator) out += this.forward(this.opts.translator.end());
    return out;
  }

  /** The usage chunk owed to a client that asked for usage when the upstream sent none, else null. */
  private estimatedUsageFrame(): string | null {
    if (!this.opts.clientWantsUsage || this.usage !== null || this.stopped || !this.opts.estimateUsage) return null;
    const u = this.opts.estimateUsage();
    const raw: Record<string, unknown> = { prompt_tokens: u.promptTokens, completion_tokens: u.completionTokens, total_tokens: u.totalTokens };
    this.opts.decorateUsage?.(u, raw);
    raw.estimated = true;
    const id = this.identity;
    const chunk = {
      id: typeof id?.id === "string" ? id.id : "chatcmpl-gateway",
      object: "chat.completion.chunk",
      created: typeof id?.created === "number" ? id.created : Math.floor(Date.now() / 1000),
      model: typeof id?.model === "string" ? id.model : "",
      choices: [],
      usage: raw,
    };
    return `data: ${JSON.stringify(chunk)}`;
  }

  /** An upstream event in another wire format → the OpenAI frames it stands for. */
  private translate(frame: string): string {
    const data = dataOf(frame);
    if (data === null) return "";
    return this.forward(this.opts.translator!.event({ event: eventOf(frame), data }));
  }

  private forward(payloads: string[]): string {
    let out = "";
    for (const p of payloads) {
      const frame = `data: ${p}`;
      const replaced = this.onFrame(frame);
      if (this.stopped) break;
      if (replaced === null) out += (out ? "\n\n" : "") + frame;
      else if (replaced !== "") out += (out ? "\n\n" : "") + replaced;
    }
    return out;
  }

  /** null = forward unchanged; "" = drop; other = replacement frame text. */
  private onFrame(frame: string): string | null {
    const data = dataOf(frame);
    if (data === null) return null;
    if (data === "[DONE]") {
      this.sawDone = true;
      const usage = this.estimatedUsageFrame();
      return usage === null ? null : `${usage}\n\n${frame}`;
    }
    if (this.identity === null && this.opts.estimateUsage && this.opts.clientWantsUsage) this.identity = identityOf(data);
    if (data.includes('"usage"') && !data.includes('"usage":null')) {
      let j: Record<string, unknown>;
      try {
        j = JSON.parse(data) as Record<string, unknown>;
      } catch {
        return null;
      }
      const u = this.opts.parseUsage(j.usage);
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
    if (!this.opts.meter.add(data)) {
      this.stopped = true;
      return "";
    }
    if (!this.sawContent && (data.includes('"content":"') || data.includes('"text":"') || data.includes('"tool_calls"'))) this.sawContent = true;
    // An upstream's own mid-stream error event may echo a configured key: scrub it like an error body.
    if (data.includes('"error"') && secrets.size > 0) {
      const clean = secrets.scrub(frame);
      if (clean !== frame) return clean;
    }
    return null;
  }
}

/** One parse per stream (the first chunk), only when a usage chunk may have to be written. */
function identityOf(data: string): { id: unknown; created: unknown; model: unknown } {
  try {
    const j = JSON.parse(data) as Record<string, unknown>;
    return { id: j.id, created: j.created, model: j.model };
  } catch {
    return { id: undefined, created: undefined, model: undefined };
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
export function dataOf(frame: string): string | null {
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

function eventOf(frame: string): string | null {
  for (const line of frame.split(/\r?\n/)) if (line.startsWith("event:")) return line.slice(6).trim();
  return null;
}
