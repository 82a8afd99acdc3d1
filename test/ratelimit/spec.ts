import assert from "node:assert/strict";
import { it } from "node:test";
import { AppError } from "../../src/core/errors.js";
import type { AdmitInput, Admission, AuthContext } from "../../src/contracts/request.js";
import type { RateLimiter, RateLimitSettings } from "../../src/ratelimit/index.js";
import { auth, FakeClock, reqId, settings } from "./helpers.js";

export type MakeLimiter = (s: RateLimitSettings, clock: FakeClock) => Promise<RateLimiter>;

function input(a: AuthContext, over: Partial<AdmitInput> = {}): AdmitInput {
  return { requestId: reqId(), auth: a, model: "openai/gpt-4o-mini", providerId: null, estimatedTokens: 0, ...over };
}

/** Resolves the AppError a rejected admission throws (fails the test if it was admitted). */
export async function rejected(p: Promise<Admission>): Promise<AppError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof AppError, `expected AppError, got ${String(e)}`);
    assert.equal(e.code, "rate_limit_exceeded");
    assert.equal(e.status, 429);
    return e;
  }
  assert.fail("expected a 429, the request was admitted");
}

/** The behaviour both stores (Redis and memory) must share. */
export function limiterSpec(make: MakeLimiter, opts: { sharedStore: boolean }): void {
  it("the 31st request inside the window gets 429 with a correct Retry-After and passes after the window", async () => {
    const clock = new FakeClock();
    const rl = await make(settings(), clock);
    try {
      const a = auth();
      const t0 = clock.t;
      for (let i = 0; i < 30; i++) {
        const adm = await rl.admit(input(a));
        assert.equal(adm.headers["x-ratelimit-limit-requests"], "30");
        assert.equal(adm.headers["x-ratelimit-remaining-requests"], String(29 - i));
        assert.equal(adm.headers["x-ratelimit-reset-requests"], "1m0s");
        adm.done(0);
        clock.advance(1000); // requests at t0, t0+1s, …, t0+29s
      }
      clock.t = t0 + 29_500;
      const e = await rejected(rl.admit(input(a)));
      assert.equal(e.extra.details?.limit_source, "key_rpm");
      assert.equal(e.extra.details?.limit, 30);
      assert.equal(e.extra.details?.window_seconds, 60);
      // The oldest entry (t0) leaves the window at t0+60s: 30.5 s from now → 31 whole seconds.
      assert.equal(e.extra.headers?.["retry-after"], "31");
      assert.equal(e.extra.headers?.["x-ratelimit-remaining-requests"], "0");
      clock.t = t0 + 59_999;
      await rejected(rl.admit(input(a)));
      clock.t = t0 + 29_500 + 31_000;
      const ok = await rl.admit(input(a));
      assert.equal(ok.headers["x-ratelimit-remaining-requests"], "0");
      // Next slot frees when t0+1s leaves: at t0+61s.
      const e2 = await rejected(rl.admit(input(a)));
      assert.equal(e2.extra.headers?.["retry-after"], "1");
      clock.t = t0 + 61_000;
      await rl.admit(input(a));
      // Another key has its own budget.
      await rl.admit(input(auth()));
    } finally {
      rl.close();
    }
  });

  it("a refused request takes nothing: limits are checked and taken all or nothing", async () => {
    const clock = new FakeClock();
    const rl = await make(settings({ key: { rpm: 5, tpm: 0, concurrency: 0 }, account: { rpm: 3, tpm: 0, concurrency: 0 } }), clock);
    try {
      const acct = auth().accountId;
      const k1 = auth({ accountId: acct });
      const k2 = auth({ accountId: acct });
      for (let i = 0; i < 3; i++) await rl.admit(input(k1));
      const e = await rejected(rl.admit(input(k2)));
      assert.equal(e.extra.details?.limit_source, "account_rpm");
      const snap = await rl.peek(k2);
      assert.equal(snap.key.requests?.current, 0, "key counter must not be taken when the account limit refuses");
      assert.equal(snap.account.requests?.current, 3);
      assert.equal(snap.key.requests?.remaining, 5);
    } finally {
      rl.close();
    }
  });

  it("tokens per window count the real usage passed to done()", async () => {
    const clock = new FakeClock();
    const rl = await make(settings({ key: { rpm: 0, tpm: 1000, concurrency: 0 } }), clock);
    try {
      const a = auth();
      const first = await rl.admit(input(a, { estimatedTokens: 100 }));
      assert.equal(first.headers["x-ratelimit-limit-tokens"], "1000");
      assert.equal(first.headers["x-ratelimit-remaining-tokens"], "900");
      assert.equal(first.headers["x-ratelimit-reset-tokens"], "1m0s");
      assert.equal(first.headers["x-ratelimit-limit-requests"], undefined, "no requests limit → no requests headers");
      first.done(600);
      first.done(5); // idempotent: a second done changes nothing
      await settleAsync();
      assert.equal((await rl.peek(a)).key.tokens?.current, 600);
      const e = await rejected(rl.admit(input(a, { estimatedTokens: 500 })));
      assert.equal(e.extra.details?.limit_source, "key_tpm");
      assert.equal(e.extra.headers?.["retry-after"], "60");
      const second = await rl.admit(input(a, { estimatedTokens: 400 }));
      assert.equal(second.headers["x-ratelimit-remaining-tokens"], "0");
      second.done(100); // refund: the estimate was too high
      await settleAsync();
      assert.equal((await rl.peek(a)).key.tokens?.current, 700);
      const third = await rl.admit(input(a, { estimatedTokens: 300 }));
      third.done(300);
      await rejected(rl.admit(input(a, { estimatedTokens: 1 })));
      clock.advance(60_000);
      assert.equal((await rl.peek(a)).key.tokens?.current, 0);
      // A request larger than the whole limit passes through an empty window only.
      const big = await rl.admit(input(a, { estimatedTokens: 5000 }));
      big.done(5000);
      const e2 = await rejected(rl.admit(input(a, { estimatedTokens: 1 })));
      assert.equal(e2.extra.headers?.["retry-after"], "60");
    } finally {
      rl.close();
    }
  });

  it("concurrency: N+1 is refused while N are open, admitted after one done()", async () => {
    const clock = new FakeClock();
    const rl = await make(settings({ key: { rpm: 0, tpm: 0, concurrency: 3 } }), clock);
    try {
      const a = auth();
      const open = [await rl.admit(input(a)), await rl.admit(input(a)), await rl.admit(input(a))];
      const e = await rejected(rl.admit(input(a)));
      assert.equal(e.extra.details?.limit_source, "key_concurrency");
      assert.equal(e.extra.headers?.["retry-after"], "1");
      assert.equal((await rl.peek(a)).key.concurrency?.current, 3);
      open[0]!.done(10);
      await settleAsync();
      const fourth = await rl.admit(input(a));
      await rejected(rl.admit(input(a)));
      open[0]!.done(10); // a second done must not free somebody else's slot
      await settleAsync();
      await rejected(rl.admit(input(a)));
      for (const x of [open[1]!, open[2]!, fourth]) x.done(0);
      await settleAsync();
      assert.equal((await rl.peek(a)).key.concurrency?.current, 0);
    } finally {
      rl.close();
    }
  });

  it("a slot never released (crashed process) frees itself when its lease runs out", async () => {
    const clock = new FakeClock();
    const s = settings({ key: { rpm: 0, tpm: 0, concurrency: 1 }, leaseMs: 30_000 });
    // With a shared store the "crashed process" is another limiter instance that stops renewing.
    const dead = await make(s, clock);
    const a = auth();
    await dead.admit(input(a)); // never done()
    let rl = dead;
    if (opts.sharedStore) {
      dead.close();
      rl = await make(s, clock);
    }
    try {
      await rejected(rl.admit(input(a)));
      clock.advance(29_999);
      await rejected(rl.admit(input(a)));
      clock.advance(2);
      const ok = await rl.admit(input(a));
      ok.done(0);
    } finally {
      rl.close();
    }
  });

  it("tariff overrides env defaults, key overrides tariff, 0 switches a limit off", async () => {
    const clock = new FakeClock();
    const rl = await make(settings(), clock);
    try {
      const tariff = { rpm: 5, window_seconds: 10 };
      const a = auth({ tariffRateLimits: tariff });
      for (let i = 0; i < 5; i++) await rl.admit(input(a));
      const e = await rejected(rl.admit(input(a)));
      assert.equal(e.extra.details?.limit, 5);
      assert.equal(e.extra.details?.window_seconds, 10);
      assert.equal(e.extra.headers?.["retry-after"], "10");
      const b = auth({ tariffRateLimits: tariff, keyRateLimits: { rpm: 2 } });
      await rl.admit(input(b));
      const adm = await rl.admit(input(b));
      assert.equal(adm.headers["x-ratelimit-reset-requests"], "10s");
      assert.equal((await rejected(rl.admit(input(b)))).extra.details?.limit, 2);
      const c = auth({ tariffRateLimits: tariff, keyRateLimits: { rpm: 0 } });
      for (let i = 0; i < 50; i++) await rl.admit(input(c));
      const snap = await rl.peek(c);
      assert.equal(snap.key.requests, null);
      // Garbage in the jsonb is ignored, not trusted.
      const d = auth({ keyRateLimits: { rpm: -1, tpm: "lots", window_seconds: 0 } });
      const snapD = await rl.peek(d);
      assert.equal(snapD.key.requests?.limit, 30);
      assert.equal(snapD.windowSeconds, 60);
    } finally {
      rl.close();
    }
  });

  it("global per-model and whole-gateway limits span keys and accounts; Retry-After is the longest wait", async () => {
    const clock = new FakeClock();
    const rl = await make(
      settings({
        key: { rpm: 0, tpm: 0, concurrency: 0 },
        model: { rpm: 2, tpm: 0, concurrency: 0 },
        global: { rpm: 0, tpm: 0, concurrency: 2 },
        provider: { rpm: 1, tpm: 0, concurrency: 0 },
      }),
      clock,
    );
    try {
      const m = `test/model-${reqId()}`;
      const x = await rl.admit(input(auth(), { model: m }));
      clock.advance(10_000);
      const y = await rl.admit(input(auth(), { model: m }));
      const e = await rejected(rl.admit(input(auth(), { model: m })));
      // Both the model rpm (frees in 50 s) and the gateway concurrency (1 s) refuse; the longer wait wins.
      assert.equal(e.extra.details?.limit_source, "global_model_rpm");
      assert.equal(e.extra.headers?.["retry-after"], "50");
      x.done(0);
      y.done(0);
      await settleAsync();
      const z = await rl.admit(input(auth(), { model: `${m}-other` }));
      const w = await rl.admit(input(auth(), { model: `${m}-third` }));
      const e2 = await rejected(rl.admit(input(auth(), { model: `${m}-fourth` })));
      assert.equal(e2.extra.details?.limit_source, "global_concurrency");
      z.done(0);
      w.done(0);
      await settleAsync();
      const p = `prv_${reqId()}`;
      (await rl.admit(input(auth(), { model: `${m}-p1`, providerId: p }))).done(0);
      await settleAsync();
      const e3 = await rejected(rl.admit(input(auth(), { model: `${m}-p2`, providerId: p })));
      assert.equal(e3.extra.details?.limit_source, "global_provider_rpm");
    } finally {
      rl.close();
    }
  });
}

/** done() settles in the background; give it a turn to reach the store. */
export async function settleAsync(): Promise<void> {
  await new Promise((r) => setTimeout(r, 20));
}
