import { ConfigError, loadEnv } from "../config/env.js";
import { createLogger } from "../core/logger.js";
import { runClusterPrimary } from "./cluster.js";
import { startGateway } from "./gateway.js";
import { checkPaymentsSettings, startPayments } from "./payments.js";

/** `npm start`: parse settings once, start, print how to use it, stop cleanly on SIGTERM/SIGINT. */
async function main(): Promise<void> {
  let env;
  try {
    env = loadEnv(process.env);
    checkPaymentsSettings(env);
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(e.message);
      process.exit(1);
    }
    throw e;
  }
  const logger = createLogger({ level: env.LOG_LEVEL });
  // WORKERS > 1: this process becomes the cluster primary and forks the workers that serve.
  try {
    if (await runClusterPrimary(env, process.env, logger)) return;
  } catch (e) {
    console.error(e instanceof ConfigError ? e.message : `cluster start-up failed: ${(e as Error).message}`);
    process.exit(1);
  }
  let gw;
  try {
    gw = await startGateway({ env, vars: process.env, logger });
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(e.message);
      process.exit(1);
    }
    logger.fatal({ err: (e as Error).message }, "start-up failed");
    process.exit(1);
  }
  // Telegram bot (webhook or polling per TELEGRAM_MODE) and payment jobs, when TELEGRAM_BOT_TOKEN is set.
  let payments;
  try {
    payments = await startPayments(gw.deps);
  } catch (e) {
    await gw.stop();
    if (e instanceof ConfigError) {
      console.error(e.message);
      process.exit(1);
    }
    throw e;
  }
  const lines: string[] = [""];
  if (gw.deps.config.demo) {
    lines.push("  *** DEMO MODE: no upstream configured, the built-in mock provider answers every request ***");
    lines.push("  Configure OPENROUTER_API_KEY, UPSTREAM_BASE_URL or GATEWAY_CONFIG to use real models.", "");
  }
  lines.push(`  LLM Gateway on ${gw.url}  (database: ${gw.deps.database.kind})`);
  // The admin token is shown once, on the start that generated it; a token the operator set (or
  // one generated earlier) is never printed: stdout ends up in journald and CI logs.
  const tokenShown = gw.adminTokenGenerated ? gw.adminToken : "$ADMIN_TOKEN";
  if (gw.adminTokenGenerated) lines.push(`  Admin token (generated, shown once; kept in DATA_DIR/admin-token): ${gw.adminToken}`);
  else lines.push(`  Admin token: ${gw.deps.env.ADMIN_TOKEN ? "ADMIN_TOKEN (as set)" : "in DATA_DIR/admin-token"}`);
  if (gw.demoKey) {
    lines.push("", "  Try it:", "");
    lines.push(
      `  curl -s ${gw.url}/v1/chat/completions -H 'Authorization: Bearer ${gw.demoKey}' -H 'Content-Type: application/json' -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hello!"}]}'`,
    );
  } else {
    lines.push("", "  Create an account and a key:", "");
    lines.push(`  curl -s ${gw.url}/admin/accounts -H "Authorization: Bearer ${tokenShown}" -H 'Content-Type: application/json' -d '{"name":"My company","initial_balance":"100.00"}'`);
    lines.push(`  curl -s ${gw.url}/v1/key/generate -H "Authorization: Bearer ${tokenShown}" -H 'Content-Type: application/json' -d '{"account_id":"<id from above>","name":"first key"}'`);
  }
  lines.push("");
  process.stdout.write(lines.join("\n") + "\n");

  let signalled = false;
  const onSignal = (sig: string) => {
    if (signalled) return;
    signalled = true;
    logger.info({ signal: sig }, "shutting down: draining in-flight requests");
    payments
      .stop()
      .then(() => gw.stop())
      .then(
      () => {
        logger.info("stopped");
        process.exit(0);
      },
      (e) => {
        logger.error({ err: (e as Error).message }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => onSignal("SIGTERM"));
  process.on("SIGINT", () => onSignal("SIGINT"));
}

void main();
