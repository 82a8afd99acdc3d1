import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { test } from "node:test";

const GUIDES = ["README", "quickstart", "concepts", "telegram-bot", "backend", "ide-agents", "anthropic-responses", "moving-from-openrouter", "upstreams", "payments", "deployment", "operations", "development"];
const files = ["README.md", "examples/README.md", "sdk/README.md", ...GUIDES.flatMap((g) => [`docs/en/${g}.md`, `docs/ru/${g}.md`])];

test("every guide exists in English and Russian, and the README links each", () => {
  const readme = readFileSync("README.md", "utf8");
  for (const g of GUIDES) {
    for (const lang of ["en", "ru"]) {
      assert.ok(existsSync(`docs/${lang}/${g}.md`), `docs/${lang}/${g}.md`);
      if (g !== "README") assert.ok(readme.includes(`docs/${lang}/${g}.md`), `README links docs/${lang}/${g}.md`);
    }
  }
  assert.deepEqual(readdirSync("docs/en").sort(), readdirSync("docs/ru").sort(), "the two languages have the same guides");
});

test("every relative link in the README and the guides points at a file that exists", () => {
  const broken: string[] = [];
  for (const f of files) {
    const text = readFileSync(f, "utf8");
    for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      const target = m[1]!;
      if (/^(https?:|mailto:|#)/.test(target)) continue;
      const path = resolve(dirname(f), target.split("#")[0]!);
      if (!existsSync(path)) broken.push(`${f}: ${target}`);
    }
  }
  assert.deepEqual(broken, []);
});

test("the guides' example commands are the examples that test/examples runs", () => {
  const tested = readFileSync("test/examples/examples.test.ts", "utf8");
  for (const f of files) {
    for (const m of readFileSync(f, "utf8").matchAll(/(?:bash|python3|node) (examples\/[\w./-]+)/g)) {
      const file = m[1]!;
      assert.ok(existsSync(join(process.cwd(), file)), `${f} runs ${file}, which does not exist`);
      assert.ok(tested.includes(`"${file}"`), `${f} runs ${file}, which test/examples does not run`);
    }
  }
});
