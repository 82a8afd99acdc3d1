import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { test } from "node:test";
import { Ajv } from "ajv";
import { parse } from "yaml";
import { EnvSchema, loadEnv } from "../../src/config/env.js";
import { loadGatewayConfig } from "../../src/config/gateway-config.js";

const DEPLOY = resolve("deploy");
const read = (p: string) => readFileSync(resolve(DEPLOY, p), "utf8");

interface ComposeService {
  profiles?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  depends_on?: Record<string, { condition: string }> | string[];
  healthcheck?: unknown;
  build?: { context: string; dockerfile: string };
}

const compose = parse(read("docker-compose.yml")) as { services: Record<string, ComposeService> };

test("docker-compose.yml is valid against the Compose Specification's JSON schema", () => {
  const schema = JSON.parse(read("schema/compose-spec.json")) as Record<string, unknown>;
  // The schema names draft-07 by an https URL ajv does not know; its vocabulary is draft-07's.
  delete schema.$schema;
  const ajv = new Ajv({ strict: false, allErrors: true });
  const validate = ajv.compile(schema);
  const ok = validate(compose);
  assert.ok(ok, JSON.stringify(validate.errors, null, 2));
  // The validator really checks: a typo'd key is refused.
  const broken = structuredClone(compose) as { services: Record<string, Record<string, unknown>> };
  broken.services.gateway!.restartt = "always";
  assert.equal(validate(broken), false);
});

test("compose: gateway, PostgreSQL and Redis by default; litellm, prometheus and grafana as profiles", () => {
  const s = compose.services;
  for (const name of ["gateway", "postgres", "redis"]) assert.ok(s[name] && !s[name]!.profiles, `${name} runs by default`);
  assert.deepEqual(s.litellm?.profiles, ["litellm"]);
  assert.ok(s.prometheus?.profiles?.includes("prometheus"));
  assert.deepEqual(s.grafana?.profiles, ["grafana"]);
  const deps = s.gateway!.depends_on as Record<string, { condition: string }>;
  assert.equal(deps.postgres?.condition, "service_healthy");
  assert.equal(deps.redis?.condition, "service_healthy");
  for (const name of ["gateway", "postgres", "redis"]) assert.ok(s[name]!.healthcheck, `${name} has a healthcheck`);
});

test("compose: every gateway setting is one the gateway reads and parses", () => {
  const env = compose.services.gateway!.environment!;
  const known = Object.keys(EnvSchema.shape);
  for (const k of Object.keys(env)) assert.ok(known.includes(k), `${k} is not a gateway setting`);
  // ${VAR:-default} → the default, as compose would substitute with nothing set.
  const substituted = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v).replace(/\$\{[A-Z_]+:-([^}]*)\}/g, "$1")]));
  const parsed = loadEnv(substituted);
  assert.equal(parsed.WORKERS, "auto");
  assert.ok(parsed.TRUSTED_PROXIES.length > 0);
  assert.match(parsed.DATABASE_URL ?? "", /@postgres:5432\//);
});

test("compose: every file it mounts exists in the repository", () => {
  for (const [name, svc] of Object.entries(compose.services)) {
    for (const v of svc.volumes ?? []) {
      const host = v.split(":")[0]!;
      if (!host.startsWith(".")) continue; // a named volume
      assert.ok(existsSync(resolve(DEPLOY, host)), `${name} mounts ${host}, which is missing`);
    }
  }
  const grafanaDashboards = resolve(DEPLOY, "grafana/dashboards/llm-gateway.json");
  const ds = parse(read("grafana/provisioning/datasources/prometheus.yml")) as { datasources: Array<{ uid: string }> };
  const dashboard = JSON.parse(readFileSync(grafanaDashboards, "utf8")) as { panels: Array<{ datasource?: { uid: string } }> };
  for (const p of dashboard.panels) if (p.datasource) assert.equal(p.datasource.uid, ds.datasources[0]!.uid, "panels use the provisioned datasource");
  const prom = parse(read("prometheus/prometheus.yml")) as { scrape_configs: Array<{ static_configs: Array<{ targets: string[] }> }> };
  assert.deepEqual(prom.scrape_configs[0]!.static_configs[0]!.targets, ["gateway:8080"]);
});

test("the LiteLLM profile's gateway config loads: one litellm provider with the openrouter/ prefix", () => {
  const path = resolve(DEPLOY, "gateway.litellm.yaml");
  const env = loadEnv({ GATEWAY_CONFIG: path });
  const cfg = loadGatewayConfig(env, { LITELLM_MASTER_KEY: "sk-litellm-test" });
  assert.equal(cfg.providers.length, 1);
  assert.equal(cfg.providers[0]!.type, "litellm");
  assert.equal(cfg.providers[0]!.model_prefix, "openrouter/");
  assert.equal(cfg.demo, false);
  const litellm = parse(read("litellm/config.yaml")) as { model_list: Array<{ model_name: string }> };
  assert.equal(litellm.model_list[0]!.model_name, "openrouter/*");
});

test("Dockerfile: multi-stage, non-root, health check, and every COPY source exists", () => {
  const df = read("Dockerfile");
  assert.ok((df.match(/^FROM /gm) ?? []).length >= 2, "multi-stage");
  assert.match(df, /^USER node$/m);
  assert.match(df, /^HEALTHCHECK /m);
  assert.match(df, /\/health/);
  const root = dirname(DEPLOY);
  for (const m of df.matchAll(/^COPY (?!--from)(.+) \S+$/gm)) {
    for (const src of m[1]!.split(/\s+/)) assert.ok(existsSync(resolve(root, src)), `COPY ${src}: missing`);
  }
  const ignore = readFileSync(resolve(root, ".dockerignore"), "utf8");
  assert.match(ignore, /^node_modules$/m);
  assert.match(ignore, /^\.env$/m, "no secrets in the build context");
});

test("nginx: TLS, SSE without buffering, the real client address; systemd: unprivileged with drain time", () => {
  const n = read("nginx/llm-gateway.conf");
  for (const d of ["listen 443 ssl", "ssl_certificate ", "proxy_buffering off", "proxy_cache off", "proxy_http_version 1.1", "X-Forwarded-For $proxy_add_x_forwarded_for", "proxy_read_timeout 600s"]) {
    assert.ok(n.includes(d), `nginx: ${d}`);
  }
  const u = read("systemd/llm-gateway.service");
  for (const d of ["User=llm-gateway", "EnvironmentFile=", "ExecStart=/usr/bin/node --import tsx src/main/server.ts", "KillSignal=SIGTERM", "Restart=on-failure", "NoNewPrivileges=true"]) {
    assert.ok(u.includes(d), `systemd: ${d}`);
  }
  const stop = Number(/TimeoutStopSec=(\d+)/.exec(u)?.[1]);
  assert.ok(stop * 1000 > loadEnv({}).SHUTDOWN_GRACE_MS, "systemd waits longer than the drain grace period");
});

test("LICENSE matches package.json", () => {
  const pkg = JSON.parse(readFileSync("package.json", "utf8")) as { license: string };
  assert.equal(pkg.license, "MIT");
  assert.match(readFileSync("LICENSE", "utf8"), /^MIT License/);
  assert.match(read("schema/compose-spec.LICENSE"), /Apache License/);
});
