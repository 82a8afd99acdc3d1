import { useMutation, useQueryClient, type QueryKey } from "@tanstack/react-query";
import { useState } from "react";
import { ApiError } from "../../api/client";

/** Every admin query key starts with "admin", so one invalidation refreshes the panel after a write. */
export const adminKey = (...parts: unknown[]): QueryKey => ["admin", ...parts];

/** A write through the admin API; on success the panel's cached reads are refetched. */
export function useAdminMutation<I, O>(fn: (input: I) => Promise<O>, opts: { onSuccess?: (o: O, i: I) => void } = {}) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: fn,
    onSuccess: async (o, i) => {
      await qc.invalidateQueries({ queryKey: ["admin"] });
      opts.onSuccess?.(o, i);
    },
  });
}

export function errorText(e: unknown): string | null {
  if (!e) return null;
  return e instanceof ApiError ? e.message : e instanceof Error ? e.message : String(e);
}

/**
 * Keyset pages (`next_cursor`): the cursors of the pages seen so far, so "previous" works too.
 * Changing a filter calls reset().
 */
export function useCursorPages() {
  const [stack, setStack] = useState<(string | undefined)[]>([undefined]);
  const cursor = stack[stack.length - 1];
  return {
    cursor,
    page: stack.length,
    next: (c: string | null | undefined) => c && setStack((s) => [...s, c]),
    prev: () => setStack((s) => (s.length > 1 ? s.slice(0, -1) : s)),
    reset: () => setStack([undefined]),
  };
}

/** A fresh idempotency key per dialog opening: a double click or a retry applies the adjustment once. */
export function newIdempotencyKey(): string {
  return typeof crypto.randomUUID === "function" ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(36).slice(2)}`;
}
