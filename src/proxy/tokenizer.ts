import o200k from "js-tiktoken/ranks/o200k_base";

/**
 * Token counts with o200k_base (GPT-4o family; close enough for other vendors' estimates). Only the
 * count is needed, never the tokens, so this counts with js-tiktoken's published tables rather than
 * its encoder: the text is split with the encoding's own pattern, and each piece's count is
 * remembered, so a word met before costs one map lookup (the encoder runs its byte-pair merge on
 * every piece, ≈ 1 ms per KB). Special-token strings in a text ("<|endoftext|>") are counted as the
 * plain text they are; the encoder throws on them.
 */
interface Tables {
  /** The encoding's split pattern (global, unicode). */
  pattern: RegExp;
  /** Rank of every token, keyed by its bytes as a latin1 string (one char per byte). */
  ranks: Map<string, number>;
}

let tables: Tables | undefined;
function load(): Tables {
  if (tables) return tables;
  const ranks = new Map<string, number>();
  for (const line of o200k.bpe_ranks.split("\n")) {
    if (!line) continue;
    const fields = line.split(" ");
    const offset = Number.parseInt(fields[1]!, 10);
    for (let i = 2; i < fields.length; i++) ranks.set(Buffer.from(fields[i]!, "base64").toString("latin1"), offset + i - 2);
  }
  tables = { pattern: new RegExp(o200k.pat_str, "gu"), ranks };
  return tables;
}

/** Pieces (words, numbers, punctuation runs) and their counts, up to a bound; cleared when full. */
const pieceCounts = new Map<string, number>();
const PIECE_CACHE_ENTRIES = 200_000;
/** Longer pieces are rare to meet twice: not remembered. */
const PIECE_CACHE_MAX_CHARS = 64;

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

/** Pieces up to this many bytes merge by scanning (fastest when short); longer ones through a heap. */
const SCAN_MAX_BYTES = 48;

/**
 * Tokens of one piece: byte-pair merges, lowest rank first (leftmost on ties), until no adjacent
 * pair is a token; the count is the parts left.
 */
function pieceTokens(piece: string, ranks: Map<string, number>): number {
  const bytes = isAscii(piece) ? piece : Buffer.from(piece, "utf8").toString("latin1");
  if (bytes.length < 2 || ranks.has(bytes)) return 1;
  return bytes.length <= SCAN_MAX_BYTES ? scanMerge(bytes, ranks) : heapMerge(bytes, ranks);
}

/** `rank[i]` is the rank of parts i and i+1 merged; each round merges the lowest. O(n²): short pieces only. */
function scanMerge(bytes: string, ranks: Map<string, number>): number {
  const starts: number[] = [];
  for (let i = 0; i <= bytes.length; i++) starts.push(i);
  const pairRank = (i: number) => (i + 2 < starts.length ? (ranks.get(bytes.slice(starts[i], starts[i + 2])) ?? Infinity) : Infinity);
  const rank: number[] = [];
  for (let i = 0; i < starts.length - 2; i++) rank.push(pairRank(i));
  for (;;) {
    let at = -1;
    let min = Infinity;
    for (let i = 0; i < rank.length; i++) {
      if (rank[i]! < min) {
        min = rank[i]!;
        at = i;
      }
    }
    if (at < 0) break;
    starts.splice(at + 1, 1);
    rank.splice(at, 1);
    if (at < rank.length) rank[at] = pairRank(at);
    if (at > 0) rank[at - 1] = pairRank(at - 1);
  }
  return starts.length - 1;
}

/**
 * The same merges in O(n log n), for long pieces (a run of letters with no space can be the whole
 * prompt; scanning it would take minutes). Parts are a linked list over byte offsets; candidate
 * pairs wait in a min-heap ordered by (rank, offset), which is the scan's order, and a candidate
 * whose parts have changed since it was pushed is skipped.
 */
function heapMerge(bytes: string, ranks: Map<string, number>): number {
  const n = bytes.length;
  const next = new Int32Array(n);
  const prev = new Int32Array(n);
  const alive = new Uint8Array(n).fill(1);
  for (let i = 0; i < n; i++) {
    next[i] = i + 1;
    prev[i] = i - 1;
  }
  // Heap of candidates [rank, left offset, right offset, end].
  const heap: Array<[number, number, number, number]> = [];
  const less = (a: [number, number, number, number], b: [number, number, number, number]) => a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]);
  const push = (e: [number, number, number, number]) => {
    let i = heap.push(e) - 1;
    while (i > 0) {
      const up = (i - 1) >> 1;
      if (!less(heap[i]!, heap[up]!)) break;
      [heap[i], heap[up]] = [heap[up]!, heap[i]!];
      i = up;
    }
  };
  const pop = () => {
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && less(heap[l]!, heap[m]!)) m = l;
        if (r < heap.length && less(heap[r]!, heap[m]!)) m = r;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m]!, heap[i]!];
        i = m;
      }
    }
    return top;
  };
  const candidate = (left: number) => {
    const right = next[left]!;
    if (right >= n) return;
    const end = next[right]!;
    const rank = ranks.get(bytes.slice(left, end));
    if (rank !== undefined) push([rank, left, right, end]);
  };
  for (let i = 0; i < n - 1; i++) candidate(i);
  let parts = n;
  while (heap.length > 0) {
    const [, left, right, end] = pop();
    if (!alive[left] || !alive[right] || next[left] !== right || next[right] !== end) continue;
    alive[right] = 0;
    next[left] = end;
    if (end < n) prev[end] = left;
    parts--;
    if (prev[left]! >= 0) candidate(prev[left]!);
    candidate(left);
  }
  return parts;
}

export function countTokens(text: string): number {
  if (!text) return 0;
  const { pattern, ranks } = load();
  let n = 0;
  pattern.lastIndex = 0;
  for (let m = pattern.exec(text); m !== null; m = pattern.exec(text)) {
    const piece = m[0];
    let c = pieceCounts.get(piece);
    if (c === undefined) {
      c = pieceTokens(piece, ranks);
      if (piece.length <= PIECE_CACHE_MAX_CHARS) {
        if (pieceCounts.size >= PIECE_CACHE_ENTRIES) pieceCounts.clear();
        pieceCounts.set(piece, c);
      }
    }
    n += c;
  }
  return n;
}

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

/** Loads the tokenizer's tables now so no request pays for it on the event loop. */
export function warmTokenizer(): void {
  load();
}

/**
 * An upper bound on the prompt's token count without tokenizing: every BPE token covers at least
 * one UTF-8 byte, so bytes (+ per-message framing) can never be fewer than the tokens. Used for
 * holds on the request path, where exact counting would cost up to ≈ 0.08 ms per KB of unseen text
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
