import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { createPgliteDb, type TestDatabase } from "../helpers/db.js";
import { BOT_TOKEN, FakeTelegram, nextUpdateId, tgUser } from "../helpers/fake-telegram.js";
import { startTestGateway, type TestGateway } from "../helpers/gateway.js";
import { waitFor } from "../helpers/processes.js";

interface Run {
  code: number | null;
  out: string;
}

/** Runs an example as a user would, with only the documented variables set. */
function run(cmd: string, args: string[], env: Record<string, string>, timeoutMs = 60_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    const t = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", reject);
    child.on("exit", (code) => {
      clearTimeout(t);
      resolve({ code, out });
    });
  });
}

describe("the examples in examples/ run against a real gateway", () => {
  let db: TestDatabase;
  let gw: TestGateway;
  let env: Record<string, string>;

  before(async () => {
    db = await createPgliteDb();
    gw = await startTestGateway({ database: db });
    const { key } = await gw.createAccountWithKey({ balance: "50.00" });
    env = { GATEWAY_URL: gw.url, GATEWAY_API_KEY: key, GATEWAY_MODEL: "openai/gpt-4o-mini" };
  });
  after(async () => {
    await gw?.stop();
    await db?.drop();
  });

  it("curl: chat, stream, balance, usage", async () => {
    const r = await run("bash", ["examples/curl/chat.sh"], env);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /"object":"chat.completion"/);
    assert.match(r.out, /data: \[DONE\]/);
    assert.match(r.out, /== balance\n\{.*"balance"/);
    assert.match(r.out, /== usage\n\{/);
  });

  it("curl: a bad key fails the script with the gateway's error", async () => {
    const r = await run("bash", ["examples/curl/chat.sh"], { ...env, GATEWAY_API_KEY: "sk-gw-000000000000000000000000000000000000000" });
    assert.notEqual(r.code, 0);
    assert.match(r.out, /invalid_api_key/);
  });

  it("python (standard library): chat and stream", async () => {
    const r = await run("python3", ["examples/python/chat.py"], env);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /^reply: Hello from the mock upstream/m);
    assert.match(r.out, /^tokens: \d+ cost: [\d.]+$/m);
    assert.match(r.out, /^streamed: Hello from the mock upstream$/m);
    assert.match(r.out, /^stream tokens: \d+$/m);
  });

  it("python: an empty balance is reported, not a traceback", async () => {
    const broke = await gw.createAccountWithKey({ balance: "0" });
    const r = await run("python3", ["examples/python/chat.py"], { ...env, GATEWAY_API_KEY: broke.key });
    assert.notEqual(r.code, 0);
    assert.match(r.out, /HTTP 402 insufficient_quota/);
    assert.doesNotMatch(r.out, /Traceback/);
  });

  it("node (openai SDK): chat, stream with usage, tool call round trip", async () => {
    const r = await run(process.execPath, ["examples/node/chat.mjs"], env);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /^reply: Hello from the mock upstream \| tokens: \d+ \| cost: [\d.]+$/m);
    assert.match(r.out, /^stream usage: \d+ tokens$/m);
    assert.match(r.out, /^streamed: Hello from the mock upstream$/m);
    assert.match(r.out, /^tool call: get_weather \{ city: 'mock' \}$/m);
    assert.match(r.out, /^after tool: Hello from the mock upstream$/m);
  });

  it("grammY bot: answers a Telegram message with the model, through a fake Bot API", async () => {
    const tg = new FakeTelegram();
    const apiRoot = await tg.start();
    const bot = spawn(process.execPath, ["examples/grammy-bot/bot.mjs"], {
      env: { PATH: process.env.PATH ?? "", ...env, TELEGRAM_BOT_TOKEN: BOT_TOKEN, TELEGRAM_API_ROOT: apiRoot },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    bot.stdout.on("data", (d: Buffer) => (out += d.toString()));
    bot.stderr.on("data", (d: Buffer) => (out += d.toString()));
    try {
      await waitFor("the bot to start polling", async () => (/is running/.test(out) ? true : undefined), 30_000);
      const user = tgUser(7001);
      const msg = (text: string) => ({ update_id: nextUpdateId(), message: { message_id: nextUpdateId(), date: Math.floor(Date.now() / 1000), chat: { id: user.id, type: "private" as const, first_name: user.first_name }, from: user, text } });
      tg.queueUpdate(msg("What is the gateway?"));
      const reply = await waitFor("the bot's answer", async () => tg.texts().find((t) => t.includes("mock upstream")), 30_000);
      assert.equal(reply, "Hello from the mock upstream");
      const sent = tg.callsOf("sendMessage").at(-1)!;
      assert.equal(sent.payload.chat_id, 7001);
      // The answer was billed to the key's account: the gateway logged it with the Telegram user.
      await gw.gateway.deps.logs.flush();
    } finally {
      bot.kill("SIGTERM");
      await new Promise((r) => bot.once("exit", r));
      await tg.close();
    }
    assert.ok(/is running/.test(out), out);
  });
});
