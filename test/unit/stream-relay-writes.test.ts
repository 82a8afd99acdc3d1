import assert from "node:assert/strict";
import { createServer, request, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { AppError } from "../../src/core/errors.js";
import { relayToNode, type RelayOutcome, type RelaySource, type RelayTap } from "../../src/proxy/stream-relay.js";

const passThrough: RelayTap = { push: (c) => c, flush: () => "", sawContent: true, stopped: false };

/** Serves one relayed stream and reads it as a client: the bytes, and how many socket writes carried them. */
async function relayed(head: Buffer[], bursts: Buffer[][]): Promise<{ body: string; writes: number; outcome: RelayOutcome | null }> {
  let writes = 0;
  let outcome: RelayOutcome | null = null;
  const server = createServer((req, res: ServerResponse) => {
    const sock = res.socket as unknown as { _write: (...a: unknown[]) => unknown; _writev: (...a: unknown[]) => unknown };
    for (const m of ["_write", "_writev"] as const) {
      const orig = sock[m].bind(sock);
      sock[m] = (...a: unknown[]) => {
        writes++;
        return orig(...a);
      };
    }
    // Each burst is what the upstream sent together: its chunks come in one turn, bursts 5 ms apart.
    async function* upstream(): AsyncGenerator<Buffer> {
      for (const burst of bursts) {
        await new Promise((r) => setTimeout(r, 5));
        for (const c of burst) yield c;
      }
    }
    const src: RelaySource = { head: [...head], iterator: upstream(), close: () => undefined };
    relayToNode(res, 200, { "content-type": "text/event-stream" }, src, passThrough, {
      requestId: "req_test",
      signal: new AbortController().signal,
      onFirstContent: () => undefined,
      errorOf: () => new AppError("internal_error", "x"),
      stoppedError: () => new AppError("internal_error", "x"),
      onEnd: (o) => (outcome = o),
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  try {
    const body = await new Promise<string>((resolve, reject) => {
      const req = request({ port: (server.address() as AddressInfo).port, host: "127.0.0.1", method: "POST" }, (res) => {
        let s = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => (s += d));
        res.on("end", () => resolve(s));
      });
      req.on("error", reject);
      req.end();
    });
    return { body, writes, outcome };
  } finally {
    server.close();
  }
}

const frame = (i: number) => Buffer.from(`data: {"i":${i},"text":"é🙂${"x".repeat(i)}"}\n\n`);

test("chunks written in one turn leave in one socket write and arrive byte for byte", async () => {
  const head = [frame(0), frame(1), frame(2)];
  const bursts = [[frame(3), frame(4)], [frame(5)], [frame(6), frame(7), frame(8)]];
  const r = await relayed(head, bursts);
  const expected = [...head, ...bursts.flat()].map((b) => b.toString("utf8")).join("");
  assert.equal(r.body, expected);
  assert.equal(r.outcome, "completed");
  // Headers + the held-back chunks: one write; then one per burst (the end goes with the last).
  assert.ok(r.writes <= 1 + bursts.length, `${r.writes} socket writes`);
});

test("a long stream of single chunks is delivered whole (no chunk lost to the cork)", async () => {
  const bursts = Array.from({ length: 40 }, (_, i) => [frame(i + 1)]);
  const r = await relayed([frame(0)], bursts);
  assert.equal(r.body, [frame(0), ...bursts.flat()].map((b) => b.toString("utf8")).join(""));
  assert.equal(r.outcome, "completed");
});
