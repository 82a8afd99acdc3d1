/**
 * Keeps a label's distinct values bounded: the first `max` values seen are kept as they are, later
 * ones become "other". Model names come from clients, so without this a client could grow the
 * series count without limit.
 */
export class BoundedLabel {
  private readonly seen = new Set<string>();
  constructor(private readonly max: number) {}

  value(v: string | null | undefined): string {
    if (!v) return "none";
    if (this.seen.has(v)) return v;
    if (this.seen.size >= this.max) return "other";
    this.seen.add(v);
    return v;
  }
}
