/**
 * Validates a body against a schema of OpenAI's published OpenAPI document
 * (`../shared/specs/openai-openapi.yaml`, next to the repository, read at test time: data, not code).
 *
 *   import { validateOpenAI, assertOpenAI } from "../helpers/openai-schema.js";
 *   assertOpenAI("CreateChatCompletionResponse", body);            // throws with every error listed
 *   const errors = validateOpenAI("CreateChatCompletionStreamResponse", chunk); // [] when valid
 *
 * The document is OpenAPI 3.1 (JSON Schema 2020-12) with a few 3.0 leftovers: `nullable: true` is
 * turned into `anyOf: [schema, {type: "null"}]` and `discriminator` is dropped (the `oneOf`/`anyOf`
 * next to it still decides). Formats (`unixtime`, `uri`, …) are not checked. Parsed once per process.
 */
import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Ajv2020, type ErrorObject, type ValidateFunction } from "ajv/dist/2020.js";
import { parse } from "yaml";

const DOC_ID = "https://api.openai.com/openapi.json";
const SPEC_RELATIVE = join("..", "shared", "specs", "openai-openapi.yaml");

/** The spec next to the repository root (…/repo/../shared/specs). A worktree may sit deeper: walk up. */
export function openAISpecPath(): string {
  const tried: string[] = [];
  const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
  for (let dir = repoRoot, i = 0; i < 4; i++, dir = dirname(dir)) {
    const p = join(dir, SPEC_RELATIVE);
    tried.push(p);
    if (existsSync(p)) return p;
  }
  const fallback = "/work/shared/specs/openai-openapi.yaml";
  if (existsSync(fallback)) return fallback;
  tried.push(fallback);
  throw new Error(`OpenAI's OpenAPI document not found (looked at ${tried.join(", ")}); it belongs in ../shared/specs/ next to the repository`);
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Keywords whose value maps names to schemas: the names are not keywords. */
const NAME_MAPS = new Set(["properties", "patternProperties", "$defs", "definitions", "dependentSchemas"]);

function normalizeMap(m: { [k: string]: Json }): Json {
  const out: { [k: string]: Json } = {};
  for (const [k, v] of Object.entries(m)) out[k] = normalize(v);
  return out;
}

/** 3.0 leftovers → 2020-12: `nullable` as an anyOf with null, `discriminator` dropped. */
function normalize(node: Json): Json {
  if (Array.isArray(node)) return node.map(normalize);
  if (node === null || typeof node !== "object") return node;
  const out: { [k: string]: Json } = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === "discriminator" || k === "nullable") continue;
    out[k] = NAME_MAPS.has(k) && v && typeof v === "object" && !Array.isArray(v) ? normalizeMap(v) : normalize(v);
  }
  if (node.nullable === true) {
    const { description, ...rest } = out;
    const wrapped: { [k: string]: Json } = { anyOf: [rest, { type: "null" }] };
    if (description !== undefined) wrapped.description = description;
    return wrapped;
  }
  return out;
}

/**
 * The parsed document, cached as JSON in the temp dir under the file's size and mtime: parsing
 * 3 MB of YAML takes seconds on a busy machine, JSON a fraction of that.
 */
function loadDocument(path: string): unknown {
  const st = statSync(path);
  const cache = join(tmpdir(), `openai-openapi.${st.size}.${Math.floor(st.mtimeMs)}.json`);
  if (existsSync(cache)) {
    try {
      return JSON.parse(readFileSync(cache, "utf8"));
    } catch {
      /* a half-written cache from a parallel run: parse the YAML */
    }
  }
  const doc = parse(readFileSync(path, "utf8"), { maxAliasCount: -1 }) as unknown;
  const tmp = `${cache}.${process.pid}`;
  writeFileSync(tmp, JSON.stringify(doc));
  renameSync(tmp, cache);
  return doc;
}

let ajv: Ajv2020 | null = null;
let names: string[] = [];
let schemas: Record<string, unknown> = {};
const compiled = new Map<string, ValidateFunction>();

function instance(): Ajv2020 {
  if (ajv) return ajv;
  const doc = loadDocument(openAISpecPath()) as { components?: { schemas?: Record<string, Json> } };
  const raw = doc.components?.schemas;
  if (!raw) throw new Error("OpenAI's OpenAPI document has no components.schemas");
  names = Object.keys(raw);
  schemas = raw;
  const a = new Ajv2020({ strict: false, allErrors: true, validateFormats: false, allowUnionTypes: true });
  // Only the components: `$ref: "#/components/schemas/X"` resolves inside this one document.
  a.addSchema({ $id: DOC_ID, components: { schemas: normalizeMap(raw as { [k: string]: Json }) } });
  ajv = a;
  return a;
}

/** Names of every schema in the document (for a helpful error on a typo). */
export function openAISchemaNames(): string[] {
  instance();
  return [...names];
}

/**
 * Property names a schema defines, through `allOf` and `$ref` (OpenAI's request schemas do not set
 * `additionalProperties: false`, so validation alone never refuses an unknown field).
 */
export function openAISchemaProperties(name: string): string[] {
  instance();
  const out = new Set<string>();
  const walk = (s: unknown, depth: number) => {
    if (!s || typeof s !== "object" || depth > 8) return;
    const x = s as { $ref?: string; properties?: Record<string, unknown>; allOf?: unknown[] };
    if (typeof x.$ref === "string") walk(schemas[x.$ref.split("/").pop()!], depth + 1);
    for (const k of Object.keys(x.properties ?? {})) out.add(k);
    for (const part of x.allOf ?? []) walk(part, depth + 1);
  };
  if (!(name in schemas)) throw new Error(`No schema ${name} in OpenAI's OpenAPI document`);
  walk(schemas[name], 0);
  return [...out];
}

function validatorOf(name: string): ValidateFunction {
  const hit = compiled.get(name);
  if (hit) return hit;
  const a = instance();
  if (!names.includes(name)) throw new Error(`No schema ${name} in OpenAI's OpenAPI document`);
  const v = a.compile({ $ref: `${DOC_ID}#/components/schemas/${name}` });
  compiled.set(name, v);
  return v;
}

export interface SchemaError {
  path: string;
  message: string;
}

/**
 * Errors of `body` against `components.schemas[name]` ([] when valid). anyOf/oneOf branches that
 * did not match are reported too (ajv lists every branch): read the first few.
 */
export function validateOpenAI(name: string, body: unknown): SchemaError[] {
  const v = validatorOf(name);
  if (v(body)) return [];
  return (v.errors ?? []).map((e: ErrorObject) => ({ path: e.instancePath || "/", message: `${e.message ?? "invalid"}${e.params ? ` ${JSON.stringify(e.params)}` : ""}` }));
}

/** Throws when `body` is not a valid `name`, naming the first errors and the body. */
export function assertOpenAI(name: string, body: unknown): void {
  const errors = validateOpenAI(name, body);
  if (errors.length === 0) return;
  const lines = errors.slice(0, 12).map((e) => `  ${e.path}: ${e.message}`);
  throw new Error(`not a valid ${name}:\n${lines.join("\n")}\nbody: ${JSON.stringify(body).slice(0, 2000)}`);
}

/** The JSON `data:` payloads of an SSE body (without `[DONE]`). */
export function sseJsonPayloads(text: string): unknown[] {
  const out: unknown[] = [];
  for (const block of text.split(/\r?\n\r?\n/)) {
    const data = block
      .split(/\r?\n/)
      .filter((l) => l.startsWith("data:"))
      .map((l) => l.slice(5).replace(/^ /, ""))
      .join("\n");
    if (!data || data === "[DONE]") continue;
    out.push(JSON.parse(data));
  }
  return out;
}
