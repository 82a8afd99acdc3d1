import { useMemo } from "react";
import { useWebConfig } from "../lib/web-config";
import { useI18n, type Locale } from "./context";

const TAGS: Record<Locale, string> = { ru: "ru-RU", en: "en-US" };

/**
 * Locale-aware formatting. Money arrives from the API as decimal strings in the account currency;
 * it is shown with Intl (`1 500,00 ₽` in Russian). Small amounts keep up to 6 decimals so a
 * request's cost is shown exactly as the API reported it. Dates are shown in the gateway's billing
 * time zone, the one "today" and "this month" are counted in.
 */
export function useFormat() {
  const { locale } = useI18n();
  const cfg = useWebConfig();
  const currency = cfg?.currency ?? "RUB";
  const timeZone = cfg?.timezone ?? "UTC";
  return useMemo(() => {
    const tag = TAGS[locale];
    const moneyFmt = new Intl.NumberFormat(tag, { style: "currency", currency, currencyDisplay: "narrowSymbol", minimumFractionDigits: 2, maximumFractionDigits: 2 });
    const precise = new Intl.NumberFormat(tag, { style: "currency", currency, currencyDisplay: "narrowSymbol", minimumFractionDigits: 2, maximumFractionDigits: 6 });
    const rubFmt = new Intl.NumberFormat(tag, { style: "currency", currency: "RUB", currencyDisplay: "narrowSymbol", minimumFractionDigits: 2, maximumFractionDigits: 2 });
    const num = new Intl.NumberFormat(tag);
    const axisFmt = new Intl.NumberFormat(tag, { style: "currency", currency, currencyDisplay: "narrowSymbol", maximumSignificantDigits: 2 });
    const dt = new Intl.DateTimeFormat(tag, { timeZone, dateStyle: "medium", timeStyle: "medium" });
    const d = new Intl.DateTimeFormat(tag, { timeZone, dateStyle: "medium" });
    const dtShort = new Intl.DateTimeFormat(tag, { timeZone, dateStyle: "short", timeStyle: "short" });
    const short = new Intl.DateTimeFormat(tag, { timeZone: "UTC", day: "numeric", month: "short" });
    return {
      currency,
      timeZone,
      /** "1500.00" → "1 500,00 ₽"; null → "—". */
      money(v: string | null | undefined): string {
        if (v === null || v === undefined || v === "") return "—";
        const n = Number(v);
        return Number.isFinite(n) ? moneyFmt.format(n) : v;
      },
      /** As money(), but keeps the decimals a per-request cost has ("0,000123 ₽"). */
      cost(v: string | null | undefined): string {
        if (v === null || v === undefined || v === "") return "—";
        const n = Number(v);
        return Number.isFinite(n) ? precise.format(n) : v;
      },
      /** Rubles (what a YooKassa payment is made in, whatever the account currency). */
      rub: (v: string) => (Number.isFinite(Number(v)) ? rubFmt.format(Number(v)) : v),
      /** A chart axis tick: two significant digits, so small amounts stay distinct ("0,004 ₽"). */
      axis: (v: number) => axisFmt.format(v),
      number: (n: number | null | undefined) => (n === null || n === undefined ? "—" : num.format(n)),
      dateTime: (iso: string | null | undefined) => (iso ? dt.format(new Date(iso)) : "—"),
      /** For table cells: "01.12.2026, 14:26". */
      when: (iso: string | null | undefined) => (iso ? dtShort.format(new Date(iso)) : "—"),
      date: (iso: string | null | undefined) => (iso ? d.format(new Date(iso)) : "—"),
      /** A calendar day "2026-12-01" (already in the billing zone) → "1 дек.". */
      day: (ymd: string) => short.format(new Date(`${ymd}T00:00:00Z`)),
      ms: (v: number | null | undefined) => (v === null || v === undefined ? "—" : `${num.format(v)} ${locale === "ru" ? "мс" : "ms"}`),
    };
  }, [locale, currency, timeZone]);
}
