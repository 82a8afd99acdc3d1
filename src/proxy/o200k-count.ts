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
    if (piece.length === 0) {
      // No alternative of the pattern matches empty; should a table ever, the scan must still move on.
      pattern.lastIndex++;
      continue;
    }
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

/** Loads the tables now so no request pays for it on the event loop. */
export function warmTokenizer(): void {
  load();
}
