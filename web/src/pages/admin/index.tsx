import type { RouteObject } from "react-router";
import type { NavItem } from "../../app/nav";

/**
 * The admin panel's slot in the app (owned by the admin pages): routes mounted under /dashboard/admin
 * for users with the admin role, and their entries in the navigation's "Administration" group.
 */
export const adminRoutes: RouteObject[] = [];
export const adminNav: NavItem[] = [];
