import { createServer, request, type Server } from "node:http";

export interface TestReverseProxy {
  url: string;
  close(): Promise<void>;
}

/**
 * A minimal reverse proxy, as nginx would be configured: it listens on `listenHost`, connects to
 * the gateway FROM `listenHost` (so the gateway sees a distinct peer address) and appends the
 * address of its own peer to X-Forwarded-For.
 */
export async function startReverseProxy(target: string, listenHost = "127.0.0.2"): Promise<TestReverseProxy> {
  const t = new URL(target);
  const server: Server = createServer((req, res) => {
    const peer = (req.socket.remoteAddress ?? "").replace(/^::ffff:/, "");
    const prior = req.headers["x-forwarded-for"];
    const headers = { ...req.headers, host: t.host, "x-forwarded-for": prior ? `${prior}, ${peer}` : peer };
    const up = request({ host: t.hostname, port: t.port, method: req.method, path: req.url, headers, localAddress: listenHost }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on("error", () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(up);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, listenHost, () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://${listenHost}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
