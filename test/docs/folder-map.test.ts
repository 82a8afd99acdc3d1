import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { ARCHITECTURE, END, folderMap, START, withFolderMap } from "../../scripts/folder-map.js";

const doc = readFileSync(ARCHITECTURE, "utf8");

test("the folder map in docs/ARCHITECTURE.md is what `npm run docs:folder-map` generates", () => {
  const map = folderMap();
  assert.match(map, /^```\nfolder +files +lines/);
  assert.equal(doc, withFolderMap(doc, map), "stale folder map: run `npm run docs:folder-map` and commit docs/ARCHITECTURE.md");
});

test("the map is spliced between its markers and nowhere else; a document without them is refused", () => {
  const spliced = withFolderMap(`a\n${START}\nold\n${END}\nb`, "MAP");
  assert.equal(spliced, `a\n${START}\nMAP\n${END}\nb`);
  assert.throws(() => withFolderMap("no markers here", "MAP"), /needs the markers/);
});

test("the Layout section names every folder of src/", () => {
  const layout = doc.slice(doc.indexOf("## Layout"), doc.indexOf(START));
  const folders = readdirSync("src", { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
  assert.ok(folders.length > 10, "src/ read");
  const missing = folders.filter((f) => !new RegExp(`^  ${f}/ `, "m").test(layout));
  assert.deepEqual(missing, [], "folders of src/ the Layout does not describe");
});

test("no file in src/ is over 400 lines, no route file over 250 (the rules the map shows)", () => {
  const over: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(".ts")) {
        const lines = readFileSync(p, "utf8").split("\n").length - 1;
        const max = p.startsWith(join("src", "http", "routes")) ? 250 : 400;
        if (lines > max) over.push(`${p} (${lines} > ${max})`);
      }
    }
  };
  walk("src");
  assert.deepEqual(over, []);
});
