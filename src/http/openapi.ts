/**
 * Shared pieces of every route's OpenAPI description. Error responses are derived from the one
 * error table (core/errors.ts), so a documented status and the body the gateway writes never drift.
 */
import { z } from "@hono/zod-openapi";
import { ERROR_TABLE, type ErrorCode } from "../core/errors.js";
import { ErrorResponse } from "./schemas.js";

type SecurityRequirement = Record<string, string[]>;

/** Security requirements by who may call: `public` is documented as `security: []` (no credentials). */
export const SECURITY = {
  public: [] as SecurityRequirement[],
  /** API key `sk-gw-…` (or a session / manage key where the route says so). */
  bearer: [{ bearerAuth: [] }] as SecurityRequirement[],
  /** ADMIN_TOKEN, or an admin user's session. */
  admin: [{ adminToken: [] }] as SecurityRequirement[],
  /** A DID-signed request (`x-did`, `x-did-timestamp`, `x-did-signature`). */
  did: [{ didSignature: [] }] as SecurityRequirement[],
};

export type Security = SecurityRequirement[];

/** A JSON response with its schema. */
export const json = <T extends z.ZodType>(schema: T, description: string) => ({ content: { "application/json": { schema } }, description });

/** A required JSON request body. */
export const body = <T extends z.ZodType>(schema: T) => ({ body: { content: { "application/json": { schema } }, required: true } });

/** An error response with a custom description (prefer `errorResponses`). */
export const errorResponse = (description: string) => ({ content: { "application/json": { schema: ErrorResponse } }, description });

const DESCRIPTIONS: Partial<Record<ErrorCode, string>> = {
  invalid_request: "Invalid request",
  missing_api_key: "Missing credentials",
  invalid_api_key: "Invalid credentials",
  forbidden: "Not allowed for this caller",
  not_found: "Not found",
  conflict: "Conflict with the current state",
};

/**
 * The error responses of a route, one entry per status, from the codes it can return:
 * `errorResponses("invalid_request", "not_found")` → `{400: …, 404: …}`. Several codes of one status
 * share an entry whose description names them all.
 */
export function errorResponses(...codes: ErrorCode[]) {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) {
    const status = ERROR_TABLE[code][0];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const out: Record<number, ReturnType<typeof errorResponse>> = {};
  for (const [status, list] of byStatus) {
    out[status] = errorResponse(list.map((c) => `${DESCRIPTIONS[c] ?? c.replaceAll("_", " ")} (\`${c}\`)`).join("; "));
  }
  return out;
}

/** The errors every admin route can return. */
export const ADMIN_ERRORS = ["missing_api_key", "invalid_api_key", "forbidden"] as const satisfies readonly ErrorCode[];

/** `{id}` in the path. */
export const IdParam = z.object({
  id: z
    .string()
    .min(1)
    .max(200)
    .openapi({ param: { name: "id", in: "path" } }),
});
