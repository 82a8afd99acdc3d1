import { parseArgs } from "node:util";
import { startMockUpstream, type MockBehaviour } from "./server.js";

// `npm run mock-upstream -- --port 9001 [--chunks 20 --interval 5 --status 503 --delay 0 --cut-after K --omit-usage]`
const { values } = parseArgs({
  options: {
    port: { type: "string", default: "9001" },
    host: { type: "string", default: "127.0.0.1" },
    chunks: { type: "string" },
    interval: { type: "string" },
    status: { type: "string" },
    delay: { type: "string" },
    "cut-after": { type: "string" },
    "omit-usage": { type: "boolean" },
    "always-usage": { type: "boolean" },
  },
});
const num = (v: string | undefined) => (v === undefined ? undefined : Number(v));
const behaviour: MockBehaviour = {
  chunks: num(values.chunks),
  interval_ms: num(values.interval),
  status: num(values.status),
  delay_ms: num(values.delay),
  cut_after: num(values["cut-after"]),
  omit_usage: values["omit-usage"],
  usage_only_when_asked: values["always-usage"] ? false : undefined,
};
const mock = await startMockUpstream({ port: Number(values.port), host: values.host, behaviour });
console.log(`mock upstream listening on ${mock.baseUrl}`);
const stop = () => void mock.close().then(() => process.exit(0));
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
