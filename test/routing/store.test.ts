import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, it } from "node:test";
import { sql } from "drizzle-orm";
import { ConfigError } from "../../src/config/env.js";
import { auditLog } from "../../src/db/schema/index.js";
import {
  createUpstreamAccount,
  deleteRoute,
  listUpstreamAccounts,
  updateUpstreamAccount,
  upsertRoute,
  createProvider,
  type AdminContext,
} from "../../src/routing/admin.js";
import { createSecretBox } from "../../src/routing/secret-box.js";
import { loadRoutingSnapshot, verifyEncryptionKey } from "../../src/routing/store.js";
import { describeEachDb, type TestDatabase } from "../helpers/db.js";

const KEY = randomBytes(32).toString("hex");
const OTHER = randomBytes(32).toString("hex");
const SECRET = "sk-or-v1-THISISTHEPLAINTEXTSECRET9f3a";

describeEachDb("routing store: sealed upstream keys, start-up key check, runtime routes", (_kind, create) => {
  let d: TestDatabase;
  before(async () => {
    d = await create();
  });
  after(async () => {
    await d.drop();
  });
  const ctx = (): AdminContext => ({ db: d.db, box: createSecretBox(KEY), actor: "admin:test", configProviderIds: ["openrouter"] });

  it("stores the key sealed: the raw row never contains the plain text", async () => {
    const v = await createUpstreamAccount(ctx(), { providerId: "openrouter", name: "master-1", apiKey: SECRET, discountBp: 7000 });
    assert.equal(v.apiKeyMask, "sk-or-v1-…9f3a");
    assert.ok(!("apiKeyEncrypted" in v));
    const raw = await d.db.execute(sql`select * from upstream_accounts`);
    const text = JSON.stringify((raw as unknown as { rows: unknown[] }).rows ?? raw);
    assert.ok(text.includes(v.id));
    assert.ok(!text.includes(SECRET), "plaintext key found in the row");
    assert.ok(!text.includes("THISISTHEPLAINTEXT"), "part of the key found in the row");
    // Nor in the audit log.
    const audit = JSON.stringify(await d.db.select().from(auditLog));
    assert.ok(audit.includes("routing.upstream_account.create"));
    assert.ok(!audit.includes("THISISTHEPLAINTEXT"));
    const snap = await loadRoutingSnapshot(d.db, createSecretBox(KEY), 1);
    const live = snap.accountsByProvider.get("openrouter")!;
    assert.equal(live.length, 1);
    assert.equal(live[0]!.apiKey, SECRET);
    assert.equal(live[0]!.discountBp, 7000);
  });

  it("the same key starts; a wrong or missing ENCRYPTION_KEY is a clear start-up error", async () => {
    await verifyEncryptionKey(d.db, createSecretBox(KEY));
    await assert.rejects(verifyEncryptionKey(d.db, createSecretBox(OTHER)), (e: unknown) => e instanceof ConfigError && /does not match/.test(e.message));
    await assert.rejects(verifyEncryptionKey(d.db, null), (e: unknown) => e instanceof ConfigError && /ENCRYPTION_KEY is not set/.test(e.message));
    // Under a wrong key the snapshot has no usable accounts (never a garbage key), and says which broke.
    const snap = await loadRoutingSnapshot(d.db, createSecretBox(OTHER), 1);
    assert.equal(snap.accountsByProvider.size, 0);
    assert.equal(snap.brokenAccounts.length, 1);
  });

  it("key rotation re-seals; disabling removes the account from the live snapshot; changes audited", async () => {
    const [acc] = await listUpstreamAccounts(d.db);
    await updateUpstreamAccount(ctx(), acc!.id, { apiKey: "sk-new-key-0000000000abcd" });
    let snap = await loadRoutingSnapshot(d.db, createSecretBox(KEY), 2);
    assert.equal(snap.accountsByProvider.get("openrouter")![0]!.apiKey, "sk-new-key-0000000000abcd");
    await updateUpstreamAccount(ctx(), acc!.id, { enabled: false });
    snap = await loadRoutingSnapshot(d.db, createSecretBox(KEY), 3);
    assert.equal(snap.accountsByProvider.get("openrouter"), undefined);
    const actions = (await d.db.select().from(auditLog)).map((a) => a.action);
    assert.ok(actions.includes("routing.upstream_account.rotate_key"));
    assert.ok(actions.includes("routing.upstream_account.update"));
  });

  it("unknown providers are refused; admin providers may not shadow config ones", async () => {
    await assert.rejects(createUpstreamAccount(ctx(), { providerId: "nope", apiKey: "sk-1234567890123" }), /unknown provider/);
    await assert.rejects(createProvider(ctx(), { id: "openrouter", type: "openrouter" }), /config file/);
    const p = await createProvider(ctx(), { id: "backup", type: "openai", baseUrl: "http://127.0.0.1:1" });
    assert.equal(p.id, "backup");
  });

  it("routes upsert by model+provider+upstream model, and show in the snapshot", async () => {
    const r1 = await upsertRoute(ctx(), { modelId: "openai/gpt-4o", providerId: "backup", upstreamModel: "gpt-4o", priority: 2, weight: 3 });
    const r2 = await upsertRoute(ctx(), { modelId: "openai/gpt-4o", providerId: "backup", upstreamModel: "gpt-4o", weight: 5 });
    assert.equal(r1.id, r2.id);
    assert.equal(r2.weight, 5);
    assert.equal(r2.priority, 2);
    let snap = await loadRoutingSnapshot(d.db, createSecretBox(KEY), 4);
    assert.equal(snap.routesByModel.get("openai/gpt-4o")![0]!.weight, 5);
    assert.equal(snap.providers.find((p) => p.id === "backup")?.base_url, "http://127.0.0.1:1");
    await deleteRoute(ctx(), r1.id);
    snap = await loadRoutingSnapshot(d.db, createSecretBox(KEY), 5);
    assert.equal(snap.routesByModel.size, 0);
  });
});

describeEachDb("routing store: first start without any key", (_kind, create) => {
  let d: TestDatabase;
  before(async () => {
    d = await create();
  });
  after(async () => {
    await d.drop();
  });
  it("no ENCRYPTION_KEY and no sealed keys is fine; storing a key then needs one", async () => {
    await verifyEncryptionKey(d.db, null);
    await assert.rejects(
      createUpstreamAccount({ db: d.db, box: null, actor: "admin:test", configProviderIds: ["x"] }, { providerId: "x", apiKey: "sk-12345678901234" }),
      /ENCRYPTION_KEY is not set/,
    );
  });
});
