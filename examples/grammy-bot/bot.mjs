// A minimal Telegram bot (grammY) that answers every text message with a model, through the gateway.
//   TELEGRAM_BOT_TOKEN=123:ABC GATEWAY_API_KEY=sk-gw-… node examples/grammy-bot/bot.mjs
import { Bot } from "grammy";
import OpenAI from "openai";

const token = process.env.TELEGRAM_BOT_TOKEN;
if (!token) throw new Error("set TELEGRAM_BOT_TOKEN (from @BotFather)");
const apiKey = process.env.GATEWAY_API_KEY;
if (!apiKey) throw new Error("set GATEWAY_API_KEY to an sk-gw-… key");
const model = process.env.GATEWAY_MODEL ?? "openai/gpt-4o-mini";
const openai = new OpenAI({ baseURL: `${(process.env.GATEWAY_URL ?? "http://127.0.0.1:8080").replace(/\/$/, "")}/v1`, apiKey });

// TELEGRAM_API_ROOT only for tests or a self-hosted Bot API server.
const bot = new Bot(token, process.env.TELEGRAM_API_ROOT ? { client: { apiRoot: process.env.TELEGRAM_API_ROOT } } : undefined);

bot.command("start", (ctx) => ctx.reply("Hi! Send me a message and a model will answer."));
bot.on("message:text", async (ctx) => {
  await ctx.replyWithChatAction("typing");
  try {
    const r = await openai.chat.completions.create({
      model,
      messages: [
        { role: "system", content: "You are a helpful assistant in a Telegram chat. Answer briefly." },
        { role: "user", content: ctx.message.text },
      ],
      // The gateway bills the account of the key; `user` shows up in its request log.
      user: `tg:${ctx.from.id}`,
    });
    await ctx.reply(r.choices[0].message.content || "(empty answer)");
  } catch (e) {
    // 402: the account's balance is used up; 429: rate limited (Retry-After says when to retry).
    const status = e instanceof OpenAI.APIError ? e.status : undefined;
    await ctx.reply(status === 402 ? "The balance is used up: please top up." : status === 429 ? "Too many requests, try again in a minute." : "Something went wrong, try again later.");
  }
});

process.once("SIGINT", () => bot.stop());
process.once("SIGTERM", () => bot.stop());
await bot.start({ onStart: (me) => console.log(`bot @${me.username} is running`) });
