import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { createPgliteDb, IN_CI, type TestDatabase } from "../helpers/db.js";
import { startTestGateway, type TestGateway } from "../helpers/gateway.js";
import { freePort, startChild, waitFor, type ChildHandle } from "../helpers/processes.js";
import { startOpenAIUpstream, type OpenAIUpstream } from "../fakes/openai-upstream.js";

const PROMETHEUS = process.env.PROMETHEUS_BIN ?? "/usr/bin/prometheus";
const DASHBOARD = resolve("deploy/grafana/dashboards/llm-gateway.json");
const ALERTS = resolve("deploy/prometheus/alerts.yml");

function havePrometheus(): boolean {
  if (existsSync(PROMETHEUS)) return true;
  if (IN_CI) throw new Error(`Prometheus is not installed at ${PROMETHEUS}; CI must run this suite (apt-get install prometheus)`);
  console.log(`# SKIPPED prometheus suite: no ${PROMETHEUS}`);
  return false;
}

interface Panel {
  title: string;
  targets?: Array<{ expr: string }>;
}

/** Every PromQL expression of the Grafana dashboard, with its panel title. */
function dashboardExpressions(): Array<{ panel: string; expr: string }> {
  const d = JSON.parse(readFileSync(DASHBOARD, "utf8")) as { panels: Panel[] };
  return d.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));
}

describe("a real Prometheus scrapes the gateway and every dashboard query has data", { skip: !havePrometheus() }, () => {
  let db: TestDatabase;
  let gw: TestGateway;
  let failing: OpenAIUpstream;
  let healthy: OpenAIUpstream;
  let prom: ChildHandle;
  let promUrl: string;
  let dir: string;
  /** Ids and secrets that must never appear in a label. */
  const secrets: string[] = [];

  before(async () => {
    db = await createPgliteDb();
    [failing, healthy] = await Promise.all([startOpenAIUpstream(), startOpenAIUpstream()]);
    failing.configure({ status: 503 });
    const provider = (id: string, m: OpenAIUpstream) => ({ id, type: "openai", base_url: m.baseUrl, api_key: `sk-config-${id}-0000000000` });
    gw = await startTestGateway({
      database: db,
      mock: false,
      env: { METRICS_ENABLED: "true", RATE_LIMIT_REQUESTS: "6", RATE_LIMIT_WINDOW: "60", ENCRYPTION_KEY: randomBytes(32).toString("hex") },
      config: {
        providers: [provider("primary", failing), provider("backup", healthy)],
        models: [
          { id: "test/fallback", routes: [{ provider: "primary", model: "gpt-4o-mini", priority: 1 }, { provider: "backup", model: "gpt-4o-mini", priority: 2 }], price: { input: 1, output: 2 } },
          { id: "test/direct", routes: [{ provider: "backup", model: "gpt-4o-mini", priority: 1 }], price: { input: 1, output: 2 } },
        ],
      },
    });

    // A known upstream balance (low, so the alert has something to say).
    const ua = await gw.admin("/admin/routing/upstream-accounts", { body: { provider_id: "backup", name: "backup-main", api_key: "sk-backup-0123456789abcdef", balance: "5.00" } });
    assert.equal(ua.status, 201, await ua.text());

    // Traffic: streamed and plain successes, a fallback after upstream failures, estimated usage,
    // a failure on every route, a 402 (no balance) and 429s (per-key request limit).
    const { key, accountId, keyId } = await gw.createAccountWithKey({ balance: "100.00" });
    secrets.push(key, accountId, keyId);
    const client = gw.openai(key);
    const stream = await client.chat.completions.create({ model: "test/direct", messages: [{ role: "user", content: "stream please" }], stream: true });
    for await (const _ of stream) void _;
    await client.chat.completions.create({ model: "test/direct", messages: [{ role: "user", content: "hello" }] });
    await client.chat.completions.create({ model: "test/fallback", messages: [{ role: "user", content: "fall back" }] });
    await client.chat.completions.create({ model: "test/direct", messages: [{ role: "user", content: "no usage" }], mock: { omit_usage: true } } as never);
    await assert.rejects(client.chat.completions.create({ model: "test/direct", messages: [{ role: "user", content: "fail" }], mock: { status: 500 } } as never));

    const broke = await gw.createAccountWithKey({ balance: "0" });
    secrets.push(broke.key, broke.accountId, broke.keyId);
    await assert.rejects(gw.openai(broke.key).chat.completions.create({ model: "test/direct", messages: [{ role: "user", content: "hi" }] }), (e: { status?: number }) => e.status === 402);

    const burst = await gw.createAccountWithKey({ balance: "100.00" });
    secrets.push(burst.key, burst.accountId, burst.keyId);
    const statuses = await Promise.all(
      Array.from({ length: 9 }, () =>
        fetch(gw.url + "/v1/chat/completions", {
          method: "POST",
          headers: { authorization: `Bearer ${burst.key}`, "content-type": "application/json" },
          body: JSON.stringify({ model: "test/direct", messages: [{ role: "user", content: "x" }], max_tokens: 5 }),
        }).then(async (r) => (await r.arrayBuffer(), r.status)),
      ),
    );
    assert.ok(statuses.includes(429), `the burst hit the per-key limit: ${statuses.join(",")}`);
    await gw.gateway.deps.logs.flush();

    dir = mkdtempSync(join(tmpdir(), "gw-prometheus-"));
    const target = new URL(gw.url).host;
    writeFileSync(
      join(dir, "prometheus.yml"),
      [
        "global:",
        "  scrape_interval: 1s",
        "  evaluation_interval: 1s",
        "rule_files:",
        `  - ${ALERTS}`,
        "scrape_configs:",
        "  - job_name: llm-gateway",
        "    metrics_path: /metrics",
        "    static_configs:",
        `      - targets: ["${target}"]`,
        "",
      ].join("\n"),
    );
    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    prom = startChild(PROMETHEUS, [
      `--config.file=${join(dir, "prometheus.yml")}`,
      `--storage.tsdb.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--storage.tsdb.retention.time=1h",
    ]);
    await waitFor("Prometheus ready", async () => ((await fetch(`${promUrl}/-/ready`)).ok ? true : undefined), 60_000);
    // rate() needs two samples of a series: wait until the scrapes have seen the traffic twice.
    await waitFor(
      "two scrapes of the gateway",
      async () => {
        const r = await query("count_over_time(gateway_requests_total[1m])");
        return r.length > 0 && r.every((s) => Number(s.value[1]) >= 3) ? true : undefined;
      },
      60_000,
    );
  });

  after(async () => {
    await prom?.stop();
    await gw?.stop();
    await Promise.all([failing?.close(), healthy?.close()]);
    await db?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function query(q: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>> {
    const r = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(q)}`);
    const body = (await r.json()) as { status: string; error?: string; data?: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
    if (body.status !== "success") throw new Error(`${q}: ${body.error}`);
    return body.data!.result;
  }

  it("the scrape target is up", async () => {
    const up = await query('up{job="llm-gateway"}');
    assert.equal(up[0]?.value[1], "1", prom.output());
  });

  it("every expression of the Grafana dashboard returns at least one series", async () => {
    const exprs = dashboardExpressions();
    assert.ok(exprs.length >= 25, `the dashboard has its panels (${exprs.length} expressions)`);
    const empty: string[] = [];
    for (const { panel, expr } of exprs) {
      const r = await query(expr);
      if (r.length === 0) empty.push(`${panel}: ${expr}`);
    }
    assert.deepEqual(empty, [], "dashboard queries without data (a renamed or missing metric?)");
  });

  it("the counters agree with the traffic that was sent", async () => {
    const byStatus = Object.fromEntries((await query("sum by (status) (gateway_requests_total)")).map((s) => [s.metric.status, Number(s.value[1])]));
    assert.ok((byStatus.completed ?? 0) >= 4, JSON.stringify(byStatus));
    assert.ok((byStatus.failed ?? 0) >= 1, JSON.stringify(byStatus));
    const fallbacks = await query('sum(gateway_fallbacks_total{from_provider="primary",to_provider="backup"})');
    assert.ok(Number(fallbacks[0]?.value[1]) >= 1);
    const refusals = Object.fromEntries((await query("sum by (status) (gateway_refusals_total)")).map((s) => [s.metric.status, Number(s.value[1])]));
    assert.ok((refusals["402"] ?? 0) >= 1 && (refusals["429"] ?? 0) >= 1, JSON.stringify(refusals));
    const scope = await query('gateway_refusals_total{status="429"}');
    assert.ok(scope.some((s) => s.metric.scope?.startsWith("key")), JSON.stringify(scope.map((s) => s.metric)));
    const revenue = Number((await query("sum(gateway_revenue_total)"))[0]?.value[1]);
    assert.ok(revenue > 0, "revenue counted in the account currency");
    assert.equal(Number((await query("max(abs(gateway_ledger_drift))"))[0]?.value[1]), 0, "balances match the ledger");
    assert.equal(Number((await query('min(gateway_upstream_balance_usd{upstream_account="backup-main"})'))[0]?.value[1]), 5);
  });

  it("no label carries a key, account or user id", async () => {
    const series = await query('{__name__=~"gateway_.+"}');
    assert.ok(series.length > 50);
    assert.equal(secrets.length, 9);
    for (const s of series) {
      for (const [k, v] of Object.entries(s.metric)) {
        for (const id of secrets) assert.ok(!v.includes(id), `${s.metric.__name__} ${k}=${v} carries an id`);
      }
    }
  });

  it("the alert rules load and evaluate", async () => {
    const r = (await (await fetch(`${promUrl}/api/v1/rules`)).json()) as { data: { groups: Array<{ rules: Array<{ name: string; health: string; lastError?: string; state?: string }> }> } };
    const rules = await waitFor("rules evaluated", async () => {
      const x = (await (await fetch(`${promUrl}/api/v1/rules`)).json()) as typeof r;
      const all = x.data.groups.flatMap((g) => g.rules);
      return all.length && all.every((rule) => rule.health !== "unknown") ? all : undefined;
    });
    assert.ok(rules.length >= 5);
    for (const rule of rules) assert.equal(rule.health, "ok", `${rule.name}: ${rule.lastError ?? ""}`);
    const low = rules.find((x) => x.name === "GatewayLowUpstreamBalance");
    assert.ok(low && low.state !== "inactive", "the 5 USD upstream balance trips the low-balance alert (pending)");
  });
});
