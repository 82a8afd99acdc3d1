import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { EnvSchema } from "../../src/config/env.js";

test(".env.example documents every setting the gateway reads, and nothing it doesn't", () => {
  const text = readFileSync(new URL("../../.env.example", import.meta.url), "utf8");
  const documented = new Set([...text.matchAll(/^#?\s*([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]!));
  const settings = Object.keys(EnvSchema.shape);
  const missing = settings.filter((k) => !documented.has(k));
  assert.deepEqual(missing, [], `settings missing from .env.example: ${missing.join(", ")}`);
  const unknown = [...documented].filter((k) => !settings.includes(k) && !k.startsWith("TEST_") && k !== "CI");
  assert.deepEqual(unknown, [], `.env.example names settings the gateway does not read: ${unknown.join(", ")}`);
});
