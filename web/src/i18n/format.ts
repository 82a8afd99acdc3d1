import { useMemo } from "react";
import { useWebConfig } from "../lib/web-config";
import { useI18n, type Locale } from "./context";

const TAGS: Record<Locale, string> = { ru: "ru-RU", en: "en-US" };

/** How far `timeZone`'s wall clock is ahead of UTC at the instant `utcMs`. */
function zoneOffsetMs(utcMs: number, timeZone: string): number {
  const parts = new Intl.DateTimeFormat("en-US", { timeZone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" }).formatToParts(new Date(utcMs));
  const v = Object.fromEntries(parts.map((p) => [p.type, Number(p.value)])) as Record<string, number>;
  return Date.UTC(v.year!, v.month! - 1, v.day!, v.hour!, v.minute!, v.second!) - Math.floor(utcMs / 1000) * 1000;
}

/**
 * A wall-clock time in the billing zone ("2026-12-31" or "2026-12-31T14:30", optionally with
 * seconds) → the ISO instant. Days on every page are the billing zone's, not the browser's.
 */
export function zonedIso(local: string, timeZone: string): string | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2}))?)?$/.exec(local);
  if (!m) return undefined;
  const wall = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0));
  let t = wall - zoneOffsetMs(wall, timeZone);
  // Across a clock change the offset at the guess differs from the one at the answer.
  t = wall - zoneOffsetMs(t, timeZone);
  return new Date(t).toISOString();
}

/** An instant → its calendar day in the billing zone, "2026-12-31". */
export function zonedDay(iso: string, timeZone: string): string {
  return new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" }).format(new Date(iso));
}

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
      /** A date or date-and-time typed on a page (billing zone) → the ISO instant the API takes. */
      instant: (local: string) => (local ? zonedIso(local, timeZone) : undefined),
      /** An instant → "2026-12-31" in the billing zone (a date field's value). */
      dayOf: (iso: string) => zonedDay(iso, timeZone),
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
