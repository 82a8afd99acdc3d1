import { Navigate, Outlet, useLocation } from "react-router";
import { useAuth } from "../auth/session";
import { Loading } from "../components/states";

/** Pages behind a session: while the reload-time refresh runs, a spinner; without a session, the login page. */
export function RequireAuth() {
  const { state } = useAuth();
  const loc = useLocation();
  if (state.status === "loading") return <Loading />;
  if (state.status === "anonymous") {
    const next = loc.pathname + loc.search;
    return <Navigate to={`/login?${new URLSearchParams({ ...(next !== "/" ? { next } : {}), ...(state.expired ? { expired: "1" } : {}) })}`} replace />;
  }
  return <Outlet />;
}

/** Admin pages: a client's session sees a 403 view (the admin API refuses it too). */
export function RequireAdmin({ forbidden }: { forbidden: React.ReactNode }) {
  const { state } = useAuth();
  if (state.status !== "authenticated") return null;
  return state.user.role === "admin" ? <Outlet /> : <>{forbidden}</>;
}

/** Login/sign-up: an existing session goes straight to where it was headed. */
export function AnonymousOnly() {
  const { state } = useAuth();
  const loc = useLocation();
  if (state.status === "loading") return <Loading />;
  if (state.status === "authenticated") {
    const next = new URLSearchParams(loc.search).get("next");
    return <Navigate to={next && next.startsWith("/") && !next.startsWith("//") ? next : "/"} replace />;
  }
  return <Outlet />;
}
