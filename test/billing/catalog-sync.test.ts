import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, test } from "node:test";
import { and, eq } from "drizzle-orm";
import { upsertPrice } from "../../src/billing/admin.js";
import { decidePriceChange, parseOpenRouterModels, syncPrices } from "../../src/billing/catalog-sync.js";
import { ensureBillingDefaults } from "../../src/billing/defaults.js";
import { newRequestId } from "../../src/core/ids.js";
import { auditLog, modelPrices, priceChanges } from "../../src/db/schema/index.js";
import { billingSettings, catalogSyncSettings } from "../../src/main/settings.js";
import { describeEachDb, type TestDatabase } from "../helpers/db.js";
import { authFor, billingFor, makeAccount, model, served, testEnv, usage } from "./helpers.js";

const FIXTURE = JSON.parse(readFileSync(new URL("../fixtures/openrouter-models.json", import.meta.url), "utf8")) as { data: Array<Record<string, any>> };
const env = testEnv({ CATALOG_SYNC_MAX_CHANGE_PCT: 20 });

function edited(edit: (byId: Map<string, Record<string, any>>) => void) {
  const copy = structuredClone(FIXTURE);
  edit(new Map(copy.data.map((m) => [m.id as string, m])));
  return copy;
}

test("the recorded OpenRouter response parses to exact prices; variable-priced models are skipped", () => {
  const { entries, invalid } = parseOpenRouterModels(FIXTURE);
  assert.deepEqual(invalid, ["openrouter/auto"]);
  const by = new Map(entries.map((e) => [e.modelId, e]));
  assert.deepEqual(by.get("openai/gpt-4o-mini")!.prices, { input: 150_000n, output: 600_000n, cachedInput: 75_000n, reasoning: null });
  assert.equal(by.get("openai/gpt-4o-mini")!.maxOutput, 16384);
  assert.equal(by.get("deepseek/deepseek-r1")!.prices.reasoning, 2_500_000n);
  assert.equal(by.get("deepseek/deepseek-r1")!.maxOutput, null);
  assert.equal(by.get("google/gemini-flash-1.5-8b")!.prices.input, 37_500n);
  assert.equal(by.get("mistralai/ministral-3b")!.prices.input, 40_001n, "sub-micro precision rounds up");
  assert.deepEqual(by.get("meta-llama/llama-3.1-8b-instruct:free")!.prices, { input: 0n, output: 0n, cachedInput: null, reasoning: null });
  assert.throws(() => parseOpenRouterModels({ models: [] }));
});

describeEachDb("catalog sync", (_kind, create) => {
  let d: TestDatabase;
  before(async () => {
    d = await create();
    await ensureBillingDefaults(d.db, billingSettings(env));
  });
  after(async () => {
    await d?.drop();
  });

  const row = async (id: string) => (await d.db.select().from(modelPrices).where(and(eq(modelPrices.modelId, id), eq(modelPrices.providerId, "*"))))[0];

  test("first sync adds every priced model; the book then prices requests", async () => {
    const r = await syncPrices(d.db, catalogSyncSettings(env), { body: FIXTURE, actor: "admin:test" });
    assert.deepEqual({ ...r }, { seen: 7, added: 7, updated: 0, unchanged: 0, held: 0, pinned: 0, rejectedBefore: 0, invalid: 1 });
    const mini = (await row("openai/gpt-4o-mini"))!;
    assert.equal(mini.inputMicrosPerM, 150_000n);
    assert.equal(mini.source, "sync");
    const audit = await d.db.select().from(auditLog).where(eq(auditLog.action, "prices.sync"));
    assert.equal(audit.length, 1);

    // A passthrough model with no config price is priced from the book.
    const billing = billingFor(d.db);
    const acct = await makeAccount(d.db, "10");
    const res = await billing.reserve({ requestId: newRequestId(), auth: authFor(acct), endpoint: "chat.completions", model: model("openai/gpt-4o-mini", null, { maxOutput: null }), promptTokens: 1000, requestedMaxTokens: null });
    assert.equal(res.outputTokens, 16384, "the hold covers the max output the book gives");
    assert.equal(res.maxTokens, null, "no cap is written upstream when the client sent none");
    const s = await res.settle(usage(1000, 500), served());
    assert.equal(s.priceMicros, 67_500n);
  });

  test("moves within the guard apply; larger ones (and to/from zero) wait for an admin; admin rows are pinned", async () => {
    await upsertPrice(
      d.db,
      { modelId: "google/gemini-flash-1.5-8b", providerId: "*", prices: { input: 1n, output: 1n, cachedInput: null, reasoning: null }, markupPpm: null, contextLength: null, maxOutput: null, name: null },
      "admin:test",
    );
    const body = edited((m) => {
      m.get("openai/gpt-4o-mini")!.pricing.prompt = "0.000000165"; // +10 %
      m.get("openai/gpt-4o")!.pricing.completion = "0.00002"; // +100 %
      m.get("meta-llama/llama-3.1-8b-instruct:free")!.pricing.prompt = "0.0000001"; // from zero
      m.get("deepseek/deepseek-r1")!.pricing.internal_reasoning = "0.0000029"; // +16 % on one component
      m.get("google/gemini-flash-1.5-8b")!.pricing.prompt = "0.0000001"; // pinned by the admin
    });
    const r = await syncPrices(d.db, catalogSyncSettings(env), { body });
    assert.equal(r.updated, 2);
    assert.equal(r.held, 2);
    assert.equal(r.pinned, 1);
    assert.equal((await row("openai/gpt-4o-mini"))!.inputMicrosPerM, 165_000n);
    assert.equal((await row("deepseek/deepseek-r1"))!.reasoningMicrosPerM, 2_900_000n);
    assert.equal((await row("openai/gpt-4o"))!.outputMicrosPerM, 10_000_000n, "held back");
    assert.equal((await row("meta-llama/llama-3.1-8b-instruct:free"))!.inputMicrosPerM, 0n, "held back");
    assert.equal((await row("google/gemini-flash-1.5-8b"))!.inputMicrosPerM, 1n, "pinned");
    const pending = await d.db.select().from(priceChanges).where(eq(priceChanges.status, "pending"));
    assert.deepEqual(pending.map((p) => p.modelId).sort(), ["meta-llama/llama-3.1-8b-instruct:free", "openai/gpt-4o"]);
    assert.equal(pending.find((p) => p.modelId === "openai/gpt-4o")!.changeBp, 10_000);
    assert.equal(pending.find((p) => p.modelId !== "openai/gpt-4o")!.changeBp, null);

    // The same sync again files nothing new.
    const again = await syncPrices(d.db, catalogSyncSettings(env), { body });
    assert.equal(again.held, 2);
    assert.equal((await d.db.select().from(priceChanges)).length, 2);

    // Approve one, reject the other; a rejected change is not proposed again.
    const big = pending.find((p) => p.modelId === "openai/gpt-4o")!;
    const free = pending.find((p) => p.modelId !== "openai/gpt-4o")!;
    assert.deepEqual(await decidePriceChange(d.db, big.id, "approve", "admin:test"), { ok: true, status: "approved" });
    assert.deepEqual(await decidePriceChange(d.db, big.id, "approve", "admin:test"), { ok: false, reason: "not_pending" });
    assert.equal((await row("openai/gpt-4o"))!.outputMicrosPerM, 20_000_000n);
    assert.deepEqual(await decidePriceChange(d.db, free.id, "reject", "admin:test"), { ok: true, status: "rejected" });
    const third = await syncPrices(d.db, catalogSyncSettings(env), { body });
    assert.equal(third.rejectedBefore, 1);
    assert.equal(third.held, 0);
    assert.equal((await row("meta-llama/llama-3.1-8b-instruct:free"))!.inputMicrosPerM, 0n);
    const decisions = await d.db.select().from(auditLog).where(eq(auditLog.targetType, "price_change"));
    assert.equal(decisions.length, 2);
  });

  test("a guard of 0 % holds every change", async () => {
    const body = edited((m) => {
      // Today's book, plus one tiny move.
      m.get("openai/gpt-4o-mini")!.pricing.prompt = "0.000000165";
      m.get("openai/gpt-4o")!.pricing.completion = "0.00002";
      m.get("deepseek/deepseek-r1")!.pricing.internal_reasoning = "0.0000029";
      m.get("anthropic/claude-3.5-sonnet")!.pricing.prompt = "0.0000030001";
    });
    const r = await syncPrices(d.db, { ...catalogSyncSettings(env), maxChangePct: 0 }, { body });
    assert.equal(r.held, 1);
    assert.equal(r.updated, 0);
    const p = await d.db.select().from(priceChanges).where(and(eq(priceChanges.status, "pending"), eq(priceChanges.modelId, "anthropic/claude-3.5-sonnet")));
    assert.equal(p.length, 1);
    assert.equal(p[0]!.changeBp, 1, "0.0034 % rounds up to 1 bp");
  });
});
