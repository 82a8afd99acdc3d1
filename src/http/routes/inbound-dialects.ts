import { createRoute, z } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import { AppError } from "../../core/errors.js";
import { anthropicMessages } from "../../proxy/dialects/anthropic-messages.js";
import type { InboundDialect } from "../../proxy/dialects/dialect.js";
import { openaiResponses } from "../../proxy/dialects/openai-responses.js";
import { checkModelName } from "../../proxy/request-checks.js";
import { countPromptTokens } from "../../proxy/tokenizer.js";
import { readJsonObject } from "../body.js";
import type { AppEnv } from "../context.js";
import type { AppDeps } from "../deps.js";
import { AnthropicCountTokensRequest, AnthropicError, AnthropicMessage, AnthropicMessagesRequest, AnthropicTokenCount, ResponseObject, ResponsesRequest } from "../dialect-schemas.js";
import { toAppError } from "../errors.js";
import { dialectEntry } from "../inference-entry.js";
import { createRouter, validationError } from "../router.js";
import { ErrorResponse } from "../schemas.js";

/**
 * Client APIs served on the chat pipeline: Anthropic's Messages (Anthropic SDKs, Claude Code) and
 * OpenAI's Responses (the openai SDK's `responses`, `@ai-sdk/openai`'s default provider, Codex).
 * Authentication (Bearer, or `x-api-key` for Anthropic's clients) and the refusal trail are set up
 * in app.ts, behind `dialectErrors`, so even an unknown key is answered in the client's shape.
 */

const json = (schema: z.ZodType, description: string) => ({ content: { "application/json": { schema } }, description });

const ANTHROPIC_STATUSES = {
  400: "Invalid request (`invalid_request_error`)",
  401: "Missing or unknown API key (`authentication_error`)",
  402: "Balance too low (`billing_error`)",
  403: "Key not allowed this model, or quota exceeded (`permission_error`)",
  404: "Unknown model (`not_found_error`)",
  413: "Body too large (`request_too_large`)",
  429: "Rate limit exceeded (`rate_limit_error`)",
  502: "Upstream error (`api_error`)",
  503: "No upstream available (`overloaded_error`)",
  504: "Upstream timeout (`timeout_error`)",
} as const;
const anthropicErrors = Object.fromEntries(Object.entries(ANTHROPIC_STATUSES).map(([s, d]) => [s, json(AnthropicError, d)]));
const openaiErrors = Object.fromEntries(
  Object.entries({ 400: "Invalid request; `unsupported_parameter` for what needs stored state", 401: "Missing or unknown API key", 402: "Balance too low", 403: "Not allowed", 404: "Unknown model", 429: "Rate limit exceeded", 502: "Upstream error", 504: "Upstream timeout" }).map(([s, d]) => [s, json(ErrorResponse, d)]),
);

const anthropicSecurity: Record<string, string[]>[] = [{ bearerAuth: [] }, { anthropicApiKey: [] }];

const messagesRoute = createRoute({
  method: "post",
  path: "/v1/messages",
  tags: ["Inference (Anthropic Messages)"],
  summary: "Anthropic Messages API (streams with `stream: true`)",
  description:
    "Anthropic's request and answer shapes and SSE events (`message_start`, `content_block_start`/`delta`/`stop`, `message_delta` with usage, `message_stop`, `ping`, `error`), served by any upstream: the request is translated to chat and billed and logged like chat (log endpoint `messages`). Key as `x-api-key` or `Authorization: Bearer`; `anthropic-version` is accepted. Errors in Anthropic's shape `{type: \"error\", error: {type, message}}`.",
  security: anthropicSecurity,
  request: { body: { content: { "application/json": { schema: AnthropicMessagesRequest } }, required: true } },
  responses: {
    200: {
      description: "A message, or an SSE stream of Anthropic's events",
      content: { "application/json": { schema: AnthropicMessage }, "text/event-stream": { schema: z.string().openapi({ description: "`event: <type>` / `data: <JSON>` frames as Anthropic documents them" }) } },
    },
    ...anthropicErrors,
  },
});

const countTokensRoute = createRoute({
  method: "post",
  path: "/v1/messages/count_tokens",
  tags: ["Inference (Anthropic Messages)"],
  summary: "Count a Messages request's input tokens (local count, not billed)",
  description: "Counted by the gateway's tokenizer (o200k_base), so close to but not exactly what the model's own tokenizer says.",
  security: anthropicSecurity,
  request: { body: { content: { "application/json": { schema: AnthropicCountTokensRequest } }, required: true } },
  responses: { 200: json(AnthropicTokenCount, "The input token count"), ...anthropicErrors },
});

const responsesRoute = createRoute({
  method: "post",
  path: "/v1/responses",
  tags: ["Inference"],
  summary: "OpenAI Responses API (streams with `stream: true`)",
  description:
    "Sent to the upstream's own Responses API where the provider serves it (`responses_api: native`: by default OpenAI, Azure OpenAI, LiteLLM; the API's fields only, `store: false`), translated to chat elsewhere; billed and logged like chat (log endpoint `responses`). Input as a string or items (messages, `function_call`, `function_call_output`), `instructions`, function tools, `max_output_tokens`, `text.format`. No state is kept between requests: `previous_response_id`, `item_reference`, `conversation`, `store: true` and `background` are refused with 400 `unsupported_parameter`; the answer says `store: false`.",
  security: [{ bearerAuth: [] }],
  request: { body: { content: { "application/json": { schema: ResponsesRequest } }, required: true } },
  responses: {
    200: {
      description: "A response object, or an SSE stream of response events",
      content: { "application/json": { schema: ResponseObject }, "text/event-stream": { schema: z.string().openapi({ description: "`event: <type>` / `data: <ResponseStreamEvent JSON>` frames, ending with `response.completed`" }) } },
    },
    ...openaiErrors,
  },
});

/** Errors of a dialect's routes (authentication, validation, billing, upstream) in the dialect's own shape. */
export function dialectErrors(dialect: InboundDialect): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    await next();
    if (!c.error || !dialect.errorBody) return;
    const e = toAppError(c.error);
    const headers = new Headers(c.res.headers);
    headers.set("content-type", "application/json");
    c.res = new Response(JSON.stringify(dialect.errorBody(e, c.get("requestId") ?? null)), { status: c.res.status, headers });
  };
}

export const anthropicErrorShape = dialectErrors(anthropicMessages);

export function createInboundDialectRoutes(deps: AppDeps) {
  const app = createRouter();
  app.openAPIRegistry.registerPath(messagesRoute);
  app.openAPIRegistry.registerPath(countTokensRoute);
  app.openAPIRegistry.registerPath(responsesRoute);
  app.post("/v1/messages", dialectEntry(deps, anthropicMessages, AnthropicMessagesRequest));
  app.post("/v1/messages/count_tokens", async (c) => {
    const raw = await readJsonObject(c, deps.settings.maxBodyBytes, { maxDepth: deps.settings.maxJsonDepth });
    const parsed = AnthropicCountTokensRequest.safeParse(raw);
    if (!parsed.success) throw validationError(parsed.error.issues, "json");
    const name = checkModelName(raw.model);
    if (!deps.catalog.resolve(name)) throw new AppError("model_not_found", `The model \`${name}\` does not exist`, { param: "model" });
    // The prompt as the upstream would get it: the same translation as /v1/messages.
    const chat = anthropicMessages.toChat({ ...raw, stream: false });
    return c.json({ input_tokens: countPromptTokens(chat) }, 200);
  });
  app.post("/v1/responses", dialectEntry(deps, openaiResponses, ResponsesRequest));
  return app;
}

/** The Responses entry for the OpenRouter-compatible proxy's `responses` path. */
export function responsesEntry(deps: AppDeps) {
  return dialectEntry(deps, openaiResponses, ResponsesRequest);
}
