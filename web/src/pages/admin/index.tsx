import type { RouteObject } from "react-router";
import type { NavItem } from "../../app/nav";
import { AdminAccountDetailPage } from "./account-detail";
import { AdminAccountsPage } from "./accounts";
import { AdminAuditPage } from "./audit";
import { AdminOverviewPage } from "./overview";
import { AdminPaymentsPage } from "./payments";
import { AdminPricesPage } from "./prices";
import { AdminRequestDetailPage, AdminRequestsPage } from "./requests";
import { AdminTokenLoginPage } from "./token-login";
import { AdminUpstreamsPage } from "./upstreams";

/**
 * The admin panel's slot in the app (owned by the admin pages): routes mounted under /dashboard/admin
 * for users with the admin role, and their entries in the navigation's "Administration" group.
 */
export const adminRoutes: RouteObject[] = [
  { index: true, element: <AdminOverviewPage /> },
  { path: "accounts", element: <AdminAccountsPage /> },
  { path: "accounts/:id", element: <AdminAccountDetailPage /> },
  { path: "upstreams", element: <AdminUpstreamsPage /> },
  { path: "prices", element: <AdminPricesPage /> },
  { path: "payments", element: <AdminPaymentsPage /> },
  { path: "requests", element: <AdminRequestsPage /> },
  { path: "requests/:id", element: <AdminRequestDetailPage /> },
  { path: "audit", element: <AdminAuditPage /> },
];

/** Outside the signed-in frame: the ADMIN_TOKEN login form (/dashboard/admin/login). */
export const adminPublicRoutes: RouteObject[] = [{ path: "admin/login", element: <AdminTokenLoginPage /> }];

export const adminNav: NavItem[] = [
  { to: "/admin", label: "admin.nav.overview", end: true, role: "admin" },
  { to: "/admin/accounts", label: "admin.nav.accounts", role: "admin" },
  { to: "/admin/upstreams", label: "admin.nav.upstreams", role: "admin" },
  { to: "/admin/prices", label: "admin.nav.prices", role: "admin" },
  { to: "/admin/payments", label: "admin.nav.payments", role: "admin" },
  { to: "/admin/requests", label: "admin.nav.requests", role: "admin" },
  { to: "/admin/audit", label: "admin.nav.audit", role: "admin" },
];
