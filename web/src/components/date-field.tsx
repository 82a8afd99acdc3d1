import { useEffect, useId, useMemo, useState } from "react";
import { useI18n, type Locale } from "../i18n/context";
import { cx } from "./ui";

const TAGS: Record<Locale, string> = { ru: "ru-RU", en: "en-US" };
const LETTERS: Record<Locale, { day: string; month: string; year: string; hour: string; minute: string }> = {
  ru: { day: "ДД", month: "ММ", year: "ГГГГ", hour: "ЧЧ", minute: "ММ" },
  en: { day: "DD", month: "MM", year: "YYYY", hour: "HH", minute: "MM" },
};

type Part = "day" | "month" | "year";

/**
 * A date as the app's language writes it (Intl's field order and separators for that language:
 * 31.12.2026 in Russian, 12/31/2026 in English), whatever language the browser itself runs in:
 * Chromium draws <input type="date"> in the browser's locale and ignores the page's `lang`.
 */
export function dateShape(locale: Locale) {
  const parts = new Intl.DateTimeFormat(TAGS[locale], { day: "2-digit", month: "2-digit", year: "numeric", timeZone: "UTC" }).formatToParts(new Date(Date.UTC(2026, 11, 31)));
  const order = parts.filter((p) => p.type === "day" || p.type === "month" || p.type === "year").map((p) => p.type as Part);
  const sep = parts.find((p) => p.type === "literal")?.value ?? ".";
  const L = LETTERS[locale];
  const placeholder = order.map((p) => L[p]).join(sep);
  const esc = sep.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
  const group = { day: "(\\d{1,2})", month: "(\\d{1,2})", year: "(\\d{4})" };
  const re = new RegExp(`^${order.map((p) => group[p]).join(`\\s*${esc}\\s*`)}$`);
  return {
    placeholder,
    timePlaceholder: `${L.hour}:${L.minute}`,
    /** "2026-12-31" → "31.12.2026" (ru). */
    format(ymd: string): string {
      const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(ymd);
      if (!m) return "";
      const v = { year: m[1]!, month: m[2]!, day: m[3]! };
      return order.map((p) => v[p]).join(sep);
    },
    /** "31.12.2026" → "2026-12-31"; "" → ""; not a real date → null. */
    parse(text: string): string | null {
      const s = text.trim();
      if (!s) return "";
      const m = re.exec(s);
      if (!m) return null;
      const v: Record<Part, number> = { day: 0, month: 0, year: 0 };
      order.forEach((p, i) => (v[p] = Number(m[i + 1])));
      const d = new Date(Date.UTC(v.year, v.month - 1, v.day));
      if (d.getUTCFullYear() !== v.year || d.getUTCMonth() !== v.month - 1 || d.getUTCDate() !== v.day) return null;
      return `${String(v.year).padStart(4, "0")}-${String(v.month).padStart(2, "0")}-${String(v.day).padStart(2, "0")}`;
    },
  };
}

const inputClass =
  "block rounded-md border-0 bg-white px-3 py-2 text-sm text-slate-900 ring-1 ring-slate-300 placeholder:text-slate-500 focus:ring-2 focus:ring-indigo-600 aria-[invalid=true]:ring-red-600";

/**
 * A date (or date and time) typed in the app language's format. The value outside is the one a
 * native input would have ("2026-12-31", or "2026-12-31T14:30" with `time`): controlled through
 * value/onChange, or inside a form through a hidden input named `name`.
 */
export function DateField(props: {
  label: string;
  name?: string;
  value?: string;
  defaultValue?: string;
  onChange?: (value: string) => void;
  time?: boolean;
  hint?: string;
  className?: string;
}) {
  const { locale, t } = useI18n();
  const shape = useMemo(() => dateShape(locale), [locale]);
  const id = useId();
  const initial = props.value ?? props.defaultValue ?? "";
  const [text, setText] = useState(() => shape.format(initial));
  const [timeText, setTimeText] = useState(() => initial.slice(11, 16));
  const [value, setValue] = useState(initial);
  const [bad, setBad] = useState(false);

  // A new language rewrites the text in its format; a new outside value replaces it.
  useEffect(() => setText(shape.format(value)), [shape]);
  useEffect(() => {
    if (props.value === undefined || props.value === value) return;
    setValue(props.value);
    setText(shape.format(props.value));
    setTimeText(props.value.slice(11, 16));
  }, [props.value]);

  function update(dateText: string, tText: string) {
    const d = shape.parse(dateText);
    const tm = tText.trim();
    const timeOk = !props.time || tm === "" || /^([01]?\d|2[0-3]):[0-5]\d$/.test(tm);
    if (d === null || !timeOk) {
      setBad(true);
      return;
    }
    setBad(false);
    const v = d === "" ? "" : props.time ? `${d}T${tm ? tm.padStart(5, "0") : "00:00"}` : d;
    setValue(v);
    props.onChange?.(v);
  }

  const hintId = `${id}-hint`;
  const message = bad ? t("common.dateFormat", { format: props.time ? `${shape.placeholder} ${shape.timePlaceholder}` : shape.placeholder }) : props.hint;
  return (
    <div className={props.className}>
      <label htmlFor={id} className="mb-1 block text-sm font-medium text-slate-800">
        {props.label}
      </label>
      <div className="flex gap-2">
        <input
          id={id}
          type="text"
          inputMode="numeric"
          autoComplete="off"
          placeholder={shape.placeholder}
          value={text}
          aria-invalid={bad || undefined}
          aria-describedby={message ? hintId : undefined}
          onChange={(e) => {
            setText(e.target.value);
            update(e.target.value, timeText);
          }}
          className={cx(inputClass, "w-full min-w-0 flex-1")}
        />
        {props.time && (
          <input
            type="text"
            inputMode="numeric"
            autoComplete="off"
            aria-label={`${props.label}: ${t("common.time")}`}
            placeholder={shape.timePlaceholder}
            value={timeText}
            onChange={(e) => {
              setTimeText(e.target.value);
              update(text, e.target.value);
            }}
            className={cx(inputClass, "w-20 flex-none")}
          />
        )}
      </div>
      {props.name && <input type="hidden" name={props.name} value={bad ? "" : value} />}
      {message && (
        <p id={hintId} className={cx("mt-1 text-xs", bad ? "text-red-700" : "text-slate-600")}>
          {message}
        </p>
      )}
    </div>
  );
}
