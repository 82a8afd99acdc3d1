import assert from "node:assert/strict";
import { test } from "node:test";
import { divCeil, formatMoney, parseMoney, usdPerMillionToMicros } from "../../src/core/money.js";

test("parseMoney parses decimal strings exactly into micros", () => {
  assert.equal(parseMoney("150.00"), 150_000_000n);
  assert.equal(parseMoney("-0.5"), -500_000n);
  assert.equal(parseMoney("0.000001"), 1n);
  assert.equal(parseMoney("12"), 12_000_000n);
  for (const bad of ["", "1e5", "0.0000001", "abc", "1.2.3", " - 1"]) assert.throws(() => parseMoney(bad), RangeError, bad);
});

test("formatMoney renders micros with at least two decimals", () => {
  assert.equal(formatMoney(150_000_000n), "150.00");
  assert.equal(formatMoney(-500_000n), "-0.50");
  assert.equal(formatMoney(1n), "0.000001");
  assert.equal(formatMoney(123_456_700n), "123.4567");
});

test("divCeil rounds up and never under-charges", () => {
  assert.equal(divCeil(10n, 3n), 4n);
  assert.equal(divCeil(9n, 3n), 3n);
  assert.equal(divCeil(0n, 3n), 0n);
  assert.equal(usdPerMillionToMicros(0.15), 150_000n);
  assert.equal(usdPerMillionToMicros("0.6"), 600_000n);
});
