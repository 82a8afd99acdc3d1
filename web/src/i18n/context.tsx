import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import { messages as adminMessages } from "../features/admin/messages";
import { en } from "./en";
import { ru } from "./ru";

export type Locale = "ru" | "en";
export const LOCALES: readonly Locale[] = ["ru", "en"];
export type MessageKey = keyof typeof en;
type Vars = Record<string, string | number>;

const STORAGE_KEY = "lg.locale";
// Customer texts (./en, ./ru) and the admin panel's own (features/admin/messages) in one table.
const TABLES: Record<Locale, Record<string, string>> = { en: { ...en, ...adminMessages.en }, ru: { ...ru, ...adminMessages.ru } };

/** Russian first: the saved choice, else the browser's first ru/en preference, else Russian. */
export function initialLocale(): Locale {
  const saved = localStorage.getItem(STORAGE_KEY);
  if (saved === "ru" || saved === "en") return saved;
  for (const l of navigator.languages ?? [navigator.language]) {
    const base = l.toLowerCase().slice(0, 2);
    if (base === "ru" || base === "en") return base;
  }
  return "ru";
}

interface I18n {
  locale: Locale;
  setLocale(l: Locale): void;
  /** A text by key; `{name}` placeholders are filled from vars. Unknown keys show as the key. */
  t(key: MessageKey | (string & {}), vars?: Vars): string;
}

const Ctx = createContext<I18n | null>(null);

export function I18nProvider({ children }: { children: ReactNode }) {
  const [locale, setLocaleState] = useState<Locale>(initialLocale);
  useEffect(() => {
    document.documentElement.lang = locale;
  }, [locale]);
  const setLocale = useCallback((l: Locale) => {
    localStorage.setItem(STORAGE_KEY, l);
    setLocaleState(l);
  }, []);
  const t = useCallback(
    (key: string, vars?: Vars) => {
      const s = TABLES[locale][key] ?? TABLES.en[key] ?? key;
      return vars ? s.replace(/\{(\w+)\}/g, (m, k: string) => (k in vars ? String(vars[k]) : m)) : s;
    },
    [locale],
  );
  const value = useMemo(() => ({ locale, setLocale, t }), [locale, setLocale, t]);
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

export function useI18n(): I18n {
  const v = useContext(Ctx);
  if (!v) throw new Error("useI18n outside I18nProvider");
  return v;
}
