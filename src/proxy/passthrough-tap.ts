import { StringDecoder } from "node:string_decoder";
import type { TokenUsage } from "../contracts/request.js";
import { usageOf } from "../providers/index.js";
import { OutputMeter, outputText } from "./output-meter.js";
import type { RelayTap } from "./stream-relay.js";
import { dataOf } from "./sse-tap.js";

/** Usage of a pass-through JSON answer: top level, or the responses API's `response.usage`. */
export function usageOfJson(buf: Buffer | string): TokenUsage | null {
  try {
    const j = JSON.parse(typeof buf === "string" ? buf : buf.toString("utf8")) as { usage?: unknown; response?: { usage?: unknown } };
    return usageOf(j.usage) ?? usageOf(j.response?.usage);
  } catch {
    return null;
  }
}

/**
 * Reads a pass-through SSE stream (e.g. the responses API) without changing a byte: keeps the last
 * `usage` seen (`response.completed`) and meters the text deltas, so a stream that ends without
 * usage is billed from what was delivered, and one that outgrows its hold is ended.
 */
export class PassthroughTap implements RelayTap {
  usage: TokenUsage | null = null;
  sawContent = false;
  stopped = false;
  /** The highest `sequence_number` seen (responses events), so an event the gateway adds continues the count. */
  lastSequence = -1;
  readonly meter: OutputMeter;
  private pending = "";
  private readonly decoder = new StringDecoder("utf8");

  constructor(coveredOutput: number | null) {
    this.meter = new OutputMeter(coveredOutput, deltaText);
  }

  push(chunk: Buffer): Buffer | string {
    if (this.stopped) return "";
    // What came before this chunk (an unfinished frame) has been forwarded already.
    const sent = this.pending.length;
    const buf = this.pending + this.decoder.write(chunk);
    let at = 0;
    let i: number;
    while ((i = buf.indexOf("\n\n", at)) !== -1) {
      const frame = buf.slice(at, i);
      if (!this.onFrame(frame)) {
        // Bytes are forwarded as they came: the frames of this chunk before the one that went
        // over still go out (they are counted and billed), nothing from that frame on.
        this.stopped = true;
        this.pending = "";
        return at > sent ? buf.slice(sent, at) : "";
      }
      at = i + 2;
    }
    this.pending = buf.slice(at);
    // A frame never needs more than this much look-back; bound the buffer against a hostile upstream.
    if (this.pending.length > 1_000_000) this.pending = this.pending.slice(-1_000_000);
    return chunk;
  }

  flush(): string {
    const rest = this.pending + this.decoder.end();
    this.pending = "";
    if (rest.trim()) this.onFrame(rest);
    return "";
  }

  /** false = the frame would take the output past the hold. */
  private onFrame(frame: string): boolean {
    const data = dataOf(frame);
    if (data === null || data === "[DONE]") return true;
    if (data.includes('"usage"')) {
      const u = usageOfJson(data);
      if (u) this.usage = u;
    }
    const delta = data.includes('"delta"');
    if (delta || data.includes('"text"')) {
      // A responses envelope (`response.created` names its `text` format) is not output yet.
      if (delta || !data.includes('"type":"response.')) this.sawContent = true;
      if (!this.meter.add(data)) return false;
    }
    // Only an event that goes out counts for the numbering of the one the gateway may add.
    const seq = SEQUENCE.exec(data);
    if (seq) this.lastSequence = Math.max(this.lastSequence, Number(seq[1]));
    return true;
  }
}

/** A responses event's own number (text inside the event has its quotes escaped, so never matches). */
const SEQUENCE = /"sequence_number":\s*(\d+)/;

/** A responses-API delta event carries its text in `delta`; anything else is read as a chat chunk. */
function deltaText(data: string): string {
  try {
    const j = JSON.parse(data) as { delta?: unknown };
    if (typeof j.delta === "string") return j.delta;
  } catch {
    return "";
  }
  return outputText(data);
}
