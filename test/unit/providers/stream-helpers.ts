import type { StreamTranslator } from "../../../src/providers/index.js";
import { parseUsage } from "../../../src/providers/index.js";
import { OutputMeter } from "../../../src/proxy/output-meter.js";
import { SseTap } from "../../../src/proxy/sse-tap.js";

/** Runs a recorded upstream transcript through the gateway's SSE tap with a translator; returns the OpenAI payloads and the tap. */
export function translateTranscript(sse: string, translator: StreamTranslator, clientWantsUsage = true) {
  const tap = new SseTap({ clientWantsUsage, parseUsage, meter: new OutputMeter(null), translator });
  let out = "";
  // Byte-sized pieces, as a network may cut them.
  const buf = Buffer.from(sse);
  for (let i = 0; i < buf.length; i += 37) out += tap.push(buf.subarray(i, i + 37));
  out += tap.flush();
  const payloads = out
    .split("\n\n")
    .filter(Boolean)
    .map((f) => {
      if (!f.startsWith("data: ")) throw new Error(`not a data frame: ${f}`);
      return f.slice(6);
    });
  const chunks = payloads.filter((p) => p !== "[DONE]").map((p) => JSON.parse(p) as Record<string, any>);
  const content = chunks.map((c) => c.choices?.[0]?.delta?.content ?? "").join("");
  const reasoning = chunks.map((c) => c.choices?.[0]?.delta?.reasoning ?? "").join("");
  const finish = chunks.map((c) => c.choices?.[0]?.finish_reason).filter(Boolean);
  return { payloads, chunks, content, reasoning, finish, tap };
}
