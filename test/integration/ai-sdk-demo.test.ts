import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { createOpenAI } from "@ai-sdk/openai";
import { generateText, streamText } from "ai";
import { and, desc, eq } from "drizzle-orm";
import { ledgerEntries, requestLogs } from "../../src/db/schema/index.js";
import { describeEachDb, type TestDatabase } from "../helpers/db.js";
import { startTestGateway, type TestGateway } from "../helpers/gateway.js";

async function until<T>(f: () => Promise<T | null | undefined | false>, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The newest finished `responses` row and its ledger charge. */
async function lastResponsesRow(gw: TestGateway, stream: boolean) {
  const db = gw.gateway.deps.db;
  const row = await until(async () => {
    await gw.gateway.deps.logs.flush();
    const [r] = await db
      .select()
      .from(requestLogs)
      .where(and(eq(requestLogs.endpoint, "responses"), eq(requestLogs.stream, stream)))
      .orderBy(desc(requestLogs.createdAt))
      .limit(1);
    return r && r.status !== "pending" ? r : null;
  });
  const entry = await until(async () => (await db.select().from(ledgerEntries).where(and(eq(ledgerEntries.kind, "usage"), eq(ledgerEntries.ref, row.id))))[0]);
  return { row, entry };
}

describeEachDb("@ai-sdk/openai's default provider (the Responses API) in demo mode", (_kind, createDb) => {
  let db: TestDatabase;
  let gw: TestGateway;
  let apiKey: string;

  before(async () => {
    db = await createDb();
    // No upstream configured: demo mode, the built-in mock answers, its models are priced.
    gw = await startTestGateway({ database: db, mock: false });
    assert.ok(gw.gateway.demoKey, "demo mode made a key");
    apiKey = gw.gateway.demoKey;
  });
  after(async () => {
    await gw?.stop();
    await db?.drop();
  });

  test("generateText: text and usage through /v1/responses, billed with that usage", async () => {
    const openai = createOpenAI({ baseURL: `${gw.url}/v1`, apiKey });
    const r = await generateText({ model: openai("gpt-4o-mini"), prompt: "Say hello", maxOutputTokens: 64 });
    assert.equal(r.text, "Hello from the mock upstream");
    assert.equal(r.finishReason, "stop");
    const { row, entry } = await lastResponsesRow(gw, false);
    assert.equal(row.status, "completed");
    assert.equal(row.promptTokens, r.usage.inputTokens);
    assert.equal(row.completionTokens, r.usage.outputTokens);
    assert.equal(row.estimated, false);
    assert.ok(row.priceMicros! > 0n, "demo mode prices the model");
    assert.equal(entry.amountMicros, -row.priceMicros!);
  });

  test("streamText: streamed text and final usage, billed with that usage", async () => {
    const openai = createOpenAI({ baseURL: `${gw.url}/v1`, apiKey });
    const r = streamText({ model: openai("gpt-4o-mini"), prompt: "Stream hello" });
    let text = "";
    for await (const t of r.textStream) text += t;
    const usage = await r.usage;
    assert.equal(text, "Hello from the mock upstream");
    assert.equal(await r.finishReason, "stop");
    const { row, entry } = await lastResponsesRow(gw, true);
    assert.equal(row.status, "completed");
    assert.equal(row.promptTokens, usage.inputTokens);
    assert.equal(row.completionTokens, usage.outputTokens);
    assert.ok(row.priceMicros! > 0n);
    assert.equal(entry.amountMicros, -row.priceMicros!);
  });
});
