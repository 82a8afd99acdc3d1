import { readFileSync, unlinkSync } from "node:fs";

/**
 * What the local journals (the request log's, the balance leases') share: whether the process that
 * wrote a file is still running, the lines of a file that parse (a crash can leave the last one
 * torn), and removing a file that may already be gone.
 */

/** Whether a process with this pid runs (EPERM: it does, under another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The JSON values of a file's lines, and how many lines did not parse. Throws when the file can't be read. */
export function readJsonLines(path: string): { values: unknown[]; torn: number } {
  const values: unknown[] = [];
  let torn = 0;
  for (const line of readFileSync(path, "utf8").split("\n")) {
    if (!line) continue;
    try {
      values.push(JSON.parse(line));
    } catch {
      torn++;
    }
  }
  return { values, torn };
}

export function removeFile(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    /* already gone */
  }
}
