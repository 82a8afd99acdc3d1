import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { LocalCircuitBreakers } from "../../src/routing/circuit-breaker.js";
import { seededRng } from "../../src/routing/rng.js";
import { Router } from "../../src/routing/router.js";
import { EMPTY_SNAPSHOT } from "../../src/routing/store.js";
import { tieredOrder, weightedOrder } from "../../src/routing/weighted.js";
import type { ResolvedModel, Route } from "../../src/contracts/request.js";

const route = (providerId: string, priority: number, weight: number): Route => ({
  providerId,
  upstreamModel: `m-${providerId}`,
  priority,
  weight,
  price: null,
});

// Stated tolerance: 3:1 over 1000 picks → expected 750 for the heavy route; binomial σ ≈ 13.7,
// so ±50 (≈3.6σ) holds for any fair RNG. Seeded, so the test is deterministic and cannot flake.
const TOLERANCE = 50;

describe("weighted selection", () => {
  it("1000 picks over weights 3:1 land within ±50 of 750 (20 seeds)", () => {
    const items = [
      { id: "a", w: 3 },
      { id: "b", w: 1 },
    ];
    for (let seed = 1; seed <= 20; seed++) {
      const rng = seededRng(seed);
      let a = 0;
      for (let i = 0; i < 1000; i++) if (weightedOrder(items, (x) => x.w, rng)[0]!.id === "a") a++;
      assert.ok(Math.abs(a - 750) <= TOLERANCE, `seed ${seed}: ${a} picks of the weight-3 item`);
    }
  });

  it("the tolerance band rejects a 1:1 split (the test can fail)", () => {
    const rng = seededRng(7);
    let first = 0;
    const items = [{ id: "a", w: 1 }, { id: "b", w: 1 }];
    for (let i = 0; i < 1000; i++) if (weightedOrder(items, (x) => x.w, rng)[0]!.id === "a") first++;
    assert.ok(Math.abs(first - 500) <= TOLERANCE);
    assert.ok(Math.abs(first - 750) > TOLERANCE);
  });

  it("returns every item once; weight 0 is standby, after the weighted ones", () => {
    const rng = seededRng(3);
    for (let i = 0; i < 200; i++) {
      const out = weightedOrder([{ id: "z", w: 0 }, { id: "a", w: 5 }, { id: "b", w: 1 }], (x) => x.w, rng).map((x) => x.id);
      assert.equal(out.length, 3);
      assert.equal(out[2], "z");
      assert.deepEqual([...out].sort(), ["a", "b", "z"]);
    }
  });

  it("priority tiers are strictly ordered; weights apply inside a tier", () => {
    const rng = seededRng(11);
    const routes = [route("p2", 2, 100), route("p1a", 1, 1), route("p1b", 1, 1), route("p3", 3, 1)];
    const firsts = new Map<string, number>();
    for (let i = 0; i < 500; i++) {
      const out = tieredOrder(routes, (r) => r.priority, (r) => r.weight, rng).map((r) => r.providerId);
      assert.deepEqual(out.slice(2), ["p2", "p3"]);
      firsts.set(out[0]!, (firsts.get(out[0]!) ?? 0) + 1);
    }
    assert.ok((firsts.get("p1a") ?? 0) > 200 && (firsts.get("p1b") ?? 0) > 200, JSON.stringify([...firsts]));
  });

  it("the router spreads 1000 requests over routes weighted 3:1 within the tolerance", () => {
    const model: ResolvedModel = {
      id: "m",
      requested: "m",
      routes: [route("heavy", 1, 3), route("light", 1, 1)],
      contextLength: null,
      maxOutput: null,
      passthrough: false,
    };
    const router = new Router({
      snapshot: () => EMPTY_SNAPSHOT,
      configProviders: [
        { id: "heavy", type: "openai", base_url: "http://h", model_prefix: "", enabled: true },
        { id: "light", type: "openai", base_url: "http://l", model_prefix: "", enabled: true },
      ],
      breakers: new LocalCircuitBreakers(),
      rng: seededRng(42),
    });
    let heavy = 0;
    for (let i = 0; i < 1000; i++) {
      const p = router.plan(model);
      assert.equal(p.attempts.length, 2, "the other route stays as the fallback");
      if (p.attempts[0]!.providerId === "heavy") heavy++;
    }
    assert.ok(Math.abs(heavy - 750) <= TOLERANCE, `heavy got ${heavy}`);
  });
});
