/**
 * Figures the chaos table may show as non-zero without failing the run: each names the defect
 * (issue 10) and the change fixing it. Remove a mark when its fix lands (the run says when a
 * marked figure has become 0).
 */
export type Invariant = "overspend" | "notBilled" | "logsLost" | "doubleCredits" | "drift" | "openHolds" | "badInput5xx" | "chargeOverHold";

export const KNOWN: Record<string, Partial<Record<Invariant, string>>> = {
  // The charge follows the (over-)delivered usage up to the balance, past the hold (#3).
  "n-choices": { overspend: "#1 pipeline", chargeOverHold: "#1 #3 pipeline" },
  "ignore-max-tokens": { overspend: "#2 pipeline", chargeOverHold: "#2 #3 pipeline" },
  // Overspend here is the operator-absorbed shortfall the gateway computes from the lie.
  "lying-usage": { overspend: "#3 pipeline", chargeOverHold: "#3 pipeline" },
  "zero-usage": { notBilled: "#4 pipeline" },
  "bad-input": { badInput5xx: "#9 #20 hardening" },
};
