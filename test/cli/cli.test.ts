import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { sql } from "drizzle-orm";
import { createBackup } from "../../src/accounts/backup.js";
import { openDatabase, type Database } from "../../src/db/client.js";
import { apiKeys, fxRates, ledgerEntries, modelPrices, tariffs } from "../../src/db/schema/index.js";
import { main } from "../../src/main/cli.js";
import { createPostgresDb, describeEachDb, type TestDatabase } from "../helpers/db.js";

interface Run {
  code: number;
  out: string;
  err: string;
  json: any;
}

/** A database the CLI opens itself (as it would in production): PGlite in a data dir, or a PostgreSQL URL. */
interface Target {
  env: Record<string, string>;
  open(): Promise<Database>;
  drop(): Promise<void>;
}

async function pgliteTarget(): Promise<Target> {
  const dir = mkdtempSync(join(tmpdir(), "gw-cli-"));
  return {
    env: { DATA_DIR: dir },
    open: () => openDatabase({ dataDir: dir }),
    drop: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

async function postgresTarget(existing?: TestDatabase): Promise<Target> {
  const d = existing ?? (await createPostgresDb());
  return {
    env: { DATABASE_URL: d.url!, DATA_DIR: "/nonexistent-unused" },
    open: () => openDatabase({ dataDir: "unused", databaseUrl: d.url!, poolSize: 2 }),
    drop: () => d.drop(),
  };
}

async function cli(t: Target, args: string[], extra: { stdin?: string; confirm?: boolean } = {}): Promise<Run> {
  let out = "";
  let err = "";
  const code = await main(args, {
    stdout: (s) => (out += s),
    stderr: (s) => (err += s),
    env: { ...t.env },
    confirm: extra.confirm === undefined ? undefined : async () => extra.confirm!,
    readStdin: extra.stdin === undefined ? undefined : async () => extra.stdin!,
  });
  let json: any = null;
  if (args.includes("--json")) {
    try {
      json = JSON.parse(out);
    } catch {
      /* leave null */
    }
  }
  return { code, out, err, json };
}

async function withDb<T>(t: Target, fn: (d: Database) => Promise<T>): Promise<T> {
  const d = await t.open();
  try {
    return await fn(d);
  } finally {
    await d.close();
  }
}

describeEachDb("CLI end to end", (kind, create) => {
  let a: Target;
  let accountId: string;
  let keyId: string;
  let secret: string;
  const tmp = mkdtempSync(join(tmpdir(), "gw-cli-files-"));

  before(async () => {
    a = kind === "pglite" ? await pgliteTarget() : await postgresTarget(await create());
  });
  after(async () => {
    await a.drop();
    rmSync(tmp, { recursive: true, force: true });
  });

  test("migrate, then usage errors exit 2 with a clear message", async () => {
    assert.equal((await cli(a, ["migrate"])).code, 0);
    const r = await cli(a, ["create-key"]);
    assert.equal(r.code, 2);
    assert.match(r.err, /missing --account/);
    assert.equal((await cli(a, ["frobnicate"])).code, 2);
    assert.equal((await cli(a, ["create-key", "--account", "x", "--limit", "lots"])).code, 2);
    assert.equal((await cli(a, ["list-keys", "--no-such-flag"])).code, 2);
    const help = await cli(a, ["--help"]);
    assert.equal(help.code, 0);
    for (const c of ["serve", "migrate", "create-account", "create-key", "list-keys", "set-limit", "revoke-key", "credit", "stats", "backup", "restore", "sync-prices"]) {
      assert.ok(help.out.includes(c), `help mentions ${c}`);
    }
  });

  test("create-account with opening balance and an admin user; create-user via --password-stdin", async () => {
    const r = await cli(a, ["create-account", "--name", "Acme", "--balance", "150.00", "--email", "Boss@Acme.io", "--password", "correct-horse", "--role", "admin", "--json"]);
    assert.equal(r.code, 0, r.err);
    accountId = r.json.account.id;
    assert.equal(r.json.account.balance, "150.00");
    assert.equal(r.json.user.email, "boss@acme.io");
    assert.equal(r.json.user.role, "admin");
    const u = await cli(a, ["create-user", "--account", accountId, "--email", "dev@acme.io", "--password-stdin", "--json"], { stdin: "another-secret\n" });
    assert.equal(u.code, 0, u.err);
    assert.equal(u.json.role, "client");
    const dup = await cli(a, ["create-user", "--account", accountId, "--email", "dev@acme.io", "--password", "another-secret"]);
    assert.equal(dup.code, 1);
    assert.match(dup.err, /already exists/);
    assert.equal((await cli(a, ["create-user", "--account", "acct_nope", "--email", "x@y.io", "--password", "another-secret"])).code, 1);
    const blocked = await cli(a, ["set-user", "--user", u.json.id, "--status", "blocked", "--json"]);
    assert.equal(blocked.json.status, "blocked");
  });

  test("create-key prints the secret once; list-keys masks it everywhere (human and --json)", async () => {
    const r = await cli(a, ["create-key", "--account", accountId, "--limit", "100000", "--name", "Premium Plan", "--models", "openai/gpt-4o-mini,anthropic/*", "--json"]);
    assert.equal(r.code, 0, r.err);
    secret = r.json.key;
    keyId = r.json.id;
    assert.match(secret, /^sk-gw-[A-Za-z0-9]{40}$/);
    assert.deepEqual(r.json.limits, { total_tokens: 100000 });
    const second = await cli(a, ["create-key", "--account", accountId, "--limit", "15000", "--name", "Basic"]);
    assert.equal(second.code, 0);
    assert.match(second.out, /sk-gw-[A-Za-z0-9]{40}/, "the human output shows the new secret once");
    const human = await cli(a, ["list-keys", "--stats"]);
    const json = await cli(a, ["list-keys", "--stats", "--json"]);
    for (const out of [human.out, json.out]) {
      assert.ok(!out.includes(secret), "full secret never listed");
      assert.ok(!out.includes(secret.slice(0, 16)), "not even a long prefix");
    }
    assert.match(human.out, /Premium Plan/);
    assert.match(human.out, /100,000 tokens/);
    assert.equal(json.json.data.length, 2);
    assert.equal(json.json.summary.total_token_limit, 115000);
    assert.equal(json.json.summary.average_token_limit, 57500);
    assert.equal(json.json.data[0].key.endsWith("…"), true);
    // the stored form is the hash only
    const rows = await withDb(a, (d) => d.db.select().from(apiKeys));
    assert.ok(rows.every((k) => !JSON.stringify(k).includes(secret)));
  });

  test("set-limit by secret, by id and by prefix; revoke-key needs --force when not interactive", async () => {
    let r = await cli(a, ["set-limit", "--key", secret, "--limit", "50000", "--json"]);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(r.json.limits, { total_tokens: 50000 });
    r = await cli(a, ["set-limit", "--key", keyId, "--spend-limit", "25.50", "--json"]);
    assert.deepEqual(r.json.limits, { total_tokens: 50000, total_money: "25.50" });
    r = await cli(a, ["set-limit", "--key", keyId, "--limit", "none", "--json"]);
    assert.deepEqual(r.json.limits, { total_money: "25.50" });
    assert.equal((await cli(a, ["set-limit", "--key", "key_doesnotexist", "--limit", "1"])).code, 1);
    assert.equal((await cli(a, ["set-limit", "--key", keyId])).code, 2);

    const refused = await cli(a, ["revoke-key", "--key", secret]);
    assert.equal(refused.code, 2);
    assert.match(refused.err, /--force/);
    const declined = await cli(a, ["revoke-key", "--key", secret], { confirm: false });
    assert.equal(declined.code, 1);
    const ok = await cli(a, ["revoke-key", "--key", secret.slice(0, 10), "--force", "--json"]);
    // prefix of 4 random chars: unique here unless the two keys collide (1 in 62^4)
    assert.equal(ok.code, 0, ok.err);
    assert.equal(ok.json.status, "revoked");
    const listed = await cli(a, ["list-keys", "--json"]);
    assert.equal(listed.json.data.length, 1, "revoked keys hidden by default");
    assert.equal((await cli(a, ["list-keys", "--all", "--json"])).json.data.length, 2);
  });

  test("credit goes through the ledger, is idempotent by --ref, and refuses overdraft", async () => {
    let r = await cli(a, ["credit", "--account", accountId, "--amount", "9007199254.740993", "--reason", "big wire", "--ref", "wire-1", "--json"]);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.json.balance, "9007199404.740993");
    r = await cli(a, ["credit", "--account", accountId, "--amount", "9007199254.740993", "--reason", "big wire", "--ref", "wire-1", "--json"]);
    assert.equal(r.json.duplicate, true);
    assert.equal(r.json.balance, "9007199404.740993", "replay changed nothing");
    r = await cli(a, ["credit", "--account", accountId, "--amount", "-0.740993", "--reason", "fee", "--json"]);
    assert.equal(r.json.balance, "9007199404.00");
    r = await cli(a, ["credit", "--account", accountId, "--amount", "-99999999999", "--reason", "too much"]);
    assert.equal(r.code, 1);
    assert.match(r.err, /below zero/);
    assert.equal((await cli(a, ["credit", "--account", "acct_none", "--amount", "1", "--reason", "x"])).code, 1);
    assert.equal((await cli(a, ["credit", "--account", accountId, "--amount", "1,5", "--reason", "x"])).code, 2);
    const s = await cli(a, ["stats", "--json"]);
    assert.equal(s.code, 0);
    assert.equal(s.json.balances.total, "9007199404.00");
    assert.equal(s.json.accounts.total, 1);
    assert.equal(s.json.users.admins, 1);
  });

  test("sync-prices applies an OpenRouter models response (from a file: no network) and reports what changed", async () => {
    const models = join(tmp, "models.json");
    writeFileSync(
      models,
      JSON.stringify({
        data: [
          { id: "acme/model-a", name: "A", pricing: { prompt: "0.000001", completion: "0.000002" }, context_length: 8192 },
          { id: "acme/variable", pricing: { prompt: "-1", completion: "-1" } },
        ],
      }),
    );
    const r = await cli(a, ["sync-prices", "--path", models, "--json"]);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.json.added, 1);
    assert.equal(r.json.invalid, 1);
    const again = await cli(a, ["sync-prices", "--path", models]);
    assert.match(again.out, /1 unchanged/);
    const bad = await cli(a, ["sync-prices", "--path", join(tmp, "missing.json")]);
    assert.equal(bad.code, 1);
  });

  test("backup → restore into an empty database reproduces every row and balance exactly; a non-empty target is refused", async () => {
    // Billing rows the dump must carry: a tariff, a price, an FX rate (identity column).
    await withDb(a, async (d) => {
      await d.db.insert(tariffs).values({ id: "trf_cli", name: "cli-plan", markupPpm: 1_500_000n, limits: { daily_tokens: 5 } }).onConflictDoNothing();
      await d.db.insert(modelPrices).values({ modelId: "openai/gpt-4o-mini", inputMicrosPerM: 150_000n, outputMicrosPerM: 600_000n }).onConflictDoNothing();
      await d.db.insert(fxRates).values({ currency: "RUB", rateMicros: 92_500_000n, reason: "test" });
    });
    const file = join(tmp, `backup-${kind}.json`);
    const b = await cli(a, ["backup", "--path", file, "--json"]);
    assert.equal(b.code, 0, b.err);
    assert.equal(statSync(file).mode & 0o777, 0o600, "owner-only file");
    assert.equal(b.json.balance_total, b.json.ledger_total);
    const dump = JSON.parse(readFileSync(file, "utf8"));
    assert.ok(!readFileSync(file, "utf8").includes(secret), "no key secret in the backup");

    const target = kind === "pglite" ? await pgliteTarget() : await postgresTarget();
    try {
      assert.equal((await cli(target, ["migrate"])).code, 0);
      const r = await cli(target, ["restore", "--path", file, "--json"]);
      assert.equal(r.code, 0, r.err);
      assert.equal(r.json.balance_total, "9007199404.00");
      const again = await withDb(target, (d) => createBackup(d.db));
      for (const [t, data] of Object.entries(dump.tables as Record<string, { rows: unknown[] }>)) {
        assert.deepEqual(again.tables[t]!.rows, data.rows, `table ${t} round-trips exactly`);
      }
      assert.deepEqual(again.totals, dump.totals);
      // The identity sequence moved past the restored ids: a new FX row doesn't collide.
      await withDb(target, async (d) => {
        await d.db.insert(fxRates).values({ currency: "RUB", rateMicros: 1n });
        const res = (await d.db.execute(sql`select count(*)::int as n from ledger_entries`)) as unknown as { rows: Array<{ n: number }> };
        assert.equal(res.rows[0]!.n, dump.tables.ledger_entries.rows.length);
        const led = await d.db.select().from(ledgerEntries);
        assert.equal(led.reduce((s, e) => s + e.amountMicros, 0n), 9_007_199_404_000_000n);
      });
      const refused = await cli(target, ["restore", "--path", file]);
      assert.equal(refused.code, 1);
      assert.match(refused.err, /not empty/);
      // A tampered file is refused before anything is written.
      const bad = { ...dump, totals: { ...dump.totals, balance_micros: "1" } };
      const badPath = join(tmp, "bad.json");
      writeFileSync(badPath, JSON.stringify(bad));
      const t2 = kind === "pglite" ? await pgliteTarget() : await postgresTarget();
      try {
        const rb = await cli(t2, ["restore", "--path", badPath]);
        assert.equal(rb.code, 1);
        assert.match(rb.err, /don't add up/);
      } finally {
        await t2.drop();
      }
    } finally {
      await target.drop();
    }
  });
});
