// The official OpenAI SDK against the gateway: a chat, a stream with usage, and a tool call.
//   GATEWAY_API_KEY=sk-gw-… node examples/node/chat.mjs
import OpenAI from "openai";

const baseURL = `${(process.env.GATEWAY_URL ?? "http://127.0.0.1:8080").replace(/\/$/, "")}/v1`;
const apiKey = process.env.GATEWAY_API_KEY;
if (!apiKey) throw new Error("set GATEWAY_API_KEY to an sk-gw-… key");
const model = process.env.GATEWAY_MODEL ?? "openai/gpt-4o-mini";
const client = new OpenAI({ baseURL, apiKey });

// 1. Chat. usage.cost is what the request cost, in the account's currency.
const r = await client.chat.completions.create({ model, messages: [{ role: "user", content: "Say hello" }] });
console.log("reply:", r.choices[0].message.content, "| tokens:", r.usage?.total_tokens, "| cost:", r.usage?.cost);

// 2. Streaming; the last chunk carries usage when include_usage is asked for.
const stream = await client.chat.completions.create({ model, stream: true, stream_options: { include_usage: true }, messages: [{ role: "user", content: "Count to three" }] });
let text = "";
for await (const chunk of stream) {
  text += chunk.choices[0]?.delta?.content ?? "";
  if (chunk.usage) console.log("stream usage:", chunk.usage.total_tokens, "tokens");
}
console.log("streamed:", text);

// 3. Tools: the model asks for a function, we run it and send the result back.
const tools = [
  {
    type: "function",
    function: {
      name: "get_weather",
      description: "Current weather in a city",
      parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
    },
  },
];
const messages = [{ role: "user", content: "What is the weather in Moscow?" }];
const first = await client.chat.completions.create({ model, messages, tools });
const call = first.choices[0].message.tool_calls?.[0];
if (call) {
  const args = JSON.parse(call.function.arguments);
  console.log("tool call:", call.function.name, args);
  messages.push(first.choices[0].message, { role: "tool", tool_call_id: call.id, content: JSON.stringify({ city: args.city, temperature_c: -3 }) });
  const final = await client.chat.completions.create({ model, messages, tools });
  console.log("after tool:", final.choices[0].message.content);
} else {
  console.log("no tool call:", first.choices[0].message.content);
}
