import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { ARCHITECTURE, END, folderMap, START, withFolderMap } from "../../scripts/folder-map.js";

const doc = readFileSync(ARCHITECTURE, "utf8");

/** folder → [files, lines] of a map's rows. */
function rowsOf(map: string): Map<string, [number, number]> {
  const rows = new Map<string, [number, number]>();
  for (const m of map.matchAll(/^ *(\S+\/) +(\d+) +(\d+) /gm)) rows.set(m[1]!, [Number(m[2]), Number(m[3])]);
  return rows;
}

// Every edit changes a line count: the committed map must name the same folders with the same file
// counts, and its line counts stay within 10 % (or 50 lines) of the code, so it is regenerated when
// the shape changes, not on every commit.
test("the folder map in docs/ARCHITECTURE.md matches what `npm run docs:folder-map` generates", () => {
  const map = folderMap();
  assert.match(map, /^```\nfolder +files +lines/);
  const committed = doc.slice(doc.indexOf(START), doc.indexOf(END));
  const want = rowsOf(map);
  const have = rowsOf(committed);
  const stale = "stale folder map: run `npm run docs:folder-map` and commit docs/ARCHITECTURE.md";
  assert.ok(want.size > 10, "the generated map has rows");
  assert.deepEqual([...have.keys()], [...want.keys()], stale);
  for (const [folder, [files, lines]] of want) {
    const [hFiles, hLines] = have.get(folder)!;
    assert.equal(hFiles, files, `${stale} (${folder} files)`);
    assert.ok(Math.abs(hLines - lines) <= Math.max(50, lines * 0.1), `${stale} (${folder}: ${hLines} lines in the map, ${lines} in the code)`);
  }
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
