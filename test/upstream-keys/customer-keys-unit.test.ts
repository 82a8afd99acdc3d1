import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, test } from "node:test";
import { loadEnv } from "../../src/config/env.js";
import { ConfigError } from "../../src/core/config-error.js";
import { createLogger } from "../../src/core/logger.js";
import { customerKeySettings } from "../../src/main/settings.js";
import { accounts, upstreamCustomerKeys } from "../../src/db/schema/index.js";
import { createSecretBox } from "../../src/routing/secret-box.js";
import { CustomerKeys, customerKeyName } from "../../src/upstream-keys/customer-keys.js";
import { keyLimitUsdMicros, limitDrifted, usdToMicros } from "../../src/upstream-keys/key-limit.js";
import { OpenRouterKeysApi } from "../../src/upstream-keys/openrouter-keys-api.js";
import { describeEachDb, type TestDatabase } from "../helpers/db.js";
import { FakeOpenRouter } from "../fakes/openrouter-keys-api.js";

test("the key limit is usage + the balance in USD, rounded up; a negative balance adds nothing", () => {
  assert.equal(keyLimitUsdMicros(0n, 100_000_000n, 100_000_000n), 1_000_000n);
  assert.equal(keyLimitUsdMicros(250n, 1n, 100_000_000n), 251n);
  assert.equal(keyLimitUsdMicros(250n, -5_000_000n, 100_000_000n), 250n);
  assert.equal(usdToMicros(0.0001), 100n);
  assert.equal(usdToMicros(25.5), 25_500_000n);
  assert.equal(usdToMicros(-1), 0n);
  assert.equal(limitDrifted(null, 5n, 0n), true);
  assert.equal(limitDrifted(1_000_000n, 1_005_000n, 0n), false, "half a cent: not worth a call");
  assert.equal(limitDrifted(2_000_000n, 1_000_000n, 0n), true);
  assert.equal(limitDrifted(10_000_000n, 10_050_000n, 0n), false, "0.5 % of what may be spent");
  assert.equal(limitDrifted(10_000_000n, 10_050_000n, 9_000_000n), true, "5 % of the $1.05 left");
});

test("OPENROUTER_PER_ACCOUNT_KEYS is off by default and needs a provisioning key and ENCRYPTION_KEY when on", () => {
  assert.equal(customerKeySettings(loadEnv({})), null);
  const key = randomBytes(32).toString("hex");
  assert.throws(() => customerKeySettings(loadEnv({ OPENROUTER_PER_ACCOUNT_KEYS: "true", ENCRYPTION_KEY: key })), (e: unknown) => e instanceof ConfigError && /OPENROUTER_PROVISIONING_KEY/.test(e.message));
  assert.throws(() => customerKeySettings(loadEnv({ OPENROUTER_PER_ACCOUNT_KEYS: "true", OPENROUTER_PROVISIONING_KEY: "sk-or-prov" })), (e: unknown) => e instanceof ConfigError && /ENCRYPTION_KEY/.test(e.message));
  const s = customerKeySettings(loadEnv({ OPENROUTER_PER_ACCOUNT_KEYS: "true", OPENROUTER_PROVISIONING_KEY: "sk-or-prov", ENCRYPTION_KEY: key, OPENROUTER_BASE_URL: "https://openrouter.ai/api/v1/" }))!;
  assert.equal(s.baseUrl, "https://openrouter.ai/api/v1");
  assert.equal(s.syncIntervalMs, 300_000);
});

describeEachDb("customer keys: creation failures", (_kind, createDb) => {
  let db: TestDatabase;
  let or: FakeOpenRouter;
  let now = 1_000_000;
  let keys: CustomerKeys;

  before(async () => {
    db = await createDb();
    or = new FakeOpenRouter();
    await or.start();
    keys = new CustomerKeys({
      db: db.db,
      api: new OpenRouterKeysApi({ baseUrl: or.baseUrl, provisioningKey: or.provisioningKey }),
      box: createSecretBox(randomBytes(32).toString("hex")),
      usdRate: async () => 100_000_000n,
      settings: { cacheTtlMs: 600_000, retryAfterMs: 60_000, cacheEntries: 2 },
      clock: { now: () => now },
      logger: createLogger({ level: "silent" }),
    });
  });
  after(async () => {
    keys?.close();
    await or?.close();
    await db?.drop();
  });

  test("a failed creation serves the provider's key until the retry time, then creates; concurrent first requests make one key", async () => {
    const id = `acc_${randomBytes(4).toString("hex")}`;
    await db.db.insert(accounts).values({ id, name: "a", balanceMicros: 300_000_000n });
    or.failNext = 500;
    assert.equal(await keys.keyFor(id), null);
    assert.equal(keys.keyFor(id), null, "cached: no new call before the retry time");
    assert.equal(or.managementCalls("POST").length, 1);
    now += 61_000;
    const [k1, k2] = await Promise.all([keys.keyFor(id), keys.keyFor(id)]);
    assert.ok(k1 && k1 === k2);
    assert.equal(or.managementCalls("POST").length, 2, "one creation for both requests");
    assert.equal(or.byName(customerKeyName(id))!.limit, 3);
    assert.equal(keys.keyFor(id), k1, "served from memory synchronously");
  });

  test("a key whose row can't be stored is deleted at OpenRouter (no orphan keys)", async () => {
    or.calls.length = 0;
    // No such account: the row's foreign key refuses it after the key was made.
    assert.equal(await keys.keyFor("acc_missing"), null);
    assert.equal(or.managementCalls("POST").length, 1);
    assert.equal(or.managementCalls("DELETE").length, 1);
    assert.equal(or.byName(customerKeyName("acc_missing")), undefined);
  });

  test("two processes racing to make an account's first key: one is stored, the loser deletes its own and uses the stored one", async () => {
    const id = `acc_${randomBytes(4).toString("hex")}`;
    await db.db.insert(accounts).values({ id, name: "b", balanceMicros: 0n });
    or.calls.length = 0;
    // Two processes: CustomerKeys over the same database and box, whose key creations both finish
    // only once both were asked for (each looked for a row before creating, and found none).
    const deps = (keys as unknown as { d: ConstructorParameters<typeof CustomerKeys>[0] }).d;
    const real = new OpenRouterKeysApi({ baseUrl: or.baseUrl, provisioningKey: or.provisioningKey });
    const waiting: Array<() => void> = [];
    const api = {
      get: real.get.bind(real),
      list: real.list.bind(real),
      update: real.update.bind(real),
      remove: real.remove.bind(real),
      async create(input: Parameters<OpenRouterKeysApi["create"]>[0]) {
        const made = await real.create(input);
        await new Promise<void>((release) => {
          waiting.push(release);
          if (waiting.length === 2) for (const r of waiting) r();
        });
        return made;
      },
    };
    const one = new CustomerKeys({ ...deps, api });
    const other = new CustomerKeys({ ...deps, api });
    const [mine, theirs] = await Promise.all([one.keyFor(id), other.keyFor(id)]);
    assert.ok(mine && mine === theirs, "both processes end up with the same key");
    assert.equal(or.managementCalls("POST").length, 2, "both made one");
    assert.equal(or.managementCalls("DELETE").length, 1, "the loser deleted its own");
    const left = [...or.keys.values()].filter((k) => k.name === customerKeyName(id));
    assert.equal(left.length, 1);
    assert.equal(left[0]!.key, mine);
    const rows = await db.db.select().from(upstreamCustomerKeys);
    assert.equal(rows.find((r) => r.accountId === id)!.upstreamHash, left[0]!.hash);
    one.close();
    other.close();
  });
});
