import { parentPort } from "node:worker_threads";
import { countPromptTokens } from "./tokenizer.js";

/** Counts prompts for the main thread (prompt-count.ts), so a big one never blocks the event loop. */
const port = parentPort;
port?.on("message", (m: { id: number; body: Record<string, unknown> }) => {
  let tokens = -1;
  try {
    tokens = countPromptTokens(m.body);
  } catch {
    /* -1: the caller counts on its own */
  }
  port.postMessage({ id: m.id, tokens });
});
