/**
 * Request and answer shapes of the client APIs served on the chat pipeline: Anthropic's Messages
 * (`/v1/messages`, `/v1/messages/count_tokens`) and OpenAI's Responses (`/v1/responses`), as
 * their publishers document them. Loose objects: fields the gateway does not read pass validation
 * (the translation decides what it serves and refuses the rest by name).
 */
import { z } from "@hono/zod-openapi";

const AnthropicContent = z.union([z.string(), z.array(z.looseObject({ type: z.string() }))]);

const AnthropicMessageParam = z.looseObject({
  role: z.enum(["user", "assistant"]),
  content: AnthropicContent,
});

const AnthropicTool = z.looseObject({
  name: z.string().min(1),
  description: z.string().optional(),
  input_schema: z.looseObject({}).optional(),
});

const anthropicPrompt = {
  model: z.string().min(1),
  messages: z.array(AnthropicMessageParam).min(1),
  system: AnthropicContent.optional(),
  tools: z.array(AnthropicTool).optional(),
  tool_choice: z.looseObject({ type: z.enum(["auto", "any", "tool", "none"]), name: z.string().optional() }).optional(),
  thinking: z.looseObject({ type: z.string(), budget_tokens: z.number().int().positive().optional() }).optional(),
};

export const AnthropicMessagesRequest = z
  .looseObject({
    ...anthropicPrompt,
    max_tokens: z.number().int().positive(),
    stream: z.boolean().optional(),
    temperature: z.number().min(0).max(1).optional(),
    top_p: z.number().min(0).max(1).optional(),
    top_k: z.number().int().min(0).optional(),
    stop_sequences: z.array(z.string()).optional(),
    metadata: z.looseObject({ user_id: z.string().nullable().optional() }).optional(),
  })
  .openapi("AnthropicMessagesRequest");

export const AnthropicCountTokensRequest = z.looseObject(anthropicPrompt).openapi("AnthropicCountTokensRequest");

const AnthropicUsage = z.looseObject({
  input_tokens: z.number().int(),
  output_tokens: z.number().int(),
  cache_creation_input_tokens: z.number().int().nullable().optional(),
  cache_read_input_tokens: z.number().int().nullable().optional(),
});

export const AnthropicMessage = z
  .looseObject({
    id: z.string(),
    type: z.literal("message"),
    role: z.literal("assistant"),
    model: z.string(),
    content: z.array(z.looseObject({ type: z.enum(["text", "tool_use", "thinking"]) })),
    stop_reason: z.enum(["end_turn", "max_tokens", "stop_sequence", "tool_use", "refusal"]).nullable(),
    stop_sequence: z.string().nullable(),
    usage: AnthropicUsage,
  })
  .openapi("AnthropicMessage");

export const AnthropicTokenCount = z.object({ input_tokens: z.number().int() }).openapi("AnthropicTokenCount");

export const AnthropicError = z
  .object({
    type: z.literal("error"),
    error: z.looseObject({ type: z.string(), message: z.string() }),
    request_id: z.string().nullable().optional(),
  })
  .openapi("AnthropicError");

export const ResponsesRequest = z
  .looseObject({
    model: z.string().min(1),
    input: z.union([z.string(), z.array(z.looseObject({}))]),
    instructions: z.string().nullable().optional(),
    tools: z.array(z.looseObject({ type: z.string() })).nullable().optional(),
    tool_choice: z.union([z.enum(["auto", "none", "required"]), z.looseObject({ type: z.string() })]).nullable().optional(),
    max_output_tokens: z.number().int().positive().nullable().optional(),
    stream: z.boolean().nullable().optional(),
    store: z.boolean().nullable().optional(),
    previous_response_id: z.string().nullable().optional(),
    temperature: z.number().min(0).max(2).nullable().optional(),
    top_p: z.number().min(0).max(1).nullable().optional(),
  })
  .openapi("ResponsesRequest");

export const ResponseObject = z
  .looseObject({
    id: z.string(),
    object: z.literal("response"),
    created_at: z.number(),
    status: z.enum(["completed", "incomplete", "in_progress", "failed"]),
    model: z.string(),
    output: z.array(z.looseObject({ type: z.string() })),
    usage: z.looseObject({ input_tokens: z.number().int(), output_tokens: z.number().int(), total_tokens: z.number().int() }).nullable(),
  })
  .openapi("ResponseObject");
