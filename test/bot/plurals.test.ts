import assert from "node:assert/strict";
import { test } from "node:test";
import { pickLang, plural } from "../../src/bot/i18n.js";

test("bot plurals follow CLDR rules in Russian and English", () => {
  assert.deepEqual([1, 2, 5, 11, 21, 22, 25, 101].map((n) => plural("ru", n, "request")), ["1 запрос", "2 запроса", "5 запросов", "11 запросов", "21 запрос", "22 запроса", "25 запросов", "101 запрос"]);
  assert.deepEqual([1, 2, 7, 30].map((n) => plural("ru", n, "day")), ["1 день", "2 дня", "7 дней", "30 дней"]);
  assert.deepEqual([0, 1, 2].map((n) => plural("en", n, "request")), ["0 requests", "1 request", "2 requests"]);
  for (const code of ["ru", "ru-RU", "RU"]) assert.equal(pickLang(code), "ru", code);
  // Ukrainian, Belarusian and Kazakh speakers get English (no texts in their languages), as does any odd code.
  for (const code of ["uk", "be", "kk", "de", "", null, undefined, "x"]) assert.equal(pickLang(code), "en", String(code));
});
