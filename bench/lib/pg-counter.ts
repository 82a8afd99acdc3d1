import { createConnection, createServer, type Server, type Socket } from "node:net";

/**
 * A TCP relay between the gateway and PostgreSQL that counts round trips: a simple-protocol
 * `Query` ('Q') or an extended-protocol `Sync` ('S') is the point where the client waits for the
 * server, so their number is the number of round trips (a batch of statements in one Sync is one).
 * Reads the frontend stream only; bytes pass through unchanged.
 */
export interface PgCounter {
  port: number;
  roundTrips(): number;
  close(): Promise<void>;
}

export async function startPgCounter(targetHost: string, targetPort: number): Promise<PgCounter> {
  let trips = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const db = createConnection({ host: targetHost, port: targetPort });
    sockets.add(client).add(db);
    client.setNoDelay(true);
    db.setNoDelay(true);
    let started = false;
    let buf: Buffer = Buffer.alloc(0);
    client.on("data", (d: Buffer) => {
      db.write(d);
      buf = buf.length ? Buffer.concat([buf, d]) : d;
      for (;;) {
        if (!started) {
          // Startup / SSL request: int32 length, no type byte.
          if (buf.length < 8) break;
          const len = buf.readInt32BE(0);
          const code = buf.readInt32BE(4);
          if (buf.length < len) break;
          buf = buf.subarray(len);
          if (code !== 80877103 && code !== 80877104) started = true; // SSLRequest / GSSENCRequest precede the real startup
          continue;
        }
        if (buf.length < 5) break;
        const len = buf.readInt32BE(1);
        if (buf.length < 1 + len) break;
        const type = buf[0];
        if (type === 0x51 || type === 0x53) trips++;
        buf = buf.subarray(1 + len);
      }
    });
    db.on("data", (d: Buffer) => client.write(d));
    const end = () => {
      client.destroy();
      db.destroy();
      sockets.delete(client);
      sockets.delete(db);
    };
    client.on("close", end).on("error", end);
    db.on("close", end).on("error", end);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const addr = server.address();
  return {
    port: typeof addr === "object" && addr ? addr.port : 0,
    roundTrips: () => trips,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
