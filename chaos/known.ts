/**
 * Figures the chaos table may show as non-zero without failing the run: each names the defect
 * (issue 10) and the change fixing it. Remove a mark when its fix lands (the run says when a
 * marked figure has become 0).
 */
export type Invariant = "overspend" | "notBilled" | "logsLost" | "doubleCredits" | "drift" | "openHolds" | "badInput5xx" | "chargeOverHold";

export const KNOWN: Record<string, Partial<Record<Invariant, string>>> = {
  // The stream meter cuts at the hold; ~8 tokens per stream already in flight reach the client
  // beyond the billed 10 (charge capped at the hold, by design of #2/#3).
  "ignore-max-tokens": { notBilled: "#2 cut at the hold (pipeline)" },
};
