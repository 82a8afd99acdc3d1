/**
 * Routes as data: each route is its OpenAPI description plus a small handler, registered through
 * `defineRoutes`, which fills what every route of a group shares (tag, security, the group's error
 * responses) and derives the operationId from method and path.
 *
 * Adding a route: in the resource's file under http/routes/, add
 *   route({ method: "get", path: "/admin/things/{id}", summary: "…", request: { params: IdParam },
 *           responses: { 200: json(Thing, "The thing"), ...errorResponses("not_found") } },
 *         async (c) => c.json(view(await getThing(deps.db, c.req.valid("param").id)), 200)),
 * to the list its `defineRoutes(app, group, [...])` call takes. Public routes use `SECURITY.public`.
 */
import type { OpenAPIHono, RouteConfig, RouteHandler } from "@hono/zod-openapi";
import { createRoute } from "@hono/zod-openapi";
import type { ErrorCode } from "../core/errors.js";
import type { AppEnv } from "./context.js";
import { errorResponses, type Security } from "./openapi.js";

type RouteSpec = Omit<RouteConfig, "security" | "tags"> & { security?: Security; tags?: string[] };

/** One route: its description and its handler, typed against each other. */
export interface RouteEntry {
  readonly spec: RouteSpec;
  readonly handler: unknown;
}

/** Describes one route; the handler's `c.req.valid(…)` and `c.json(…, status)` are typed by the description. */
export function route<P extends string, R extends Omit<RouteSpec, "path"> & { path: P }>(spec: R, handler: RouteHandler<R & RouteConfig, AppEnv>): RouteEntry {
  return { spec, handler };
}

export interface RouteGroup {
  /** The OpenAPI tag of the group's routes (a route may name its own). */
  tag: string;
  /** Who may call the group's routes (a route may say otherwise, e.g. `SECURITY.public`). */
  security: Security;
  /** Error codes every route of the group can return (e.g. failed authentication). */
  errors?: readonly ErrorCode[];
}

/** `get /admin/accounts/{id}/ledger` → `getAdminAccountsByIdLedger`: unique per method and path. */
export function operationIdOf(method: string, path: string): string {
  const words = path
    .split("/")
    .filter(Boolean)
    .map((seg) => {
      const param = /^\{(.+)\}$/.exec(seg);
      const word = (param ? `by-${param[1]}` : seg).replace(/[^A-Za-z0-9]+(.)?/g, (_m, ch: string | undefined) => (ch ? ch.toUpperCase() : ""));
      return word.charAt(0).toUpperCase() + word.slice(1);
    });
  return method.toLowerCase() + words.join("");
}

type Register = (route: RouteConfig, handler: unknown) => unknown;

export function defineRoutes(app: OpenAPIHono<AppEnv>, group: RouteGroup, routes: readonly RouteEntry[]): void {
  const register = app.openapi.bind(app) as unknown as Register;
  for (const { spec, handler } of routes) {
    register(
      createRoute({
        ...spec,
        operationId: spec.operationId ?? operationIdOf(spec.method, spec.path),
        tags: spec.tags ?? [group.tag],
        security: [...(spec.security ?? group.security)],
        responses: { ...(group.errors && spec.security?.length !== 0 ? errorResponses(...group.errors) : {}), ...spec.responses },
      }),
      handler,
    );
  }
}
