import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Catalog } from "../../../src/catalog/index.js";
import type { ProviderConfig } from "../../../src/config/gateway-config.js";
import type { ProviderTarget } from "../../../src/providers/index.js";
import { LocalCircuitBreakers } from "../../../src/routing/circuit-breaker.js";
import { RoutingPlanner } from "../../../src/routing/planner.js";
import { seededRng } from "../../../src/routing/rng.js";
import { applyPreferences, parseProviderPreferences, Router } from "../../../src/routing/router.js";
import { EMPTY_SNAPSHOT, type RoutingSnapshot } from "../../../src/routing/store.js";

const cfg = (id: string, type: ProviderConfig["type"] = "openai", prefix = ""): ProviderConfig => ({ id, type, base_url: `http://${id}/v1`, model_prefix: prefix, enabled: true });
const providers = [cfg("a"), cfg("b", "openai", "openrouter/"), cfg("c"), cfg("or", "openrouter")];
const targets = new Map<string, ProviderTarget>(
  providers.map((p) => [p.id, { id: p.id, type: p.type, baseUrl: p.base_url!, apiKey: `sk-config-${p.id}`, modelPrefix: p.model_prefix, headers: {}, enabled: true, timeouts: { connectMs: 1, firstByteMs: 1, idleMs: 1, totalMs: 1 } }]),
);
const catalog = new Catalog(
  [
    { id: "m1", aliases: ["one"], routes: [{ provider: "a", model: "up-1", priority: 1, weight: 1 }, { provider: "b", model: "up-1", priority: 2, weight: 1 }], price: { input: 1, output: 1 } },
    { id: "m2", aliases: [], routes: [{ provider: "c", model: "up-2", priority: 1, weight: 1 }, { provider: "or", model: "x/up-2", priority: 2, weight: 1 }] },
    { id: "m3", aliases: [], routes: [{ provider: "or", model: "x/up-3", priority: 1, weight: 1 }] },
    { id: "m4", aliases: [], routes: [{ provider: "c", model: "up-4", priority: 1, weight: 1 }] },
    { id: "m5", aliases: [], routes: [{ provider: "c", model: "up-5", priority: 1, weight: 1 }] },
    { id: "m6", aliases: [], routes: [{ provider: "c", model: "up-6", priority: 1, weight: 1 }] },
  ],
  providers.map((p) => p.id),
);

function make(snapshot: RoutingSnapshot = EMPTY_SNAPSHOT, breakers = new LocalCircuitBreakers()) {
  const router = new Router({ snapshot: () => snapshot, configProviders: providers, breakers, rng: seededRng(9) });
  return { router, planner: new RoutingPlanner(router, () => targets, catalog) };
}
const ids = (xs: Array<{ target: { id: string }; served: { upstreamModel: string } }>) => xs.map((x) => `${x.target.id}:${x.served.upstreamModel}`);

describe("planner", () => {
  it("routes in priority order, with the provider's model prefix", () => {
    const { planner } = make();
    assert.deepEqual(ids(planner.plan(catalog.resolve("one")!, {})), ["a:up-1", "b:openrouter/up-1"]);
  });

  it("upstream accounts: each attempt carries its account's key and discount; no accounts → the provider key", () => {
    const snap: RoutingSnapshot = {
      ...EMPTY_SNAPSHOT,
      accountsByProvider: new Map([["a", [{ id: "ua_1", providerId: "a", name: "", apiKey: "sk-master-1", discountBp: 7000, weight: 1, balanceMicros: null }]]]),
    };
    const { planner } = make(snap);
    const [first, second] = planner.plan(catalog.resolve("m1")!, {});
    assert.equal(first!.target.apiKey, "sk-master-1");
    assert.equal(first!.breakerKey, "ua:ua_1");
    assert.deepEqual([first!.served.upstreamAccountId, first!.served.discountBp], ["ua_1", 7000]);
    assert.equal(second!.target.apiKey, "sk-config-b");
    assert.equal(second!.served.discountBp, 0);
    assert.equal(targets.get("a")!.apiKey, "sk-config-a", "the shared target is not mutated");
  });

  it("accounts known to be out of balance go last", () => {
    const acct = (id: string, balance: bigint | null) => ({ id, providerId: "a", name: "", apiKey: id, discountBp: 0, weight: 100, balanceMicros: balance });
    const snap: RoutingSnapshot = { ...EMPTY_SNAPSHOT, accountsByProvider: new Map([["a", [acct("ua_empty", 0n), acct("ua_ok", 5n), acct("ua_unknown", null)]]]) };
    const { router } = make(snap);
    for (let i = 0; i < 50; i++) assert.equal(router.plan(catalog.resolve("m1")!).attempts.filter((x) => x.providerId === "a").at(-1)!.account!.id, "ua_empty");
  });

  it("client `models`: more models' routes after the requested one's, deduplicated, at most 3, no second OpenRouter attempt", () => {
    const { planner } = make();
    const plan = planner.plan(catalog.resolve("m2")!, { models: ["m2", "m3", "one", "m1", "m4", "m5", "m6", "nope/x"] });
    // m3 counts as one of the 3 (its only route is OpenRouter, which already has the list).
    assert.deepEqual(ids(plan), ["c:up-2", "or:x/up-2", "a:up-1", "b:openrouter/up-1", "c:up-4"]);
  });

  it("client `provider`: only/ignore/order over our provider ids; unknown names are left to OpenRouter", () => {
    const { planner } = make();
    const m1 = catalog.resolve("m1")!;
    assert.deepEqual(ids(planner.plan(m1, { provider: { order: ["b", "a"] } })), ["b:openrouter/up-1", "a:up-1"]);
    assert.deepEqual(ids(planner.plan(m1, { provider: { only: ["b"] } })), ["b:openrouter/up-1"]);
    assert.deepEqual(ids(planner.plan(m1, { provider: { ignore: ["a"] } })), ["b:openrouter/up-1"]);
    assert.deepEqual(ids(planner.plan(m1, { provider: { order: ["b"], allow_fallbacks: false } })), ["b:openrouter/up-1"]);
    // OpenRouter's own provider names mean nothing here: our routes stay as they are.
    assert.deepEqual(ids(planner.plan(m1, { provider: { only: ["Anthropic"], order: ["OpenAI"], allow_fallbacks: false } })), ["a:up-1", "b:openrouter/up-1"]);
    assert.deepEqual(ids(planner.plan(m1, { provider: "junk" })), ["a:up-1", "b:openrouter/up-1"]);
  });

  it("preferences parsing and allow_fallbacks=false without order keeps only the first route", () => {
    assert.equal(parseProviderPreferences(null), null);
    assert.equal(parseProviderPreferences({ sort: "price" }), null);
    assert.deepEqual(parseProviderPreferences({ order: ["a", 1], allow_fallbacks: false }), { order: ["a"], only: undefined, ignore: undefined, allow_fallbacks: false });
    const routes = catalog.resolve("m1")!.routes;
    assert.equal(applyPreferences(routes, { allow_fallbacks: false }, seededRng(1)).length, 1);
  });

  it("open circuits stay in the planner's list (the executor skips and logs them) but not in a plain plan", async () => {
    const breakers = new LocalCircuitBreakers({ windowMs: 10_000, buckets: 10, minRequests: 1, failureRate: 0.5, cooldownMs: 60_000, probeTimeoutMs: 60_000 });
    await breakers.record("prv:a", false, "allow");
    const { router, planner } = make(EMPTY_SNAPSHOT, breakers);
    const plain = router.plan(catalog.resolve("m1")!);
    assert.deepEqual(plain.attempts.map((a) => a.providerId), ["b"]);
    assert.deepEqual(plain.skipped.map((s) => s.breakerKey), ["prv:a"]);
    assert.deepEqual(ids(planner.plan(catalog.resolve("m1")!, {})), ["a:up-1", "b:openrouter/up-1"]);
  });

  it("runtime route rows override config routes and add new ones; disabled rows remove them", () => {
    const snap: RoutingSnapshot = {
      ...EMPTY_SNAPSHOT,
      routesByModel: new Map([
        [
          "m1",
          [
            { id: "rt_1", modelId: "m1", providerId: "b", upstreamModel: "up-1", priority: 0, weight: 1, enabled: true },
            { id: "rt_2", modelId: "m1", providerId: "a", upstreamModel: "up-1", priority: 1, weight: 1, enabled: false },
            { id: "rt_3", modelId: "m1", providerId: "c", upstreamModel: "up-1c", priority: 5, weight: 1, enabled: true },
          ],
        ],
      ]),
    };
    const { planner } = make(snap);
    assert.deepEqual(ids(planner.plan(catalog.resolve("m1")!, {})), ["b:openrouter/up-1", "c:up-1c"]);
  });
});
