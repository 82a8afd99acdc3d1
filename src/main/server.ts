import { ConfigError, loadEnv } from "../config/env.js";
import { createLogger } from "../core/logger.js";
import { startBanner } from "./banner.js";
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
  process.stdout.write(startBanner(gw, env.ADMIN_TOKEN !== undefined));

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
