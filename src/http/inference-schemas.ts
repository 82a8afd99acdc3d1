/**
 * Response shapes of the OpenAI-compatible inference endpoints, as OpenAI's specification describes
 * them (CreateChatCompletionResponse, CreateCompletionResponse,
 * CreateEmbeddingResponse). Loose objects: upstreams add fields (provider, reasoning, …) that pass
 * through untouched.
 */
import { z } from "@hono/zod-openapi";

export const Usage = z
  .looseObject({
    prompt_tokens: z.number().int(),
    completion_tokens: z.number().int(),
    total_tokens: z.number().int(),
    prompt_tokens_details: z.looseObject({ cached_tokens: z.number().int().optional() }).optional(),
    completion_tokens_details: z.looseObject({ reasoning_tokens: z.number().int().optional() }).optional(),
  })
  .openapi("CompletionUsage");

const FinishReason = z.enum(["stop", "length", "tool_calls", "content_filter", "function_call"]).nullable();

const ToolCall = z
  .looseObject({
    id: z.string(),
    type: z.literal("function"),
    function: z.object({ name: z.string(), arguments: z.string() }),
  })
  .openapi("ChatCompletionMessageToolCall");

const AssistantMessage = z
  .looseObject({
    role: z.literal("assistant"),
    content: z.string().nullable(),
    refusal: z.string().nullable().optional(),
    tool_calls: z.array(ToolCall).optional(),
  })
  .openapi("ChatCompletionResponseMessage");

export const ChatCompletion = z
  .looseObject({
    id: z.string(),
    object: z.literal("chat.completion"),
    created: z.number().int(),
    model: z.string(),
    choices: z.array(z.looseObject({ index: z.number().int(), message: AssistantMessage, finish_reason: FinishReason, logprobs: z.unknown().optional() })),
    usage: Usage.optional(),
    system_fingerprint: z.string().nullable().optional(),
  })
  .openapi("ChatCompletion");

export const Completion = z
  .looseObject({
    id: z.string(),
    object: z.literal("text_completion"),
    created: z.number().int(),
    model: z.string(),
    choices: z.array(z.looseObject({ index: z.number().int(), text: z.string(), finish_reason: FinishReason, logprobs: z.unknown().optional() })),
    usage: Usage.optional(),
  })
  .openapi("Completion");

export const EmbeddingList = z
  .looseObject({
    object: z.literal("list"),
    data: z.array(z.looseObject({ object: z.literal("embedding"), index: z.number().int(), embedding: z.union([z.array(z.number()), z.string()]) })),
    model: z.string(),
    usage: z.looseObject({ prompt_tokens: z.number().int(), total_tokens: z.number().int() }),
  })
  .openapi("EmbeddingList");

/** JSON, or the SSE stream of chunks when the request says `stream: true`. */
export const streamed = <T extends z.ZodType>(json: T, description: string) => ({
  description,
  content: {
    "application/json": { schema: json },
    "text/event-stream": {
      schema: z
        .string()
        .openapi({ description: "SSE: `data: <chat.completion.chunk JSON>` frames (OpenAI CreateChatCompletionStreamResponse), then `data: [DONE]`" }),
    },
  },
});
