import type { MessageKey } from "../i18n/context";

/** One entry of the side navigation. `to` is relative to the app's base (/dashboard). */
export interface NavItem {
  to: string;
  label: MessageKey | (string & {});
  /** Only users with this role see it (admin pages). */
  role?: "admin";
  /** Match only the exact path (the overview at "/"). */
  end?: boolean;
}

export const customerNav: NavItem[] = [
  { to: "/", label: "nav.overview", end: true },
  { to: "/keys", label: "nav.keys" },
  { to: "/activity", label: "nav.activity" },
  { to: "/models", label: "nav.models" },
  { to: "/billing", label: "nav.billing" },
  { to: "/referrals", label: "nav.referrals" },
  { to: "/playground", label: "nav.playground" },
  { to: "/settings", label: "nav.settings" },
];
