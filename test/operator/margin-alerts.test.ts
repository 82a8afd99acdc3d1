import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, test } from "node:test";
import { eq } from "drizzle-orm";
import { Alerts } from "../../src/alerts/alerts.js";
import { runAlertChecks } from "../../src/alerts/checks.js";
import { telegramAlertSink } from "../../src/alerts/sinks.js";
import { applyMarginRule } from "../../src/billing/margin.js";
import { paymentAnomalies, requestLogs, tariffs, upstreamAccounts } from "../../src/db/schema/index.js";
import { startOpenAIUpstream, type OpenAIUpstream } from "../fakes/openai-upstream.js";
import { describeEachDb, type TestDatabase } from "../helpers/db.js";
import { startTestGateway, type TestGateway } from "../helpers/gateway.js";
import { startSmtpSink } from "../helpers/smtp.js";

test("the margin rule: charge max(list, reported) × markup, or keep the list price; within list nothing is flagged", () => {
  const base = { listCostMicros: 100n, listPriceMicros: 150n, reportedCostMicros: 300n, reportedPriceMicros: 450n };
  assert.deepEqual(applyMarginRule({ ...base, rule: "charge_reported" }), { priceMicros: 450n, flag: "charged_reported" });
  assert.deepEqual(applyMarginRule({ ...base, rule: "list_price" }), { priceMicros: 150n, flag: "kept_list" });
  assert.deepEqual(applyMarginRule({ ...base, reportedCostMicros: 90n, reportedPriceMicros: 135n, rule: "charge_reported" }), { priceMicros: 150n, flag: null });
});

test("alerts: Telegram admin chat gets the text; the same kind + subject repeats only after the interval", async () => {
  const got: Array<{ url: string; body: any }> = [];
  const srv = createServer((req, res) => {
    let b = "";
    req.on("data", (d) => (b += d));
    req.on("end", () => {
      got.push({ url: req.url!, body: JSON.parse(b) });
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ ok: true, result: { message_id: 1 } }));
    });
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
  const clock = { t: 1_000_000, now() { return this.t; } };
  const alerts = new Alerts([telegramAlertSink({ token: "123:ABC", apiRoot: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`, chatId: "-1001" })], { repeatMs: 60_000 }, clock);
  assert.equal(alerts.raise({ kind: "circuit_open", subject: "openrouter", text: "open" }), true);
  assert.equal(alerts.raise({ kind: "circuit_open", subject: "openrouter", text: "open" }), false, "deduplicated");
  assert.equal(alerts.raise({ kind: "circuit_open", subject: "other", text: "open" }), true, "another subject is another alert");
  clock.t += 61_000;
  assert.equal(alerts.raise({ kind: "circuit_open", subject: "openrouter", text: "still open" }), true);
  await alerts.flush();
  srv.close();
  assert.equal(got.length, 3);
  assert.equal(got[0]!.url, "/bot123:ABC/sendMessage");
  assert.equal(got[0]!.body.chat_id, "-1001");
  assert.match(got[0]!.body.text, /Circuit open: openrouter/);
  assert.deepEqual(alerts.recent().map((a) => a.delivered), [["telegram"], ["telegram"], ["telegram"]]);
});

describeEachDb("margin guard and operator alerts", (_kind, createDb) => {
  let db: TestDatabase;
  let gw: TestGateway;
  let mock: OpenAIUpstream;
  let smtp: Awaited<ReturnType<typeof startSmtpSink>>;

  before(async () => {
    db = await createDb();
    mock = await startOpenAIUpstream();
    smtp = await startSmtpSink();
    gw = await startTestGateway({
      database: db,
      mock: false,
      config: {
        providers: [{ id: "up", type: "openai", base_url: mock.baseUrl, api_key: "sk-up" }],
        // $1 / $2 per 1M tokens: 1000 + 1000 tokens list at $0.003
        models: [{ id: "acme/cheap", routes: [{ provider: "up", model: "cheap" }], price: { input: 1, output: 2 } }],
      },
      env: { TELEGRAM_MODE: "off", BILLING_CACHE_TTL_MS: "0", SMTP_HOST: "127.0.0.1", SMTP_PORT: String(smtp.port), ALERT_EMAIL_TO: "ops@gw.test", BILLING_MARGIN_RULE: "list_price" },
    });
  });
  after(async () => {
    await gw?.stop();
    await mock?.close();
    await smtp?.close();
    await db?.drop();
  });

  const ask = async (key: string) => {
    const r = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "acme/cheap", messages: [{ role: "user", content: "hi" }], max_tokens: 2000 }),
    });
    assert.equal(r.status, 200, await r.clone().text());
    return r.headers.get("x-request-id")!;
  };

  test("upstream cost above list: list_price keeps the price, flags the row, alerts by e-mail and lists it at /admin/margin", async () => {
    // The upstream reports $1 for what the price book says is $0.003.
    mock.configure({ usage: { prompt_tokens: 1000, completion_tokens: 1000, cost: 1 } });
    const { key, accountId } = await gw.createAccountWithKey({ balance: "100" });
    const id = await ask(key);
    await gw.gateway.deps.logs.flush();
    const [row] = await db.db.select().from(requestLogs).where(eq(requestLogs.id, id));
    // list: 0.003 USD × 100 RUB × 1.5 = 0.45 RUB; cost 1 USD × 100 = 100 RUB
    assert.equal(row!.priceMicros, 450_000n);
    assert.equal(row!.upstreamCostMicros, 100_000_000n);
    assert.equal(row!.profitMicros, -99_550_000n);
    assert.equal(row!.meta?.margin, "kept_list", "flagged on the log row");

    const list = (await (await gw.admin("/admin/margin?days=1")).json()) as any;
    assert.equal(list.data.length, 1);
    assert.equal(list.data[0].id, id);
    assert.equal(list.data[0].account_id, accountId);
    assert.equal(list.data[0].profit, "-99.55");
    assert.equal(list.data[0].margin, "kept_list");
    assert.equal(list.total_loss, "99.55");

    await gw.gateway.deps.operator.alerts.flush();
    const alerts = (await (await gw.admin("/admin/alerts")).json()) as any;
    const a = alerts.data.find((x: any) => x.kind === "negative_margin");
    assert.ok(a, "alert raised");
    assert.deepEqual(a.delivered, ["email"]);
    const mails = await smtp.waitFor(1);
    assert.equal(mails[0]!.to[0], "ops@gw.test");
    assert.match(mails[0]!.subject, /Negative margin: up/);
    assert.match(mails[0]!.text, /loss 99\.55/);

    const metrics = await gw.gateway.deps.metrics?.registry.getSingleMetricAsString("gateway_margin_guard_requests_total");
    if (metrics) assert.match(metrics, /flag="kept_list",negative="true"} 1/);
  });

  test("a tariff with margin_rule charge_reported bills max(list, reported) × markup: no loss", async () => {
    // Above the 0.45 RUB list price but below the request's ~0.60 RUB hold, which caps any charge.
    mock.configure({ usage: { prompt_tokens: 1000, completion_tokens: 1000, cost: 0.0035 } });
    await db.db.insert(tariffs).values({ id: "trf_pass", name: "pass-through", markupPpm: 1_500_000n, marginRule: "charge_reported" });
    const { key, accountId } = await gw.createAccountWithKey({ balance: "100" });
    const assigned = await gw.admin(`/admin/accounts/${accountId}/tariff`, { method: "PUT", body: { tariff_id: "trf_pass" } });
    assert.equal(assigned.status, 200, await assigned.clone().text());
    const id = await ask(key);
    await gw.gateway.deps.logs.flush();
    const [row] = await db.db.select().from(requestLogs).where(eq(requestLogs.id, id));
    // reported $0.0035 × 100 × 1.5 = 0.525 RUB (above the 0.45 list price)
    assert.equal(row!.priceMicros, 525_000n);
    assert.equal(row!.upstreamCostMicros, 350_000n);
    assert.equal(row!.meta?.margin, "charged_reported");
    assert.ok(row!.profitMicros! > 0n);
  });

  test("database checks: low upstream balance, an open circuit, a payment anomaly and the negative-margin rows each raise one alert", async () => {
    const alerts = new Alerts([], { repeatMs: 3600_000 }, { now: () => Date.now() });
    await db.db.insert(upstreamAccounts).values({ id: "ua_low", providerId: "up", name: "main", apiKeyEncrypted: "v1.x", apiKeyMask: "sk-…", balanceMicros: 2_000_000n });
    await db.db.insert(paymentAnomalies).values({ id: "pan_1", provider: "yookassa", ref: "yk-9", reason: "amount_mismatch" });
    const since = new Date(Date.now() - 60_000);
    const n = await runAlertChecks(db.db, alerts, since, { upstreamBalanceMicros: 5_000_000n, currency: "RUB" }, () => [{ key: "up|ua_low", retryAt: null }]);
    const kinds = alerts.recent().map((a) => a.kind).sort();
    assert.deepEqual(kinds, ["circuit_open", "negative_margin", "payment_anomaly", "upstream_balance_low"]);
    assert.equal(n, 4);
    assert.match(alerts.recent().find((a) => a.kind === "upstream_balance_low")!.text, /\$2\.00 left, below \$5\.00/);
    assert.equal(await runAlertChecks(db.db, alerts, since, { upstreamBalanceMicros: 5_000_000n, currency: "RUB" }), 0, "repeats wait for the interval");
  });
});
