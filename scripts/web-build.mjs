#!/usr/bin/env node
// Keeps the web app's build current. Run by `npm install` (postinstall) and before `npm start`
// (prestart), and by the browser tests: installs web/ dependencies when they are missing or the
// lockfile changed, and rebuilds web/dist when any source is newer than the last build.
// Flags: --force (always rebuild), --check (exit 1 if a build is needed, change nothing).
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const web = join(root, "web");
const args = new Set(process.argv.slice(2));

function newest(path) {
  if (!existsSync(path)) return 0;
  const s = statSync(path);
  if (!s.isDirectory()) return s.mtimeMs;
  let m = 0;
  for (const e of readdirSync(path)) m = Math.max(m, newest(join(path, e)));
  return m;
}

function run(cmd, argv) {
  const r = spawnSync(cmd, argv, { cwd: web, stdio: "inherit", env: process.env });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

if (!existsSync(join(web, "package.json"))) process.exit(0);

const installed = join(web, "node_modules", ".package-lock.json");
const needInstall = !existsSync(installed) || statSync(join(web, "package-lock.json")).mtimeMs > statSync(installed).mtimeMs;
const built = join(web, "dist", "index.html");
const sources = Math.max(...["src", "public", "index.html", "vite.config.ts", "package-lock.json"].map((p) => newest(join(web, p))));
const needBuild = args.has("--force") || !existsSync(built) || sources > statSync(built).mtimeMs;

if (args.has("--check")) process.exit(needInstall || needBuild ? 1 : 0);
if (needInstall) {
  console.log("web: installing the web app's dependencies (web/package-lock.json)");
  // Vite and Tailwind are build tools (devDependencies) but the build needs them even in production.
  run("npm", ["ci", "--include=dev", "--no-audit", "--no-fund", "--loglevel=error"]);
}
if (needBuild || needInstall) {
  console.log("web: building the web app into web/dist");
  run("npm", ["run", "build", "--silent"]);
}
