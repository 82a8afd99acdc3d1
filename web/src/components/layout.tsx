import { useEffect, useState } from "react";
import { NavLink, Outlet, useLocation } from "react-router";
import { customerNav, type NavItem } from "../app/nav";
import { useAuth, useSession } from "../auth/session";
import { LOCALES, useI18n } from "../i18n/context";
import { adminNav } from "../pages/admin";
import { Button, cx } from "./ui";

function NavList({ items, label }: { items: NavItem[]; label: string }) {
  const { t } = useI18n();
  return (
    <nav aria-label={label}>
      <ul className="space-y-0.5">
        {items.map((i) => (
          <li key={i.to}>
            <NavLink
              to={i.to}
              end={i.end}
              className={({ isActive }) =>
                cx("block rounded-md px-3 py-2 text-sm font-medium", isActive ? "bg-indigo-50 text-indigo-800" : "text-slate-700 hover:bg-slate-100 hover:text-slate-900")
              }
            >
              {t(i.label)}
            </NavLink>
          </li>
        ))}
      </ul>
    </nav>
  );
}

export function LanguageSwitch({ className }: { className?: string }) {
  const { locale, setLocale, t } = useI18n();
  return (
    <div role="group" aria-label={t("app.language")} className={cx("inline-flex rounded-md ring-1 ring-slate-300", className)}>
      {LOCALES.map((l) => (
        <button
          key={l}
          type="button"
          lang={l}
          aria-pressed={locale === l}
          onClick={() => setLocale(l)}
          className={cx("px-2.5 py-1 text-xs font-semibold uppercase first:rounded-l-md last:rounded-r-md", locale === l ? "bg-slate-800 text-white" : "bg-white text-slate-700 hover:bg-slate-100")}
        >
          {l === "ru" ? "RU" : "EN"}
        </button>
      ))}
    </div>
  );
}

/** The signed-in frame: header, navigation (a drawer below the lg breakpoint) and the page. */
export function Layout() {
  const { t } = useI18n();
  const { user, account } = useSession();
  const { logout } = useAuth();
  const [open, setOpen] = useState(false);
  const loc = useLocation();
  useEffect(() => setOpen(false), [loc.pathname]);
  const admin = user.role === "admin" ? adminNav : [];

  const sidebar = (
    <div className="flex h-full flex-col gap-6 p-4">
      <NavList items={customerNav} label={t("app.mainNav")} />
      {admin.length > 0 && (
        <div>
          <h2 className="mb-1 px-3 text-xs font-semibold uppercase tracking-wide text-slate-600">{t("app.adminNav")}</h2>
          <NavList items={admin} label={t("app.adminNav")} />
        </div>
      )}
    </div>
  );

  return (
    <div className="min-h-screen">
      <a href="#main" className="sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:z-50 focus:rounded focus:bg-white focus:px-3 focus:py-2">
        {t("app.skip")}
      </a>
      <header className="sticky top-0 z-30 flex h-14 items-center gap-3 border-b border-slate-200 bg-white px-4">
        <Button variant="ghost" className="px-2 lg:hidden" aria-expanded={open} aria-controls="drawer" onClick={() => setOpen((v) => !v)}>
          <span aria-hidden>☰</span>
          <span className="sr-only">{open ? t("app.closeMenu") : t("app.menu")}</span>
        </Button>
        <NavLink to="/" className="flex items-center gap-2 font-semibold text-slate-900">
          <img src={`${import.meta.env.BASE_URL}favicon.svg`} alt="" className="h-6 w-6" />
          <span className="sr-only sm:not-sr-only">{t("app.name")}</span>
        </NavLink>
        <div className="ml-auto flex items-center gap-3">
          <span className="hidden max-w-48 truncate text-sm text-slate-600 sm:inline" title={user.email ?? account.name}>
            {user.email ?? account.name}
          </span>
          <LanguageSwitch />
          <Button variant="secondary" onClick={() => void logout()}>
            {t("app.logout")}
          </Button>
        </div>
      </header>
      <div className="flex min-h-[calc(100vh-3.5rem)]">
        <aside className="hidden w-60 shrink-0 border-r border-slate-200 bg-white lg:block">
          <div className="sticky top-14 max-h-[calc(100vh-3.5rem)] overflow-y-auto">{sidebar}</div>
        </aside>
        {open && (
          <div className="fixed inset-0 top-14 z-20 lg:hidden">
            <div className="absolute inset-0 bg-slate-900/40" aria-hidden onClick={() => setOpen(false)} />
            <aside id="drawer" className="absolute inset-y-0 left-0 w-72 max-w-[85%] overflow-y-auto bg-white shadow-xl">
              {sidebar}
            </aside>
          </div>
        )}
        <main id="main" tabIndex={-1} className="min-w-0 flex-1 px-4 py-6 sm:px-6 lg:px-8">
          <div className="mx-auto max-w-6xl">
            <Outlet />
          </div>
        </main>
      </div>
    </div>
  );
}
