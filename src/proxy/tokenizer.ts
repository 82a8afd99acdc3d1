import { countTokens } from "./o200k-count.js";

/** Per-message framing tokens, as OpenAI documents for chat formats (≈3 per message + 3 for the reply). */
const PER_MESSAGE = 3;

function contentText(content: unknown): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) {
    let s = "";
    for (const part of content) {
      if (part && typeof part === "object" && typeof (part as { text?: unknown }).text === "string") s += (part as { text: string }).text;
    }
    return s;
  }
  return "";
}

/**
 * A prompt as the texts to tokenize plus the tokens that need no tokenizing (message framing, token
 * arrays): its count is `fixed` + the tokens of every text, counted one by one.
 */
export function promptParts(body: Record<string, unknown>): { fixed: number; texts: string[] } {
  const texts: string[] = [];
  if (Array.isArray(body.messages)) {
    let fixed = 3;
    for (const m of body.messages as Array<Record<string, unknown>>) {
      fixed += PER_MESSAGE;
      const text = contentText(m?.content);
      if (text) texts.push(text);
      if (typeof m?.name === "string") fixed += 1;
      if (m?.tool_calls) texts.push(JSON.stringify(m.tool_calls));
    }
    if (body.tools) texts.push(JSON.stringify(body.tools));
    return { fixed, texts };
  }
  const p = body.prompt ?? body.input;
  let fixed = 0;
  if (typeof p === "string") texts.push(p);
  else if (Array.isArray(p)) {
    for (const x of p) {
      if (typeof x === "string") texts.push(x);
      else if (Array.isArray(x)) fixed += x.length;
    }
  }
  return { fixed, texts };
}

/** Local count of a chat/completions/embeddings prompt, for holds and for estimates when upstream gives none. */
export function countPromptTokens(body: Record<string, unknown>): number {
  const { fixed, texts } = promptParts(body);
  let n = fixed;
  for (const t of texts) n += countTokens(t);
  return n;
}

/**
 * An upper bound on the prompt's token count without tokenizing: every BPE token covers at least
 * one UTF-8 byte, so bytes (+ per-message framing) can never be fewer than the tokens. Used for
 * holds on the request path, where exact counting would cost ≈ 0.06–0.3 ms per 1,000 characters
 * on every request; the real count comes from the upstream's usage at settlement.
 */
export function promptTokenUpperBound(body: Record<string, unknown>): number {
  if (Array.isArray(body.messages)) {
    let n = 3;
    for (const m of body.messages as Array<Record<string, unknown>>) {
      n += PER_MESSAGE + 1;
      const c = m?.content;
      if (typeof c === "string") n += Buffer.byteLength(c);
      else if (c !== undefined && c !== null) n += Buffer.byteLength(JSON.stringify(c)) + mediaAllowance(c);
      if (typeof m?.name === "string") n += Buffer.byteLength(m.name);
      if (m?.tool_calls) n += Buffer.byteLength(JSON.stringify(m.tool_calls));
    }
    if (body.tools) n += Buffer.byteLength(JSON.stringify(body.tools));
    return n;
  }
  const p = body.prompt ?? body.input;
  if (typeof p === "string") return Buffer.byteLength(p);
  if (Array.isArray(p)) return p.reduce<number>((s, x) => s + (typeof x === "string" ? Buffer.byteLength(x) : Array.isArray(x) ? x.length : 1), 0);
  return 0;
}

/**
 * Images and audio cost tokens their bytes in the request don't show (a URL is a few dozen bytes,
 * a high-detail image up to ~1,600 tokens): each media part is allowed this many, so the hold,
 * which a charge never exceeds, still covers it.
 */
const MEDIA_PART_TOKENS = 2000;

function mediaAllowance(content: unknown): number {
  if (!Array.isArray(content)) return 0;
  let n = 0;
  for (const part of content) {
    const t = part && typeof part === "object" ? (part as { type?: unknown }).type : undefined;
    if (typeof t === "string" && t !== "text" && t !== "input_text") n += MEDIA_PART_TOKENS;
  }
  return n;
}

/** A typical-case estimate (≈4 bytes per token) for rate-limit admission; corrected after the response. */
export function promptTokenGuess(upperBound: number): number {
  return Math.ceil(upperBound / 4);
}
