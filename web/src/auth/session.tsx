import { useQueryClient } from "@tanstack/react-query";
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from "react";
import { api, csrfToken, setAccessToken, setRefresher, unwrap, type Schemas } from "../api/client";

export type User = Schemas["User"];
export type Account = Schemas["AccountDetail"];
type Session = Schemas["Session"];

export type AuthState =
  | { status: "loading" }
  | { status: "anonymous"; expired: boolean }
  | { status: "authenticated"; user: User; account: Account };

interface AuthApi {
  state: AuthState;
  login(email: string, password: string): Promise<void>;
  register(email: string, password: string, name?: string, referralCode?: string): Promise<void>;
  logout(): Promise<void>;
  /** Re-reads user and account (after a profile change). */
  reload(): Promise<void>;
  /** Takes a session another flow obtained (Telegram deep-link poll). */
  accept(s: Session): void;
}

const Ctx = createContext<AuthApi | null>(null);

/**
 * Session handling for the whole app. Login/register ask for `session: "web"`: the access token
 * comes in the body and stays in memory; the refresh token is an httpOnly cookie (path /v1/auth)
 * that only the refresh and logout calls carry, each with the CSRF header.
 */
export function AuthProvider({ children }: { children: ReactNode }) {
  const [state, setState] = useState<AuthState>({ status: "loading" });
  const qc = useQueryClient();
  const inflight = useRef<Promise<string | null> | null>(null);

  const accept = useCallback((s: Session) => {
    setAccessToken(s.access_token ?? null);
    setState({ status: "authenticated", user: s.user, account: s.account });
  }, []);

  const endSession = useCallback(
    (expired: boolean) => {
      setAccessToken(null);
      qc.clear();
      setState({ status: "anonymous", expired });
    },
    [qc],
  );

  /** One refresh at a time: parallel 401s share it (a refresh token is single-use). */
  const refresh = useCallback(
    (onFail: "expire" | "quiet"): Promise<string | null> => {
      inflight.current ??= (async () => {
        const csrf = csrfToken();
        if (!csrf) return null;
        const r = await api.POST("/v1/auth/refresh", { body: { session: "web" }, headers: { "x-csrf-token": csrf } });
        return r.data ? (accept(r.data), r.data.access_token ?? null) : null;
      })()
        .catch(() => null)
        .then((t) => {
          inflight.current = null;
          if (!t) endSession(onFail === "expire");
          return t;
        });
      return inflight.current;
    },
    [accept, endSession],
  );

  useEffect(() => {
    setRefresher(() => refresh("expire"));
    void refresh("quiet");
    return () => setRefresher(null);
  }, [refresh]);

  const value = useMemo<AuthApi>(
    () => ({
      state,
      async login(email, password) {
        accept(await unwrap(api.POST("/v1/auth/login", { body: { email, password, session: "web" } })));
      },
      async register(email, password, name, referralCode) {
        accept(await unwrap(api.POST("/v1/auth/register", { body: { email, password, name: name || undefined, referral_code: referralCode || undefined, session: "web" } })));
      },
      async logout() {
        const csrf = csrfToken();
        await api.POST("/v1/auth/logout", { headers: csrf ? { "x-csrf-token": csrf } : {} }).catch(() => undefined);
        endSession(false);
      },
      async reload() {
        const me = await unwrap(api.GET("/v1/auth/me"));
        if (me.user && me.account) setState({ status: "authenticated", user: me.user, account: me.account });
      },
      accept,
    }),
    [state, accept, endSession],
  );
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

export function useAuth(): AuthApi {
  const v = useContext(Ctx);
  if (!v) throw new Error("useAuth outside AuthProvider");
  return v;
}

/** The logged-in user and account; only inside pages behind RequireAuth. */
export function useSession(): { user: User; account: Account } {
  const { state } = useAuth();
  if (state.status !== "authenticated") throw new Error("useSession without a session");
  return { user: state.user, account: state.account };
}
