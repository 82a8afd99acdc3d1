import { z } from "@hono/zod-openapi";

export const ErrorResponse = z
  .object({
    error: z.object({
      message: z.string(),
      type: z.string(),
      code: z.string(),
      param: z.string().nullable(),
      request_id: z.string().nullable(),
    }),
  })
  .openapi("Error");
