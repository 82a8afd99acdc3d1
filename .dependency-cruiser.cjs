/**
 * The dependency rules of docs/ARCHITECTURE.md, checked by `npm run lint` (dependency-cruiser).
 * Layers: main → http | bot | jobs → domain modules → db | redis → core.
 */
const DOMAIN = "^src/(accounts|audit|billing|catalog|keys|logs|payments|providers|proxy|ratelimit|routing|upstream-keys|mock)/";

module.exports = {
  forbidden: [
    {
      name: "no-cycles",
      severity: "error",
      comment: "Files do not import each other in a circle (type-only imports included).",
      from: { path: "^src/" },
      to: { circular: true },
    },
    {
      name: "nothing-imports-edges",
      severity: "error",
      comment: "main, http, bot and jobs are entry points: only main imports them, and none imports another (shared work is a domain verb).",
      from: { path: "^src/([^/]+)/", pathNot: "^src/main/" },
      to: { path: "^src/(main|http|bot|jobs)/", pathNot: "^src/$1/" },
    },
    {
      name: "only-main-and-config-read-env",
      severity: "error",
      comment: "Settings reach modules as typed slices (main/settings.ts); only main/ and config/ import config/env.",
      from: { path: "^src/", pathNot: "^src/(main|config)/" },
      to: { path: "^src/config/env\\.ts$" },
    },
    {
      name: "providers-and-routing-import-no-proxy",
      severity: "error",
      comment: "Providers are pure adapters and routing makes decisions only: neither depends on the request pipeline.",
      from: { path: "^src/(providers|routing)/" },
      to: { path: "^src/proxy/" },
    },
    {
      name: "domain-imports-no-edge",
      severity: "error",
      comment: "Domain modules never import an edge or the composition root.",
      from: { path: DOMAIN },
      to: { path: "^src/(main|http|bot|jobs)/" },
    },
    {
      name: "core-imports-nothing",
      severity: "error",
      comment: "core/ is the bottom layer.",
      from: { path: "^src/core/" },
      to: { path: "^src/", pathNot: "^src/core/" },
    },
    {
      name: "db-and-redis-import-only-core",
      severity: "error",
      comment: "Storage clients know nothing of the domain.",
      from: { path: "^src/(db|redis)/" },
      to: { path: "^src/", pathNot: "^src/(core|db|redis)/" },
    },
    {
      name: "no-test-code-in-src",
      severity: "error",
      from: { path: "^src/" },
      to: { path: "^(test|bench)/" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: { exportsFields: ["exports"], conditionNames: ["import", "require", "node", "default"], extensions: [".ts", ".js"] },
    exclude: { path: "node_modules" },
  },
};
