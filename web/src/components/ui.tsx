import { forwardRef, useId, type ButtonHTMLAttributes, type InputHTMLAttributes, type ReactNode, type SelectHTMLAttributes } from "react";
import { Link, type LinkProps } from "react-router";

/** Small building blocks with one look; pages compose these instead of repeating class lists. */

export function cx(...c: (string | false | null | undefined)[]): string {
  return c.filter(Boolean).join(" ");
}

type Variant = "primary" | "secondary" | "danger" | "ghost";
const VARIANTS: Record<Variant, string> = {
  primary: "bg-indigo-700 text-white hover:bg-indigo-800 disabled:bg-indigo-300",
  secondary: "bg-white text-slate-800 ring-1 ring-slate-300 hover:bg-slate-50 disabled:text-slate-400",
  danger: "bg-white text-red-700 ring-1 ring-red-300 hover:bg-red-50 disabled:text-red-300",
  ghost: "text-slate-700 hover:bg-slate-100",
};
const BASE = "inline-flex items-center justify-center gap-2 rounded-md px-3 py-2 text-sm font-medium transition-colors disabled:cursor-not-allowed min-h-9";

export const Button = forwardRef<HTMLButtonElement, ButtonHTMLAttributes<HTMLButtonElement> & { variant?: Variant }>(function Button(
  { variant = "primary", className, type = "button", ...rest },
  ref,
) {
  return <button ref={ref} type={type} className={cx(BASE, VARIANTS[variant], className)} {...rest} />;
});

export function LinkButton({ variant = "primary", className, ...rest }: LinkProps & { variant?: Variant }) {
  return <Link className={cx(BASE, VARIANTS[variant], className)} {...rest} />;
}

export function Card({ title, actions, children, className }: { title?: ReactNode; actions?: ReactNode; children: ReactNode; className?: string }) {
  return (
    <section className={cx("rounded-lg bg-white p-4 shadow-sm ring-1 ring-slate-200 sm:p-5", className)}>
      {(title || actions) && (
        <div className="mb-3 flex flex-wrap items-center justify-between gap-2">
          {title && <h2 className="text-base font-semibold text-slate-900">{title}</h2>}
          {actions}
        </div>
      )}
      {children}
    </section>
  );
}

export function PageHeader({ title, actions, children }: { title: string; actions?: ReactNode; children?: ReactNode }) {
  return (
    <header className="mb-5 flex flex-wrap items-end justify-between gap-3">
      <div className="min-w-0">
        <h1 className="text-xl font-semibold text-slate-900 [overflow-wrap:anywhere] sm:text-2xl">{title}</h1>
        {children && <div className="mt-1 text-sm text-slate-600">{children}</div>}
      </div>
      {actions && <div className="flex flex-wrap gap-2">{actions}</div>}
    </header>
  );
}

export function Stat({ label, value, hint }: { label: string; value: ReactNode; hint?: ReactNode }) {
  return (
    <div className="rounded-lg bg-white p-4 shadow-sm ring-1 ring-slate-200">
      <div className="text-sm text-slate-600">{label}</div>
      <div className="tabular mt-1 text-xl font-semibold text-slate-900 sm:text-2xl">{value}</div>
      {hint && <div className="mt-1 text-xs text-slate-600">{hint}</div>}
    </div>
  );
}

const inputClass =
  "block w-full rounded-md border-0 bg-white px-3 py-2 text-sm text-slate-900 ring-1 ring-slate-300 placeholder:text-slate-500 focus:ring-2 focus:ring-indigo-600 disabled:bg-slate-100";

/** A labelled input: the label is always tied to the control (screen readers, click-to-focus). */
export const Field = forwardRef<HTMLInputElement, InputHTMLAttributes<HTMLInputElement> & { label: string; hint?: string; error?: string | null }>(function Field(
  { label, hint, error, className, id, ...rest },
  ref,
) {
  const auto = useId();
  const fid = id ?? auto;
  const hintId = hint || error ? `${fid}-hint` : undefined;
  return (
    <div className={className}>
      <label htmlFor={fid} className="mb-1 block text-sm font-medium text-slate-800">
        {label}
      </label>
      <input ref={ref} id={fid} aria-describedby={hintId} aria-invalid={error ? true : undefined} className={inputClass} {...rest} />
      {(hint || error) && (
        <p id={hintId} className={cx("mt-1 text-xs", error ? "text-red-700" : "text-slate-600")}>
          {error ?? hint}
        </p>
      )}
    </div>
  );
});

export function Select({ label, className, id, children, ...rest }: SelectHTMLAttributes<HTMLSelectElement> & { label: string }) {
  const auto = useId();
  const fid = id ?? auto;
  return (
    <div className={className}>
      <label htmlFor={fid} className="mb-1 block text-sm font-medium text-slate-800">
        {label}
      </label>
      <select id={fid} className={inputClass} {...rest}>
        {children}
      </select>
    </div>
  );
}

export function TextArea({ label, className, id, ...rest }: React.TextareaHTMLAttributes<HTMLTextAreaElement> & { label: string }) {
  const auto = useId();
  const fid = id ?? auto;
  return (
    <div className={className}>
      <label htmlFor={fid} className="mb-1 block text-sm font-medium text-slate-800">
        {label}
      </label>
      <textarea id={fid} className={inputClass} {...rest} />
    </div>
  );
}

type Tone = "green" | "gray" | "red" | "amber" | "blue";
const TONES: Record<Tone, string> = {
  green: "bg-green-50 text-green-800 ring-green-600/30",
  gray: "bg-slate-100 text-slate-700 ring-slate-500/30",
  red: "bg-red-50 text-red-800 ring-red-600/30",
  amber: "bg-amber-50 text-amber-900 ring-amber-600/30",
  blue: "bg-blue-50 text-blue-800 ring-blue-600/30",
};
export function Badge({ tone = "gray", children }: { tone?: Tone; children: ReactNode }) {
  return <span className={cx("inline-flex items-center rounded-full px-2 py-0.5 text-xs font-medium ring-1 ring-inset", TONES[tone])}>{children}</span>;
}

export function Alert({ tone = "blue", children, action }: { tone?: "blue" | "amber" | "red" | "green"; children: ReactNode; action?: ReactNode }) {
  const t = { blue: "bg-blue-50 text-blue-900 ring-blue-200", amber: "bg-amber-50 text-amber-900 ring-amber-300", red: "bg-red-50 text-red-900 ring-red-200", green: "bg-green-50 text-green-900 ring-green-200" }[tone];
  return (
    <div role={tone === "red" ? "alert" : "status"} className={cx("flex flex-wrap items-center justify-between gap-3 rounded-md p-3 text-sm ring-1", t)}>
      <div>{children}</div>
      {action}
    </div>
  );
}

/** A horizontally scrolling table frame: wide tables stay usable at 375 px. */
export function TableFrame({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="relative -mx-4 overflow-x-auto sm:mx-0" role="region" aria-label={label} tabIndex={0}>
      <table className="min-w-full divide-y divide-slate-200 text-sm">{children}</table>
    </div>
  );
}
export const th = "whitespace-nowrap px-3 py-2 text-left text-xs font-semibold uppercase tracking-wide text-slate-600";
export const td = "whitespace-nowrap px-3 py-2 text-slate-800";
