import { useQuery } from "@tanstack/react-query";
import { api, unwrap, type Schemas } from "../api/client";

export type WebConfig = Schemas["WebConfig"];

/** Public settings (currency, time zone, login and payment options); read once, before login. */
export function useWebConfigQuery() {
  return useQuery({ queryKey: ["web-config"], queryFn: () => unwrap(api.GET("/v1/web/config")), staleTime: Infinity });
}

export function useWebConfig(): WebConfig | undefined {
  return useWebConfigQuery().data;
}
