import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { messages } from "../../web/src/features/admin/messages.js";

/** The admin panel's texts: both locales have the same keys, and every key the pages name exists. */
const ROOT = new URL("../..", import.meta.url).pathname;
const DIRS = ["web/src/pages/admin", "web/src/features/admin"];

test("admin texts: ru and en have the same keys, none empty", () => {
  const en = Object.keys(messages.en).sort();
  const ru = Object.keys(messages.ru).sort();
  assert.deepEqual(ru, en);
  for (const k of en) {
    assert.ok(k.startsWith("admin."), `${k} has the admin. prefix`);
    assert.ok(messages.en[k]!.trim() && messages.ru[k]!.trim(), `${k} is not empty`);
    // Placeholders match, so a translation never drops a number or a name.
    const vars = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
    assert.deepEqual(vars(messages.ru[k]!), vars(messages.en[k]!), `placeholders of ${k}`);
  }
});

test("admin texts: every literal admin.* key in the pages is defined", () => {
  const used = new Set<string>();
  for (const d of DIRS) {
    for (const f of readdirSync(join(ROOT, d)).filter((x) => x.endsWith(".tsx"))) {
      for (const m of readFileSync(join(ROOT, d, f), "utf8").matchAll(/"(admin\.[A-Za-z0-9_.]+)"/g)) used.add(m[1]!);
    }
  }
  assert.ok(used.size > 100, `found ${used.size} keys`);
  const missing = [...used].filter((k) => !(k in messages.en));
  assert.deepEqual(missing, []);
});
