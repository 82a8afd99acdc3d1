import { StringDecoder } from "node:string_decoder";
import { countTokens } from "./o200k-count.js";

/**
 * Counts the output tokens in the SSE bytes about to be sent to a client, frame by frame, for
 * stream progress (src/billing/stream-progress.ts). Each delta is counted on its own, which is at
 * least the count of the joined text (BPE merges only across a boundary, never splits more), so
 * the running total never under-states what was delivered.
 */
export class DeliveredTokens {
  total = 0;
  private readonly decoder = new StringDecoder("utf8");
  private rest = "";

  /** Adds what `chunk` carries; returns the running total. */
  add(chunk: Buffer | string): number {
    let buf = (this.rest + (typeof chunk === "string" ? chunk : this.decoder.write(chunk))).replace(/\r\n/g, "\n");
    let i: number;
    while ((i = buf.indexOf("\n\n")) !== -1) {
      this.frame(buf.slice(0, i));
      buf = buf.slice(i + 2);
    }
    this.rest = buf;
    return this.total;
  }

  private frame(frame: string): void {
    for (const line of frame.split("\n")) {
      if (!line.startsWith("data:")) continue;
      const data = line.slice(5).trim();
      if (!data.startsWith("{") || !data.includes('"choices"')) continue;
      try {
        const j = JSON.parse(data) as { choices?: Array<{ delta?: { content?: unknown; reasoning?: unknown; reasoning_content?: unknown; tool_calls?: unknown }; text?: unknown }> };
        for (const c of j.choices ?? []) {
          const d = c.delta;
          if (typeof d?.content === "string") this.total += countTokens(d.content);
          if (typeof d?.reasoning === "string") this.total += countTokens(d.reasoning);
          if (typeof d?.reasoning_content === "string") this.total += countTokens(d.reasoning_content);
          if (d?.tool_calls) this.total += countTokens(JSON.stringify(d.tool_calls));
          if (typeof c.text === "string") this.total += countTokens(c.text);
        }
      } catch {
        /* a broken frame carries no countable output */
      }
    }
  }
}
