import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema";

export type Schemas = components["schemas"];
export type { paths };

/** The OpenAI-shaped error body every gateway error has. */
export type ApiErrorBody = Schemas["Error"];

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly param: string | null = null,
  ) {
    super(message);
  }
}

/**
 * The session's access token lives only in this module's memory (never in storage): a reload gets
 * a new one from the httpOnly refresh cookie (see auth/session.tsx).
 */
let accessToken: string | null = null;
export function setAccessToken(t: string | null) {
  accessToken = t;
}
export function getAccessToken(): string | null {
  return accessToken;
}

/** Called when a request gets 401 with a session: returns a fresh token, or null when the session is over. */
let refresher: (() => Promise<string | null>) | null = null;
export function setRefresher(f: (() => Promise<string | null>) | null) {
  refresher = f;
}

const auth: Middleware = {
  onRequest({ request }) {
    if (accessToken && !request.headers.has("authorization")) request.headers.set("authorization", `Bearer ${accessToken}`);
    return request;
  },
};

/** fetch with one retry after a token refresh (the access token lives 15 minutes). */
async function sessionFetch(input: Request): Promise<Response> {
  const retry = input.clone();
  const res = await fetch(input);
  if (res.status !== 401 || !accessToken || !refresher || input.url.includes("/v1/auth/refresh") || input.url.includes("/v1/auth/login")) return res;
  const fresh = await refresher();
  if (!fresh) return res;
  retry.headers.set("authorization", `Bearer ${fresh}`);
  return fetch(retry);
}

export const api = createClient<paths>({ baseUrl: "", fetch: sessionFetch });

/** A plain fetch with the session (for streams and downloads that openapi-fetch does not parse). */
export function authorizedFetch(path: string, init: RequestInit = {}): Promise<Response> {
  const req = new Request(path, init);
  if (accessToken) req.headers.set("authorization", `Bearer ${accessToken}`);
  return sessionFetch(req);
}
api.use(auth);

/** Unwraps an openapi-fetch result: the data, or an ApiError with the gateway's code and message. */
export async function unwrap<T>(p: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const r = await p;
  if (r.error !== undefined || !r.response.ok) {
    const e = (r.error as ApiErrorBody | undefined)?.error;
    throw new ApiError(r.response.status, e?.code ?? "http_" + r.response.status, e?.message ?? r.response.statusText, e?.param ?? null);
  }
  return r.data as T;
}

/** The readable CSRF cookie the gateway sets with the refresh cookie (double submit). */
export function csrfToken(): string | null {
  const m = /(?:^|;\s*)lg_csrf=([^;]+)/.exec(document.cookie);
  return m ? decodeURIComponent(m[1]!) : null;
}
