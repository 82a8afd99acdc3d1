import { useQuery } from "@tanstack/react-query";
import { api, unwrap } from "../api/client";

/** Queries more than one page reads; keys are shared so pages reuse each other's data. */

export const useBalance = () => useQuery({ queryKey: ["balance"], queryFn: () => unwrap(api.GET("/v1/client/balance")), refetchInterval: 30_000 });

export const useUsage = () => useQuery({ queryKey: ["usage"], queryFn: () => unwrap(api.GET("/v1/client/usage")) });

export const useKeys = () =>
  useQuery({ queryKey: ["keys"], queryFn: () => unwrap(api.GET("/v1/auth/api-keys", { params: { query: { limit: 200, include_stats: "true" } } })) });

export const usePrices = () => useQuery({ queryKey: ["prices"], queryFn: () => unwrap(api.GET("/v1/client/prices", { params: { query: {} } })), staleTime: 60_000 });

/** Today's date (YYYY-MM-DD) in a time zone. */
export function todayIn(timeZone: string): string {
  return new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" }).format(new Date());
}

/** The `n` calendar days ending with `last` (YYYY-MM-DD), oldest first. */
export function lastDays(last: string, n: number): string[] {
  const end = Date.parse(`${last}T00:00:00Z`);
  return Array.from({ length: n }, (_, i) => new Date(end - (n - 1 - i) * 86_400_000).toISOString().slice(0, 10));
}
