/**
 * Every secret the gateway holds for talking to others (provider API keys, decrypted upstream-account
 * keys, bot and payment tokens) is registered here once it is known, and `scrub` replaces each of
 * them wherever it appears in text that leaves the process: error bodies (http/errors.ts) and log
 * lines (core/logger.ts). Shape-based patterns (`sk-…`, `Bearer …`) miss keys of other shapes that
 * an upstream may echo (a Google `AIza…` key in a 400), so the values themselves are the fence.
 *
 * One registry per process: the logger is created before the services that learn the keys, and both
 * writers must see every key. Registering the same value twice is a no-op; values shorter than
 * MIN_SECRET_LENGTH are ignored (too likely to occur in ordinary text).
 */
export const MIN_SECRET_LENGTH = 8;
const REDACTED = "[redacted]";

export class SecretScrubber {
  private readonly secrets = new Set<string>();
  /** Longest first, so a secret that contains another is replaced whole. */
  private ordered: string[] = [];
  /**
   * Shapes of secrets too many to list one by one (a key per customer): one regex per text instead
   * of one `includes` per key on every log line.
   */
  private readonly patterns: RegExp[] = [];

  addPattern(re: RegExp): void {
    if (!re.global) throw new Error("secret patterns must be global");
    if (!this.patterns.some((p) => p.source === re.source)) this.patterns.push(re);
  }

  add(secret: string | null | undefined): void {
    if (typeof secret !== "string") return;
    const s = secret.trim();
    if (s.length < MIN_SECRET_LENGTH || this.secrets.has(s)) return;
    this.secrets.add(s);
    // The URL-encoded form appears when a key travels in a query string (`?key=…`).
    const enc = encodeURIComponent(s);
    if (enc !== s) this.secrets.add(enc);
    this.ordered = [...this.secrets].sort((a, b) => b.length - a.length);
  }

  get size(): number {
    return this.secrets.size;
  }

  scrub(text: string): string {
    let out = text;
    for (const s of this.ordered) if (out.includes(s)) out = out.split(s).join(REDACTED);
    for (const p of this.patterns) out = out.replace(p, REDACTED);
    return out;
  }

  /** A copy of a JSON-like value with every string scrubbed. */
  scrubValue<T>(value: T): T {
    if (this.ordered.length === 0 && this.patterns.length === 0) return value;
    if (typeof value === "string") return this.scrub(value) as T;
    if (Array.isArray(value)) return value.map((v) => this.scrubValue(v)) as T;
    if (value && typeof value === "object") {
      const o: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) o[k] = this.scrubValue(v);
      return o as T;
    }
    return value;
  }
}

/** The process-wide registry (see above). */
export const secrets = new SecretScrubber();
