import { randomBytes } from "node:crypto";
import { parseMoney } from "../../../core/money.js";
import { need } from "../args.js";
import type { Command } from "../context.js";
import { usage } from "../ops.js";

export const credit: Command = async (ctx) => {
  const accountId = need(ctx.o, "account");
  const amount = need(ctx.o, "amount");
  const reason = need(ctx.o, "reason");
  let micros: bigint;
  try {
    micros = parseMoney(amount);
  } catch {
    throw usage("--amount must be a decimal amount such as 10.50 (negative to debit)");
  }
  if (micros === 0n) throw usage("--amount must not be zero");
  // Re-running with the same --ref is a no-op (ledger (kind, ref) is unique): safe to retry.
  const ref = ctx.o.ref ?? randomBytes(9).toString("base64url");
  const r = await ctx.ops.credit({ accountId, amount, reason, ref });
  const abs = r.amount.replace(/^-/, "");
  ctx.out(
    r.duplicate
      ? `already applied earlier (ref ${r.ref}); balance ${r.balance}`
      : `${micros > 0n ? "credited" : "debited"} ${abs} ${r.currency} to ${accountId}; balance ${r.balance} (ref ${r.ref})`,
    r,
  );
};
