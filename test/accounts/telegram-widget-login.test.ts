import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { startTelegramLink, confirmTelegramLink } from "../../src/accounts/telegram-login.js";
import { telegramWidgetHash } from "../../src/accounts/telegram-widget.js";
import { describeEachDb, type TestDatabase } from "../helpers/db.js";
import { startTestGateway, type TestGateway } from "../helpers/gateway.js";

const BOT = "777001:TEST-widget-bot-token";
const MAX_AGE = 3600;

/** Login Widget data signed the way Telegram signs it (or with another token). */
function signed(fields: Record<string, string>, token = BOT) {
  return { ...fields, hash: telegramWidgetHash(fields, token) };
}

describeEachDb("Telegram Login Widget over HTTP", (_kind, createDb) => {
  let db: TestDatabase;
  let gw: TestGateway;
  const post = async (body: unknown) => {
    const r = await fetch(`${gw.url}/v1/auth/telegram/widget?session=token`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    return { status: r.status, json: (await r.json()) as any };
  };
  const now = () => Math.floor(Date.now() / 1000);

  before(async () => {
    db = await createDb();
    gw = await startTestGateway({
      database: db,
      env: { TELEGRAM_BOT_TOKEN: BOT, TELEGRAM_BOT_USERNAME: "gw_widget_bot", TELEGRAM_MODE: "off", TELEGRAM_LOGIN_MAX_AGE_SEC: String(MAX_AGE) },
    });
  });
  after(async () => {
    await gw?.stop();
    await db?.drop();
  });

  test("the web config offers the widget with the bot's id (the token's public part), never the token", async () => {
    const cfg = (await (await fetch(`${gw.url}/v1/web/config`)).json()) as any;
    assert.deepEqual(cfg.telegram, { login: true, bot_username: "gw_widget_bot", widget_bot_id: "777001" });
    assert.ok(!JSON.stringify(cfg).includes("TEST-widget-bot-token"));
  });

  test("bad, tampered, foreign-token and future data: 401 invalid_signature; too old: 401 login_expired; no id: 400", async () => {
    const fields = { id: "6100001", first_name: "Wid", auth_date: String(now() - 5) };
    const cases: Array<[string, unknown, string]> = [
      ["hash of other data", { ...fields, hash: "0".repeat(64) }, "invalid_signature"],
      ["tampered field", { ...signed(fields), first_name: "Mallory" }, "invalid_signature"],
      ["another bot's token", signed(fields, "999:other-bot"), "invalid_signature"],
      ["hash not hex", { ...fields, hash: "zz" }, "invalid_signature"],
      ["dated an hour ahead", signed({ ...fields, auth_date: String(now() + 3600) }), "invalid_signature"],
      ["older than the setting", signed({ ...fields, auth_date: String(now() - MAX_AGE - 5) }), "login_expired"],
    ];
    for (const [what, body, code] of cases) {
      const r = await post(body);
      assert.equal(r.status, 401, `${what}: ${JSON.stringify(r.json)}`);
      assert.equal(r.json.error.code, code, what);
      assert.equal(r.json.error.type, "authentication_error", what);
      assert.ok(!JSON.stringify(r.json).includes(BOT), "no token in the answer");
    }
    // Without an id it is malformed input, not a failed signature.
    const noId = await post(signed({ first_name: "Wid", auth_date: fields.auth_date }));
    assert.equal(noId.status, 400);
    assert.equal(noId.json.error.code, "invalid_request");
    // Just inside the window still logs in (the setting is the bound, not a fixed 10 minutes).
    const ok = await post(signed({ ...fields, auth_date: String(now() - MAX_AGE + 30) }));
    assert.equal(ok.status, 200, JSON.stringify(ok.json));
  });

  test("a new Telegram id signs up; the same id again signs in to the same account; a used hash is refused", async () => {
    const first = signed({ id: "6100002", first_name: "Newcomer", username: "newcomer", auth_date: String(now() - 2) });
    const a = await post(first);
    assert.equal(a.status, 200, JSON.stringify(a.json));
    assert.equal(a.json.user.telegram_id, 6100002);
    const again = await post(first);
    assert.equal(again.status, 401);
    assert.equal(again.json.error.code, "invalid_signature", "replayed");
    const b = await post(signed({ id: "6100002", first_name: "Newcomer", auth_date: String(now() - 1) }));
    assert.equal(b.status, 200);
    assert.equal(b.json.user.id, a.json.user.id);
    assert.equal(b.json.account.id, a.json.account.id);
  });

  test("an e-mail user who linked Telegram in the bot is signed in as that user, not a new one", async () => {
    const reg = await fetch(`${gw.url}/v1/auth/register`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ email: "linked@example.com", password: "linked-password-1" }) });
    const s = (await reg.json()) as any;
    const link = await startTelegramLink(gw.gateway.deps.db, s.user.id, { ttlSec: 300, nowMs: Date.now() });
    const confirmed = await confirmTelegramLink(gw.gateway.deps.db, link.nonce, { id: 6100003, firstName: "Linked" });
    assert.equal(confirmed.ok, true);
    const r = await post(signed({ id: "6100003", first_name: "Linked", auth_date: String(now() - 1) }));
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(r.json.user.id, s.user.id);
    assert.equal(r.json.user.email, "linked@example.com");
  });
});
