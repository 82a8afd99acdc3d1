import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { after, before, describe, it } from "node:test";
import { createPgliteDb, type TestDatabase } from "../helpers/db.js";
import { startTestGateway, type TestGateway } from "../helpers/gateway.js";
import { waitFor } from "../helpers/processes.js";

interface Received {
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One local HTTP server standing in for an OTLP collector, Sentry and Langfuse (told apart by path). */
async function fakeReceiver(): Promise<{ url: string; port: number; got: Received[]; close(): Promise<void> }> {
  const got: Received[] = [];
  const server: Server = createServer(async (req, res) => {
    let body = "";
    for await (const c of req) body += c;
    got.push({ path: req.url ?? "", headers: req.headers, body });
    res.writeHead(200, { "content-type": "application/json" }).end("{}");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const port = (server.address() as { port: number }).port;
  return { url: `http://127.0.0.1:${port}`, port, got, close: () => new Promise((r) => server.close(() => r())) };
}

describe("tracing, error reporting and generation export", () => {
  let db: TestDatabase;
  let gw: TestGateway;
  let rx: Awaited<ReturnType<typeof fakeReceiver>>;
  let key: string;

  before(async () => {
    db = await createPgliteDb();
    rx = await fakeReceiver();
    gw = await startTestGateway({
      database: db,
      env: {
        OTEL_EXPORTER_OTLP_ENDPOINT: rx.url,
        OTEL_EXPORTER_OTLP_HEADERS: "x-collector-token=abc%20def",
        OTEL_SERVICE_NAME: "gw-under-test",
        SENTRY_DSN: `http://publickey123@127.0.0.1:${rx.port}/42`,
        SENTRY_ENVIRONMENT: "ci",
        LANGFUSE_PUBLIC_KEY: "pk-lf-test",
        LANGFUSE_SECRET_KEY: "sk-lf-test",
        LANGFUSE_BASE_URL: rx.url,
      },
    });
    ({ key } = await gw.createAccountWithKey());
  });
  after(async () => {
    await gw?.stop();
    await rx?.close();
    await db?.drop();
  });

  it("is off by default: no exporter, nothing on the request path", async () => {
    const plain = await startTestGateway({ database: db });
    try {
      assert.equal(plain.gateway.deps.telemetry, null);
    } finally {
      await plain.stop();
    }
  });

  it("a chat completion becomes an OTLP trace (server span + upstream try) and a Langfuse generation", async () => {
    const r = await gw.openai(key).chat.completions.create({ model: "openai/gpt-4o-mini", messages: [{ role: "user", content: "trace me" }] }).withResponse();
    const requestId = r.response.headers.get("x-request-id")!;
    await gw.gateway.deps.logs.flush();
    await gw.gateway.deps.telemetry!.flush();

    const otlp = await waitFor("OTLP export", async () => rx.got.find((g) => g.path === "/v1/traces"));
    assert.equal(otlp.headers["content-type"], "application/json");
    assert.equal(otlp.headers["x-collector-token"], "abc def");
    const doc = JSON.parse(otlp.body) as { resourceSpans: Array<{ resource: { attributes: Array<{ key: string; value: { stringValue?: string } }> }; scopeSpans: Array<{ spans: Array<Record<string, any>> }> }> };
    const rs = doc.resourceSpans[0]!;
    assert.equal(rs.resource.attributes.find((a) => a.key === "service.name")?.value.stringValue, "gw-under-test");
    const spans = rs.scopeSpans[0]!.spans;
    const attrOf = (s: Record<string, any>, k: string) => (s.attributes as Array<{ key: string; value: Record<string, unknown> }>).find((a) => a.key === k)?.value;
    const server = spans.find((s) => attrOf(s, "gateway.request_id")?.stringValue === requestId);
    assert.ok(server, "the request's server span");
    assert.equal(server.kind, 2);
    assert.match(server.traceId, /^[0-9a-f]{32}$/);
    assert.equal(server.traceId, requestId.slice(4, 36), "trace id = the request id's hex, so logs and traces join");
    assert.equal(attrOf(server, "gen_ai.request.model")?.stringValue, "openai/gpt-4o-mini");
    assert.ok(Number(attrOf(server, "gen_ai.usage.input_tokens")?.intValue) > 0);
    assert.ok(BigInt(server.endTimeUnixNano) >= BigInt(server.startTimeUnixNano));
    const child = spans.find((s) => s.parentSpanId === server.spanId);
    assert.ok(child, "an upstream try span under it");
    assert.equal(child.kind, 3);
    assert.equal(child.traceId, server.traceId);

    const lf = await waitFor("Langfuse export", async () => rx.got.find((g) => g.path === "/api/public/ingestion"));
    assert.equal(lf.headers.authorization, `Basic ${Buffer.from("pk-lf-test:sk-lf-test").toString("base64")}`);
    const batch = (JSON.parse(lf.body) as { batch: Array<{ type: string; body: Record<string, any> }> }).batch;
    const gen = batch.find((e) => e.type === "generation-create" && e.body.id === requestId);
    assert.ok(gen, "one generation per request");
    assert.equal(gen.body.traceId, server.traceId);
    assert.ok(gen.body.usage.input > 0 && gen.body.usage.output > 0);
    assert.equal(gen.body.usage.unit, "TOKENS");
    assert.equal(gen.body.metadata.currency, "RUB");
    assert.ok(batch.some((e) => e.type === "trace-create" && e.body.id === server.traceId));
    assert.ok(!lf.body.includes("trace me"), "no prompt text leaves the gateway");
  });

  it("an unexpected error reaches Sentry as an envelope, scrubbed; an expected 4xx does not", async () => {
    const catalog = gw.gateway.deps.catalog as unknown as { models: () => unknown };
    const original = catalog.models;
    catalog.models = () => {
      throw new Error("catalog exploded near sk-upstream-secret-xyz");
    };
    try {
      const r = await fetch(gw.url + "/v1/models", { headers: { authorization: `Bearer ${key}` } });
      assert.equal(r.status, 500);
      assert.ok(!(await r.text()).includes("exploded"), "the client sees a bare 500");
    } finally {
      catalog.models = original;
    }
    await fetch(gw.url + "/v1/models", { headers: { authorization: "Bearer sk-gw-000000000000000000000000000000000000000" } });
    await gw.gateway.deps.telemetry!.flush();
    const envelopes = await waitFor("Sentry envelope", async () => {
      const e = rx.got.filter((g) => g.path === "/api/42/envelope/");
      return e.length ? e : undefined;
    });
    assert.equal(envelopes.length, 1, "the 401 was not reported");
    const env = envelopes[0]!;
    assert.match(String(env.headers["x-sentry-auth"]), /sentry_key=publickey123/);
    const [header, item, event] = env.body.trim().split("\n").map((l) => JSON.parse(l) as Record<string, any>);
    assert.equal(item!.type, "event");
    assert.equal(header!.event_id, event!.event_id);
    assert.equal(event!.environment, "ci");
    assert.equal(event!.tags.route, "/v1/models");
    assert.match(event!.tags.request_id, /^req_/);
    const ex = event!.exception.values[0];
    assert.match(ex.value, /catalog exploded/);
    assert.ok(!env.body.includes("sk-upstream-secret-xyz"), "secrets are scrubbed from the report");
    assert.ok(ex.stacktrace.frames.some((f: { in_app: boolean; filename: string }) => f.in_app && f.filename.includes("telemetry.test.ts")), "frames point at the code");
  });
});
