import { OpenAPIHono } from "@hono/zod-openapi";
import { AppError } from "../core/errors.js";
import type { AppEnv } from "./context.js";

interface ZodLikeIssue {
  path: PropertyKey[];
  message: string;
}

/** Turns a zod validation failure into our 400, naming the field and why. */
export function validationError(issues: readonly ZodLikeIssue[], target?: string): AppError {
  const first = issues[0];
  const path = first ? first.path.map(String).join(".") : "";
  const where = path ? `\`${path}\`` : target === "json" ? "body" : (target ?? "request");
  return new AppError("invalid_request", `Invalid ${where}: ${first?.message ?? "validation failed"}`, {
    param: path || null,
    details: issues.length > 1 ? { errors: issues.slice(0, 10).map((i) => ({ param: i.path.map(String).join("."), message: i.message })) } : undefined,
  });
}

/** Every route module builds its router with this, so validation errors take the one error path. */
export function createRouter(opts: { getPath?: (request: Request) => string } = {}): OpenAPIHono<AppEnv> {
  return new OpenAPIHono<AppEnv>({
    ...(opts.getPath ? { getPath: opts.getPath } : {}),
    defaultHook: (result, _c) => {
      if (!result.success) throw validationError(result.error.issues, result.target);
    },
  });
}
