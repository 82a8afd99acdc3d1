import { Worker, type WorkerOptions } from "node:worker_threads";

/**
 * A worker thread running `entry` (a module next to the caller: `.ts` when the gateway runs
 * through tsx, `.js` from the build). tsx's loader hooks do not reach worker threads on their
 * own, so a `.ts` entry is started from a small ESM shim that registers tsx in the worker first;
 * without it the worker dies with ERR_UNKNOWN_FILE_EXTENSION and its work silently lands back on
 * the event loop.
 */
export function startWorker(callerUrl: string, name: string, options: WorkerOptions = {}): Worker {
  if (!callerUrl.endsWith(".ts")) return new Worker(new URL(`./${name}.js`, callerUrl), options);
  const entry = new URL(`./${name}.ts`, callerUrl).href;
  const shim = `import { register } from ${JSON.stringify(import.meta.resolve("tsx/esm/api"))};\nregister();\nawait import(${JSON.stringify(entry)});\n`;
  return new Worker(new URL(`data:text/javascript,${encodeURIComponent(shim)}`), options);
}
