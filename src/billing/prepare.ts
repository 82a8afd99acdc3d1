/**
 * The stateless half of billing: which tariff applies, whether it allows the model, which price
 * plan holds, and the max_tokens terms of the hold. Pure once the config snapshot is in hand, so
 * the pipeline runs it before any rate-limit counter or hold is touched.
 */
import type { AuthContext, PrepareInput, ReserveInput } from "../contracts/request.js";
import { AppError } from "../core/errors.js";
import type { BillingSnapshot, TariffInfo } from "./config-cache.js";
import type { PricePlan } from "./price-plan.js";
import { mergeLimits, type Limits } from "./quotas.js";

/** The tariff in force for a key: its own override (`limits.tariff_id`), else its account's, else the default. */
export function resolveTariff(snap: BillingSnapshot, auth: Pick<AuthContext, "keyLimits" | "tariffId">): { tariff: TariffInfo; keyOverride: boolean } {
  const kt = auth.keyLimits?.tariff_id;
  if (typeof kt === "string") {
    const t = snap.tariffs.get(kt);
    if (t) return { tariff: t, keyOverride: true };
  }
  const at = auth.tariffId ? snap.tariffs.get(auth.tariffId) : undefined;
  return { tariff: at ?? snap.defaultTariff, keyOverride: false };
}

const allowance = (t: TariffInfo) => (t.tokenAllowance !== null ? { total_tokens: t.tokenAllowance } : null);

/**
 * Effective limits. Account scope: the account tariff's `limits` (+ `token_allowance` as total
 * tokens), overridden field by field by the account's own `limits`. Key scope: the account
 * tariff's `key_limits`, overridden by the key's `limits`; a key with its own tariff takes that
 * tariff's `limits`/`token_allowance`/`key_limits` instead.
 */
export function effectiveLimits(snap: BillingSnapshot, auth: Pick<AuthContext, "keyLimits" | "accountLimits" | "tariffId">) {
  const { tariff, keyOverride } = resolveTariff(snap, auth);
  const acctTariff = keyOverride ? (auth.tariffId ? snap.tariffs.get(auth.tariffId) : undefined) ?? snap.defaultTariff : tariff;
  const accountLimits = mergeLimits(acctTariff.limits, allowance(acctTariff), auth.accountLimits);
  const keyLimits = keyOverride
    ? mergeLimits(tariff.limits, allowance(tariff), tariff.keyLimits, auth.keyLimits)
    : mergeLimits(acctTariff.keyLimits, auth.keyLimits);
  return { tariff, accountTariff: acctTariff, keyLimits, accountLimits };
}

export function modelAllowed(patterns: readonly string[] | null, modelId: string): boolean {
  if (patterns === null) return true;
  for (const p of patterns) {
    if (p === "*" || p === modelId) return true;
    if (p.endsWith("*") && modelId.startsWith(p.slice(0, -1))) return true;
  }
  return false;
}

/** Tariff and parsed limits for one AuthContext. */
export interface AuthBilling {
  version: number;
  tariff: TariffInfo;
  keyLimits: Limits;
  accountLimits: Limits;
}

/**
 * The refusals that need no counter: the tariff's model list, and a model nobody priced — for the
 * model and for each of the client's `models` fallbacks (a refusal names the list entry).
 */
export function refuseStateless(input: PrepareInput, ab: AuthBilling, plan: PricePlan, unpricedHoldAllowed: boolean): void {
  const refuse = (modelId: string, priced: boolean, param: string) => {
    if (!modelAllowed(ab.tariff.allowedModels, modelId)) throw new AppError("model_not_allowed", `Your plan does not include the model ${modelId}.`, { param });
    if (!priced && !unpricedHoldAllowed) throw new AppError("model_not_priced", `The model ${modelId} has no price configured; ask the operator to set one.`, { param });
  };
  refuse(input.model.id, plan.snapshot.routes.size > 0, "model");
  for (const f of input.fallbacks ?? []) {
    if (f.model.id === input.model.id) continue;
    refuse(f.model.id, plan.snapshot.fallbacks?.some((x) => x.modelId === f.model.id) ?? false, f.param);
  }
}

export interface HoldTerms {
  /** Output tokens over all choices the hold fixes (the client's max_tokens × choices), or null: the gateway picks. */
  fixed: number | null;
  /**
   * The client asked for more than the model's max output: the model's max goes upstream instead
   * (OpenAI answers 400 to a cap above a model's limit). When the client sent no cap this is false:
   * the hold's budget is enforced by the gateway (see `upstreamCap`).
   */
  inject: boolean;
  /** Most and least output tokens (over all choices) the gateway may pick. */
  cap: number;
  min: number;
  choices: number;
}

/**
 * The max_tokens terms of a hold. Output is held for every choice: `n: 20` holds twenty times
 * the output of one, and an injected max_tokens is the affordable total divided among them.
 */
export function holdTerms(
  input: Pick<ReserveInput, "endpoint" | "requestedMaxTokens" | "choices">,
  maxOutput: number | null,
  settings: { defaultMaxTokens: number; minMaxTokens: number },
): HoldTerms {
  const choices = Math.max(1, Math.floor(input.choices ?? 1));
  // The model's own limit when known (the hold then covers any answer it can give), else the setting.
  const perChoiceCap = Math.max(1, maxOutput ?? settings.defaultMaxTokens);
  const cap = perChoiceCap * choices;
  const min = Math.min(settings.minMaxTokens, perChoiceCap) * choices;
  if (input.endpoint === "embeddings") return { fixed: 0, inject: false, cap, min, choices };
  if (input.requestedMaxTokens !== null && input.requestedMaxTokens !== undefined) {
    const req = Math.max(0, Math.floor(input.requestedMaxTokens));
    const perChoice = maxOutput !== null && req > maxOutput ? maxOutput : req;
    return { fixed: perChoice * choices, inject: perChoice !== req, cap, min, choices };
  }
  return { fixed: null, inject: false, cap, min, choices };
}

/**
 * The output cap (per choice) the gateway writes into the upstream request, or null to send the
 * client's as it is. Never one the model refuses: at most the model's max output, and none when
 * the client sent none, unless a non-stream answer would otherwise pass what the balance and limits
 * cover (a stream is cut by the gateway at the hold's budget instead: proxy/output-meter.ts).
 */
export function upstreamCap(terms: HoldTerms, coveredTokens: number, stream: boolean): number | null {
  const perChoice = Math.max(1, Math.floor(coveredTokens / terms.choices));
  if (terms.fixed !== null) return terms.inject ? perChoice : null;
  return !stream && coveredTokens < terms.cap ? perChoice : null;
}
