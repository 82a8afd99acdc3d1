/**
 * The folder map of src/ in docs/ARCHITECTURE.md: every folder with its TypeScript files and lines
 * (subfolders included) and its largest file, so the size rules (≤ 400 lines a file, ≤ 250 a route
 * file) can be read off the page. `npm run docs:folder-map` rewrites the map between the markers and
 * prints it; test/docs/folder-map.test.ts fails when the committed map is not what this generates.
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

export const START = "<!-- folder-map:start -->";
export const END = "<!-- folder-map:end -->";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
export const ARCHITECTURE = join(ROOT, "docs/ARCHITECTURE.md");
const SRC = join(ROOT, "src");

interface Folder {
  /** Relative to src/, "" for src itself. */
  path: string;
  depth: number;
  files: number;
  lines: number;
  largest: { name: string; lines: number } | null;
}

/** Lines as `wc -l` counts them (newlines), so the numbers can be checked by hand. */
function lineCount(file: string): number {
  const text = readFileSync(file, "utf8");
  let n = 0;
  for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) n++;
  return n;
}

function walk(dir: string, depth: number, out: Folder[]): Folder {
  const self: Folder = { path: relative(SRC, dir).split("\\").join("/"), depth, files: 0, lines: 0, largest: null };
  out.push(self);
  const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const full = join(dir, e.name);
    let sub: { files: number; lines: number; largest: Folder["largest"] };
    if (e.isDirectory()) sub = walk(full, depth + 1, out);
    else if (e.isFile() && e.name.endsWith(".ts")) {
      const lines = lineCount(full);
      sub = { files: 1, lines, largest: { name: relative(SRC, full).split("\\").join("/"), lines } };
    } else continue;
    self.files += sub.files;
    self.lines += sub.lines;
    if (sub.largest && (!self.largest || sub.largest.lines > self.largest.lines)) self.largest = sub.largest;
  }
  return self;
}

/** The map as it belongs between the markers (a fenced block, one row a folder). */
export function folderMap(): string {
  const folders: Folder[] = [];
  walk(SRC, 0, folders);
  const rows = folders.map((f) => ({
    name: f.depth === 0 ? "src/" : `${"  ".repeat(f.depth)}${f.path.split("/").pop()}/`,
    files: String(f.files),
    lines: String(f.lines),
    largest: f.largest ? `${f.largest.name} (${f.largest.lines})` : "",
  }));
  const head = { name: "folder", files: "files", lines: "lines", largest: "largest file (lines)" };
  const w = (k: "name" | "files" | "lines") => Math.max(head[k].length, ...rows.map((r) => r[k].length));
  const [wn, wf, wl] = [w("name"), w("files"), w("lines")];
  const line = (r: typeof head) => `${r.name.padEnd(wn)}  ${r.files.padStart(wf)}  ${r.lines.padStart(wl)}  ${r.largest}`.trimEnd();
  return ["```", line(head), ...rows.map(line), "```"].join("\n");
}

/** `doc` with the map between the markers replaced; throws when the markers are missing. */
export function withFolderMap(doc: string, map: string): string {
  const a = doc.indexOf(START);
  const b = doc.indexOf(END);
  if (a === -1 || b === -1 || b < a) throw new Error(`docs/ARCHITECTURE.md needs the markers ${START} … ${END}`);
  return `${doc.slice(0, a + START.length)}\n${map}\n${doc.slice(b)}`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const map = folderMap();
  const doc = readFileSync(ARCHITECTURE, "utf8");
  const next = withFolderMap(doc, map);
  if (next !== doc) writeFileSync(ARCHITECTURE, next);
  process.stdout.write(`${map}\n`);
}
