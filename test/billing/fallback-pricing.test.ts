import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { and, eq } from "drizzle-orm";
import { decodeSnapshot, priceUsage } from "../../src/billing/price-plan.js";
import type { ServedBy } from "../../src/contracts/request.js";
import { newId } from "../../src/core/ids.js";
import { holds, ledgerEntries, requestLogs } from "../../src/db/schema/index.js";
import { sweepHolds } from "../../src/jobs/sweep-holds.js";
import { startOpenAIUpstream, type OpenAIUpstream } from "../fakes/openai-upstream.js";
import { describeEachDb, type TestDatabase } from "../helpers/db.js";
import { startTestGateway, type TestGateway } from "../helpers/gateway.js";
import { authFor, billingFor, DB_PATH, drift, makeAccount, model, usage } from "./helpers.js";

// `models: [a, b]`: a request a dearer fallback served is charged the fallback's price, and the hold
// covers the dearest model of the list (it used to be held and charged at the first model's price).

// 100 RUB per USD × 1.5: per token, $0.15/M → 22.5 micros, $3/M → 450, $0.6/M → 90, $12/M → 1800.
const CHEAP = { input: "0.15", output: "0.6" };
const DEAR = { input: "3", output: "12" };
const cheapMicros = (p: number, c: number) => BigInt(Math.ceil((p * 22.5 + c * 90) - 1e-9));
const dearMicros = (p: number, c: number) => BigInt(p * 450 + c * 1800);

const servedBy = (providerId: string, over: Partial<ServedBy> = {}): ServedBy => ({ providerId, upstreamAccountId: null, upstreamModel: "m", discountBp: 0, price: null, ...over });

describeEachDb("fallback models are priced as themselves", (_kind, createDb) => {
  let db: TestDatabase;
  before(async () => {
    db = await createDb();
  });
  after(async () => {
    await db?.drop();
  });

  const cheap = model("t/cheap", CHEAP, { provider: "a" });
  const dear = model("t/dear", DEAR, { provider: "b" });
  // The same provider serving both (OpenRouter with the client's list, which picks the model itself).
  const dearOnA = { ...model("t/dear", DEAR, { provider: "a" }), routes: [{ ...model("t/dear", DEAR).routes[0]!, providerId: "a", upstreamModel: "vendor/dear" }] };

  test("the hold covers the dearest model; a fallback that served is charged its own price, never above the hold", async () => {
    const billing = billingFor(db.db);
    const acct = await makeAccount(db.db, "100");
    const auth = authFor(acct);
    const prepared = await billing.prepare({ auth, endpoint: "chat.completions", model: cheap, fallbacks: [{ model: dear, param: "models.1" }] });
    const res = await prepared.reserve({ requestId: newId("request"), promptTokens: 100, requestedMaxTokens: 200 });
    // Held at the dear model's rates for the prompt and the output the client asked for.
    assert.ok(res.holdMicros >= dearMicros(100, 200), `hold ${res.holdMicros} covers the dear model`);
    const settled = await res.settle(usage(100, 200), servedBy("b", { modelId: "t/dear" }));
    assert.equal(settled.priceMicros, dearMicros(100, 200));
    assert.ok(settled.priceMicros <= res.holdMicros);

    // The requested model that served is still charged its own (cheaper) price.
    const res2 = await prepared.reserve({ requestId: newId("request"), promptTokens: 100, requestedMaxTokens: 200 });
    assert.equal((await res2.settle(usage(100, 200), servedBy("a", { modelId: "t/cheap" }))).priceMicros, cheapMicros(100, 200));
    await billing.flush();
    assert.deepEqual(await drift(db.db, acct), { ledger: 0n, holds: 0n });
    await billing.close();
  });

  test("OpenRouter serving the list itself: the model it names is the price, on the same provider", async () => {
    const billing = billingFor(db.db);
    const acct = await makeAccount(db.db, "100");
    const prepared = await billing.prepare({ auth: authFor(acct), endpoint: "chat.completions", model: cheap, fallbacks: [{ model: dearOnA, param: "models.1" }] });
    const res = await prepared.reserve({ requestId: newId("request"), promptTokens: 10, requestedMaxTokens: 20 });
    // Planned for t/cheap, answered by the fallback (the upstream reports its name).
    assert.equal(res.quote(usage(10, 20), servedBy("a", { modelId: "t/cheap", upstreamModel: "vendor/dear" })).priceMicros, dearMicros(10, 20));
    assert.equal(res.quote(usage(10, 20), servedBy("a", { modelId: "t/cheap", upstreamModel: "t/cheap" })).priceMicros, cheapMicros(10, 20));
    // Our own router planned the fallback on the provider both models share (its name with the provider's prefix).
    assert.equal(res.quote(usage(10, 20), servedBy("a", { modelId: "t/dear", upstreamModel: "litellm-vendor-dear" })).priceMicros, dearMicros(10, 20));
    await res.release();
    await billing.close();
  });

  test("a fallback the tariff does not price is refused naming its list entry", async () => {
    const billing = billingFor(db.db, { BILLING_UNPRICED_HOLD: "" });
    const acct = await makeAccount(db.db, "100");
    const unpriced = model("t/unpriced", null, { provider: "b" });
    await assert.rejects(
      billing.prepare({ auth: authFor(acct), endpoint: "chat.completions", model: cheap, fallbacks: [{ model: unpriced, param: "models.2" }] }),
      (e: { code?: string; extra?: { param?: string } }) => e.code === "model_not_priced" && e.extra?.param === "models.2",
    );
    await billing.close();
  });

  test("the sweeper prices a crashed fallback request as the fallback (from the row's served model); a hold written before still settles", async () => {
    // The sweeper's path: hold rows (a leased request has none; its replay is tested in lease.test.ts).
    const billing = billingFor(db.db, DB_PATH);
    const acct = await makeAccount(db.db, "100");
    const auth = authFor(acct);
    const prepared = await billing.prepare({ auth, endpoint: "chat.completions", model: cheap, fallbacks: [{ model: dear, param: "models.1" }] });
    const [fresh, old] = [newId("request"), newId("request")];
    for (const id of [fresh, old]) await prepared.reserve({ requestId: id, promptTokens: 100, requestedMaxTokens: 200 });
    // The older hold format: provider id → five-element rows, no fallback models.
    const legacy = { v: 1, rate: "100000000", cur: "RUB", t: "trf_default", mk: "1500000", r: { a: ["150000", "600000", null, null, "1500000"] }, uh: null };
    await db.db.update(holds).set({ snapshot: legacy }).where(eq(holds.requestId, old));
    assert.equal(decodeSnapshot(legacy).fallbacks, undefined);
    assert.equal(priceUsage(decodeSnapshot(legacy), usage(100, 200), "a", 0).priceMicros, cheapMicros(100, 200));
    // The process died after the upstream answered: final rows, no settlement.
    for (const [id, prov, servedModel] of [
      [fresh, "b", "openrouter/t/dear"],
      [old, "a", "t/cheap"],
    ] as const) {
      await db.db.insert(requestLogs).values({ id, accountId: acct, apiKeyId: auth.keyId, endpoint: "chat.completions", requestedModel: "t/cheap", servedModel, providerId: prov, status: "completed", promptTokens: 100, completionTokens: 200, stream: false });
    }
    const r = await sweepHolds(db.db, { now: new Date(Date.now() + 3_600_000), pendingGraceMs: 0 });
    assert.equal(r.settled, 2);
    const charged = async (id: string) => (await db.db.select().from(holds).where(eq(holds.requestId, id)))[0]!;
    assert.equal((await charged(fresh)).chargedMicros, dearMicros(100, 200));
    assert.equal((await charged(old)).chargedMicros, cheapMicros(100, 200));
    assert.deepEqual(await drift(db.db, acct), { ledger: 0n, holds: 0n });
    await billing.close();
  });
});

describeEachDb("a `models` fallback through the gateway", (_kind, createDb) => {
  let db: TestDatabase;
  let gw: TestGateway;
  let a: OpenAIUpstream;
  let b: OpenAIUpstream;
  let key: string;

  before(async () => {
    db = await createDb();
    a = await startOpenAIUpstream();
    b = await startOpenAIUpstream();
    gw = await startTestGateway({
      database: db,
      mock: false,
      config: {
        providers: [
          { id: "pa", type: "openai", base_url: a.baseUrl },
          { id: "pb", type: "openai", base_url: b.baseUrl },
        ],
        models: [
          { id: "t/cheap", routes: [{ provider: "pa", model: "gpt-4o-mini" }], price: { input: 0.15, output: 0.6 } },
          { id: "t/dear", routes: [{ provider: "pb", model: "gpt-4o" }], price: { input: 3, output: 12 } },
        ],
      },
      env: { USD_RATE: "100", DEFAULT_MARKUP: "1.5", BILLING_CACHE_TTL_MS: "0", KEY_CACHE_TTL_MS: "0", RATE_LIMIT_REQUESTS: "0", RATE_LIMIT_TOKENS: "0" },
    });
    ({ key } = await gw.createAccountWithKey({ balance: "100" }));
  });
  after(async () => {
    await gw?.stop();
    await a?.close();
    await b?.close();
    await db?.drop();
  });

  test("the cheap model's upstream fails, the dear fallback serves: charged the dear price, within the hold", async () => {
    a.configure({ status: 500 });
    b.configure({ usage: { prompt_tokens: 100, completion_tokens: 200 } });
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "t/cheap", models: ["t/dear"], max_tokens: 300, messages: [{ role: "user", content: "Hi" }] }),
    });
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal(res.headers.get("x-gateway-provider"), "pb");
    const id = res.headers.get("x-request-id")!;
    await gw.gateway.deps.logs.flush();
    const [row] = await db.db.select().from(requestLogs).where(eq(requestLogs.id, id));
    assert.equal(row!.providerId, "pb");
    assert.equal(row!.priceMicros, dearMicros(100, 200), "the model that served is the price");
    // Admitted on a balance lease (the default): the charge is the usage ledger row, its hold in the row's meta.
    await gw.gateway.deps.billing.flush();
    const [entry] = await db.db.select().from(ledgerEntries).where(and(eq(ledgerEntries.kind, "usage"), eq(ledgerEntries.ref, id)));
    assert.equal(-entry!.amountMicros, dearMicros(100, 200));
    const hold = BigInt((entry!.meta as { hold_micros?: string }).hold_micros ?? "0");
    assert.ok(hold >= -entry!.amountMicros, `charge ${-entry!.amountMicros} ≤ hold ${hold}`);
  });
});
