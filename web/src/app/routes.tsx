import type { RouteObject } from "react-router";
import { Layout } from "../components/layout";
import { adminPublicRoutes, adminRoutes } from "../pages/admin";
import { ActivityDetailPage } from "../pages/activity-detail";
import { ActivityPage } from "../pages/activity";
import { BillingPage } from "../pages/billing";
import { ForbiddenPage, NotFoundPage } from "../pages/errors";
import { KeysPage } from "../pages/keys";
import { LoginPage, SignupPage } from "../pages/login";
import { ModelsPage } from "../pages/models";
import { OverviewPage } from "../pages/overview";
import { PlaygroundPage } from "../pages/playground";
import { ReferralsPage } from "../pages/referrals";
import { SettingsPage } from "../pages/settings";
import { AnonymousOnly, RequireAdmin, RequireAuth } from "./guards";

/** Every page of the app; paths are relative to /dashboard. */
export const routes: RouteObject[] = [
  ...adminPublicRoutes,
  {
    element: <AnonymousOnly />,
    children: [
      { path: "login", element: <LoginPage /> },
      { path: "signup", element: <SignupPage /> },
    ],
  },
  {
    element: <RequireAuth />,
    children: [
      {
        element: <Layout />,
        children: [
          { index: true, element: <OverviewPage /> },
          { path: "keys", element: <KeysPage /> },
          { path: "activity", element: <ActivityPage /> },
          { path: "activity/:id", element: <ActivityDetailPage /> },
          { path: "models", element: <ModelsPage /> },
          { path: "billing", element: <BillingPage /> },
          { path: "referrals", element: <ReferralsPage /> },
          { path: "playground", element: <PlaygroundPage /> },
          { path: "settings", element: <SettingsPage /> },
          { path: "admin", element: <RequireAdmin forbidden={<ForbiddenPage />} />, children: adminRoutes },
          { path: "*", element: <NotFoundPage /> },
        ],
      },
    ],
  },
];
