import type { RunningGateway } from "./gateway.js";

/**
 * What `npm start` prints once it listens: mode, URL, and how to make a first call. The admin token is
 * shown once, on the start that generated it; a token the operator set (or one generated earlier) is
 * never printed: stdout ends up in journald and CI logs.
 */
export function startBanner(gw: Pick<RunningGateway, "url" | "adminToken" | "adminTokenGenerated" | "demoKey"> & { deps: { config: { demo: boolean }; database: { kind: string } } }, adminTokenSet: boolean): string {
  const lines: string[] = [""];
  if (gw.deps.config.demo) {
    lines.push("  *** DEMO MODE: no upstream configured, the built-in mock provider answers every request ***");
    lines.push("  Configure OPENROUTER_API_KEY, UPSTREAM_BASE_URL or GATEWAY_CONFIG to use real models.", "");
  }
  lines.push(`  LLM Gateway on ${gw.url}  (database: ${gw.deps.database.kind})`);
  const tokenShown = gw.adminTokenGenerated ? gw.adminToken : "$ADMIN_TOKEN";
  if (gw.adminTokenGenerated) lines.push(`  Admin token (generated, shown once; kept in DATA_DIR/admin-token): ${gw.adminToken}`);
  else lines.push(`  Admin token: ${adminTokenSet ? "ADMIN_TOKEN (as set)" : "in DATA_DIR/admin-token"}`);
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
  return lines.join("\n") + "\n";
}
