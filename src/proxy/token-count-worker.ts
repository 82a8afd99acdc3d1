import { parentPort } from "node:worker_threads";
import { countTokens, warmTokenizer } from "./o200k-count.js";

/** Counts prompt texts for the main thread (prompt-count.ts), so a big one never blocks the event loop. */
const port = parentPort;
port?.on("message", (m: { id: number; texts: string[] }) => {
  let counts: number[] | null = null;
  try {
    warmTokenizer();
    counts = m.texts.map(countTokens);
  } catch {
    /* null: the caller counts on its own */
  }
  port.postMessage({ id: m.id, counts });
});
