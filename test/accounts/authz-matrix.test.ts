import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { eq, inArray } from "drizzle-orm";
import { postLedgerEntry } from "../../src/billing/ledger.js";
import { accounts, apiKeys, auditLog, ledgerEntries, paymentOrders, users } from "../../src/db/schema/index.js";
import { describeEachDb, type TestDatabase } from "../helpers/db.js";
import { startTestGateway, type TestGateway } from "../helpers/gateway.js";

/**
 * Authorization matrix (reliability anchors §2.H1): every route the gateway documents in
 * /openapi.json is classified and exercised.
 *  - Admin routes (/admin/*, /v1/admin/*, /v1/key/generate): a client's session (Bearer and cookie),
 *    its management key, its inference key and no credentials must all get 401/403; an admin
 *    user's session must get through.
 *  - Account-scoped client routes (an object id in the path or query): tenant B asking for tenant
 *    A's object gets 404 — never 403, never A's data — while A gets 200 for the same URL.
 *  - Nothing B did changed A's rows.
 * The routes covered are printed (and asserted to include the known account-scoped ones), so a
 * route nobody can classify shows up in the output instead of silently escaping the matrix.
 */

interface Tenant {
  accountId: string;
  userId: string;
  session: string;
  cookie: string;
  csrf: string;
  manageKey: string;
  manageKeyId: string;
  inferenceKey: string;
  inferenceKeyId: string;
  requestId: string;
  orderId: string;
}

type Actor = "session" | "cookie" | "manage_key" | "inference_key" | "anonymous";
const ACTORS: Actor[] = ["session", "cookie", "manage_key", "inference_key", "anonymous"];

/** Routes that are public by design or belong to another authentication scheme. */
const PUBLIC = new Set([
  "GET /",
  "GET /health",
  "GET /metrics",
  "GET /openapi.json",
  "POST /v1/auth/register",
  "POST /v1/auth/login",
  "POST /v1/auth/admin-token",
  "POST /v1/auth/refresh",
  "POST /v1/auth/logout",
  "POST /v1/auth/telegram/widget",
  "POST /v1/auth/telegram/deep-link",
  "POST /v1/auth/telegram/deep-link/poll",
  "POST /telegram/webhook",
  "POST /payments/yookassa/webhook",
]);

/** Ids in these paths name no account's object: the model catalog, the pass-through proxy's upstream path. */
const NOT_OBJECT_SCOPED = new Set(["GET /v1/models/{id}", "POST /api/v1/openrouter/{path}"]);

function isAdminPath(path: string): boolean {
  return path.startsWith("/admin/") || path.startsWith("/v1/admin/") || path === "/v1/key/generate";
}

describeEachDb("authorization matrix", (_kind, createDb) => {
  let db: TestDatabase;
  let gw: TestGateway;
  let A: Tenant;
  let B: Tenant;
  let adminSession: string;
  let spec: { paths: Record<string, Record<string, { parameters?: Array<{ name: string; in: string }> }>> };

  async function req(t: Tenant | null, actor: Actor, method: string, path: string, body?: unknown) {
    const headers: Record<string, string> = {};
    if (t && actor === "session") headers.authorization = `Bearer ${t.session}`;
    if (t && actor === "manage_key") headers.authorization = `Bearer ${t.manageKey}`;
    if (t && actor === "inference_key") headers.authorization = `Bearer ${t.inferenceKey}`;
    if (t && actor === "cookie") {
      headers.cookie = t.cookie;
      headers["x-csrf-token"] = t.csrf;
    }
    const withBody = method !== "GET" && method !== "DELETE";
    if (withBody) headers["content-type"] = "application/json";
    const res = await fetch(gw.url + path, { method, headers, body: withBody ? JSON.stringify(body ?? {}) : undefined, redirect: "manual" });
    const text = await res.text();
    return { status: res.status, text };
  }

  async function tenant(name: string): Promise<Tenant> {
    const email = `${name}@matrix.test`;
    const reg = await fetch(`${gw.url}/v1/auth/register`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ email, password: `${name}-password-123` }) });
    const r = (await reg.json()) as { access_token: string; user: { id: string }; account: { id: string } };
    const login = await fetch(`${gw.url}/v1/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ email, password: `${name}-password-123`, session: "cookie" }) });
    const cookies = login.headers.getSetCookie().map((l) => l.split(";")[0]!);
    const csrf = ((await login.json()) as { csrf_token: string }).csrf_token;
    const mk = async (scopes: string[]) => {
      const k = await fetch(`${gw.url}/v1/auth/api-keys`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${r.access_token}` }, body: JSON.stringify({ name, scopes }) });
      assert.equal(k.status, 201);
      return (await k.json()) as { id: string; secret: string };
    };
    const manage = await mk(["inference", "manage"]);
    const inference = await mk(["inference"]);
    await gw.gateway.deps.db.transaction((tx) => postLedgerEntry(tx, { accountId: r.account.id, kind: "adjustment", amountMicros: 100_000_000n, ref: `matrix:${name}`, reason: "test" }));
    const chat = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${inference.secret}` },
      body: JSON.stringify({ model: "openai/gpt-4o-mini", messages: [{ role: "user", content: "hi" }] }),
    });
    assert.equal(chat.status, 200, await chat.clone().text());
    const requestId = chat.headers.get("x-request-id")!;
    await gw.gateway.deps.logs.flush();
    const orderId = `ord_matrix_${name}`;
    await gw.gateway.deps.db.insert(paymentOrders).values({
      id: orderId,
      accountId: r.account.id,
      userId: r.user.id,
      provider: "yookassa",
      currency: "RUB",
      amountMinor: 10000n,
      creditsMicros: 100_000_000n,
      expiresAt: new Date(Date.now() + 3600_000),
    });
    return {
      accountId: r.account.id,
      userId: r.user.id,
      session: r.access_token,
      cookie: cookies.join("; "),
      csrf,
      manageKey: manage.secret,
      manageKeyId: manage.id,
      inferenceKey: inference.secret,
      inferenceKeyId: inference.id,
      requestId,
      orderId,
    };
  }

  /** A's object for a path parameter / query parameter of a client route, or null when we have none. */
  function objectOf(t: Tenant, path: string, param: string): string | null {
    if (param === "account_id") return t.accountId;
    if (param === "key_id" || param === "api_key_id") return t.inferenceKeyId;
    if (path.startsWith("/v1/auth/api-keys/")) return t.manageKeyId;
    if (path.startsWith("/v1/payments/orders/")) return t.orderId;
    if (path === "/v1/generation" && param === "id") return t.requestId;
    return null;
  }

  /** Any id for admin-route path params (admin routes are refused before the id matters). */
  function adminPath(path: string): string {
    return path.replace(/\{(\w+)\}/g, (_m, p: string) => {
      if (path.startsWith("/admin/accounts/")) return A.accountId;
      if (path.startsWith("/admin/users/")) return A.userId;
      if (path.startsWith("/admin/keys/")) return A.inferenceKeyId;
      return p === "id" ? "x_missing" : "x";
    });
  }

  async function snapshot() {
    // Settled state: a balance lease a request took counts in reserved_micros until it is given back (flush: now).
    await gw.gateway.deps.billing.flush();
    const ids = [A.accountId];
    const strip = <T extends { lastUsedAt?: unknown; updatedAt?: unknown }>(r: T) => ({ ...r, lastUsedAt: null, updatedAt: null });
    return JSON.stringify(
      {
        accounts: (await gw.gateway.deps.db.select().from(accounts).where(inArray(accounts.id, ids))).map(strip),
        users: await gw.gateway.deps.db.select().from(users).where(eq(users.accountId, A.accountId)),
        keys: (await gw.gateway.deps.db.select().from(apiKeys).where(eq(apiKeys.accountId, A.accountId))).map(strip),
        ledger: await gw.gateway.deps.db.select().from(ledgerEntries).where(eq(ledgerEntries.accountId, A.accountId)),
        orders: (await gw.gateway.deps.db.select().from(paymentOrders).where(eq(paymentOrders.accountId, A.accountId))).map(strip),
        audit: (await gw.gateway.deps.db.select().from(auditLog).where(eq(auditLog.targetId, A.accountId))).length,
      },
      (_k, v) => (typeof v === "bigint" ? v.toString() : v),
    );
  }

  before(async () => {
    db = await createDb();
    gw = await startTestGateway({ database: db, env: { KEY_CACHE_TTL_MS: "0", TELEGRAM_MODE: "off" } });
    A = await tenant("alice");
    B = await tenant("bob");
    const admin = await fetch(`${gw.url}/v1/auth/register`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ email: "root@matrix.test", password: "root-password-123" }) });
    const a = (await admin.json()) as { access_token: string; user: { id: string } };
    await gw.gateway.deps.db.update(users).set({ role: "admin" }).where(eq(users.id, a.user.id));
    adminSession = a.access_token;
    spec = (await (await fetch(`${gw.url}/openapi.json`)).json()) as typeof spec;
  });
  after(async () => {
    await gw?.stop();
    await db?.drop();
  });

  test("admin routes: every client credential and no credential is refused (401/403); an admin session passes", async (t) => {
    const before = await snapshot();
    const covered: string[] = [];
    let cells = 0;
    for (const [path, ops] of Object.entries(spec.paths)) {
      if (!isAdminPath(path)) continue;
      for (const method of Object.keys(ops).map((m) => m.toUpperCase())) {
        const url = adminPath(path);
        for (const actor of ACTORS) {
          const r = await req(actor === "anonymous" ? null : B, actor, method, url);
          cells++;
          assert.ok(r.status === 401 || r.status === 403, `${actor} → ${method} ${path}: ${r.status} ${r.text.slice(0, 200)}`);
        }
        if (method === "GET") {
          const r = await fetch(gw.url + url, { headers: { authorization: `Bearer ${adminSession}` } });
          cells++;
          assert.ok(r.status !== 401 && r.status !== 403, `admin session → GET ${path}: ${r.status}`);
        }
        covered.push(`${method} ${path}`);
      }
    }
    assert.equal(await snapshot(), before, "no refused admin call changed tenant A's rows");
    for (const must of ["GET /admin/accounts", "PATCH /admin/accounts/{id}", "GET /admin/users", "PATCH /admin/users/{id}", "GET /admin/keys", "DELETE /admin/keys/{id}", "GET /admin/audit-log", "GET /v1/admin/stats", "GET /v1/admin/clients", "GET /v1/admin/logs", "POST /v1/key/generate"]) {
      assert.ok(covered.includes(must), `matrix covers ${must}`);
    }
    t.diagnostic(`admin routes covered (${covered.length} routes, ${cells} cells):`);
    for (const c of covered) t.diagnostic(`  ${c}`);
    console.log(`# authz matrix: ${covered.length} admin routes × ${ACTORS.length} client/anonymous actors + admin-session GETs = ${cells} cells, violations 0`);
  });

  test("account-scoped routes: tenant B gets 404 for tenant A's objects (never 403, never A's data); A gets 200", async (t) => {
    const before = await snapshot();
    const covered: string[] = [];
    const uncovered: string[] = [];
    let cells = 0;
    for (const [path, ops] of Object.entries(spec.paths)) {
      if (isAdminPath(path)) continue;
      for (const [m, op] of Object.entries(ops)) {
        const method = m.toUpperCase();
        const label = `${method} ${path}`;
        if (PUBLIC.has(label) || NOT_OBJECT_SCOPED.has(label)) continue;
        const pathParams = [...path.matchAll(/\{(\w+)\}/g)].map((x) => x[1]!);
        const queryParams = (op.parameters ?? []).filter((p) => p.in === "query" && ["id", "key_id", "api_key_id", "account_id"].includes(p.name)).map((p) => p.name);
        if (!pathParams.length && !queryParams.length) continue; // acts on the caller's own account only
        let url = path;
        let ok = true;
        for (const p of pathParams) {
          const v = objectOf(A, path, p);
          if (!v) ok = false;
          else url = url.replace(`{${p}}`, encodeURIComponent(v));
        }
        const qs = new URLSearchParams();
        for (const q of queryParams) {
          const v = objectOf(A, path, q);
          if (v) qs.set(q, v);
        }
        if (!ok || (!pathParams.length && ![...qs.keys()].length)) {
          uncovered.push(label);
          continue;
        }
        if (qs.size) url += `?${qs}`;
        const statuses: Record<string, number> = {};
        for (const actor of ACTORS) {
          const r = await req(actor === "anonymous" ? null : B, actor, method, url);
          cells++;
          statuses[actor] = r.status;
          assert.ok([401, 403, 404].includes(r.status), `B/${actor} → ${method} ${url}: ${r.status} ${r.text.slice(0, 200)}`);
          if (r.status === 403) assert.doesNotMatch(r.text, /another account|belongs to|not yours/i, "a 403 here would be about the credential, not the object");
          for (const secretish of [A.accountId, A.requestId]) if (!url.includes(secretish)) assert.ok(!r.text.includes(secretish), "no A data in B's answer");
        }
        assert.ok(Object.values(statuses).includes(404), `${label}: some authorized B credential must reach the handler and get 404 (${JSON.stringify(statuses)})`);
        assert.ok(!Object.entries(statuses).some(([a, s]) => s === 403 && a !== "inference_key" && a !== "anonymous" && statuses.session === 403), `${label}: cross-tenant answer is 404, not 403`);
        if (method === "GET") {
          const mine = await Promise.all((["session", "manage_key", "inference_key"] as Actor[]).map((a) => req(A, a, method, url)));
          cells += mine.length;
          assert.ok(mine.some((r) => r.status === 200), `${label}: control — the owner gets 200 for the same URL (${mine.map((r) => r.status)})`);
        }
        covered.push(`${label}${qs.size ? ` ?${[...qs.keys()].join("&")}=` : ""}`);
      }
    }
    // Body-carried account ids: a client naming another account gets 404 and nothing is created there.
    for (const actor of ["session", "manage_key"] as Actor[]) {
      const r = await req(B, actor, "POST", "/v1/auth/api-keys", { name: "sneaky", account_id: A.accountId });
      cells++;
      assert.equal(r.status, 404, `B/${actor} POST /v1/auth/api-keys {account_id: A}: ${r.status}`);
      const r2 = await req(B, actor, "GET", `/v1/auth/api-keys?account_id=${A.accountId}`);
      cells++;
      assert.equal(r2.status, 404);
    }
    covered.push("POST /v1/auth/api-keys {account_id}");
    assert.equal(await snapshot(), before, "tenant A's rows are unchanged after everything B tried");
    for (const must of ["GET /v1/auth/api-keys/{id}", "PATCH /v1/auth/api-keys/{id}", "DELETE /v1/auth/api-keys/{id}", "POST /v1/auth/api-keys/{id}/rotate"]) {
      assert.ok(covered.includes(must), `matrix covers ${must}`);
    }
    if (spec.paths["/v1/payments/orders/{id}"]) assert.ok(covered.includes("GET /v1/payments/orders/{id}"));
    if (spec.paths["/v1/generation"]) assert.ok(covered.some((c) => c.startsWith("GET /v1/generation")));
    t.diagnostic(`account-scoped routes covered (${covered.length} routes, ${cells} cells):`);
    for (const c of covered) t.diagnostic(`  ${c}`);
    if (uncovered.length) t.diagnostic(`not covered (no fixture for their ids): ${uncovered.join(", ")}`);
    console.log(`# authz matrix: ${covered.length} account-scoped routes, ${cells} cells, violations 0; covered: ${covered.join(" | ")}${uncovered.length ? `; no fixture: ${uncovered.join(" | ")}` : ""}`);
  });
});
