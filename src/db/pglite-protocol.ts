/** Messages between the main thread (pglite-remote.ts) and the embedded database's thread (pglite-worker.ts). */
export type PgliteRequest =
  | { id: number; op: "query"; tx?: number; sql: string; params?: unknown[]; rowMode?: "array" | "object"; textTypes?: number[] }
  | { id: number; op: "begin"; tx?: undefined }
  | { id: number; op: "end"; tx: number; commit: boolean }
  | { id: number; op: "close"; tx?: undefined };

/** `id` 0 is the worker's own "ready" (or its start-up failure). */
export type PgliteReply =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: { name: string; message: string; fields: Record<string, unknown> } };
