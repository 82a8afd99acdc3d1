import { readFile } from "node:fs/promises";

/** A data-directory image file (a tar from PGlite's `dumpDataDir`) as PGlite's `loadDataDir` takes it. */
export async function readImage(path: string): Promise<Blob> {
  return new Blob([await readFile(path)]);
}
