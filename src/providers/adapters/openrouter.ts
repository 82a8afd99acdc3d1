import { OpenAICompatibleAdapter } from "./openai-compatible.js";

/**
 * OpenRouter: OpenAI's format plus its cost accounting (`usage: {include: true}`), an answer that
 * may name another model than asked (the client's `models` list, its own fallbacks), and streams
 * that open with an error event instead of an HTTP error.
 */
export class OpenRouterAdapter extends OpenAICompatibleAdapter {
  override servedModel(planned: string, reported: unknown): string {
    return typeof reported === "string" && reported ? reported : planned;
  }

  protected override addExtras(body: Record<string, unknown>): void {
    const u = (body.usage && typeof body.usage === "object" ? body.usage : {}) as Record<string, unknown>;
    body.usage = { ...u, include: true };
  }
}
