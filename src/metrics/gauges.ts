import { Counter, Gauge, type Registry } from "prom-client";
import { sql } from "drizzle-orm";
import type { Db } from "../db/client.js";

/** What the scrape-time gauges read; each source is optional so a process without one still exports the rest. */
export interface GaugeSources {
  db: Db;
  currency: string;
  /** Rows waiting in the request-log writer. */
  requestLogQueue: () => number;
  /** Holds and settlements waiting in billing's group-commit queues. */
  billingQueues?: () => { holds: number; settlements: number };
  /** Circuit breakers this process knows (routing). */
  circuits?: () => Array<{ provider_id: string | null; upstream_account_id: string | null; state: string }>;
  /** Health of the database, Redis, … (the /health registry). */
  components?: () => Promise<Record<string, { status: string }>>;
}

const MICROS = 1_000_000;
const STATE_VALUE: Record<string, number> = { closed: 0, half_open: 1, open: 2 };
const HEALTH_VALUE: Record<string, number> = { ok: 1, degraded: 0.5, down: 0 };

interface DbFigures {
  openHolds: number;
  openHoldMicros: bigint;
  ledgerDriftMicros: bigint;
  payments: Array<{ kind: string; n: number; micros: bigint }>;
  upstreams: Array<{ provider: string; account: string; micros: bigint }>;
}

/**
 * Gauges computed when Prometheus scrapes (collect callbacks), so the request path pays nothing for
 * them. Figures from the database are cluster-wide: in multi-process mode they are aggregated with
 * `max`, not summed.
 */
export function registerGauges(registry: Registry, s: GaugeSources): void {
  const r = [registry];
  // One database round per scrape, shared by the gauges that need it.
  let pending: Promise<DbFigures | null> | null = null;
  let at = 0;
  const figures = () => {
    const now = Date.now();
    if (!pending || now - at > 1000) {
      at = now;
      pending = readDbFigures(s.db).catch(() => null);
    }
    return pending;
  };

  new Gauge({
    name: "gateway_request_log_queue_depth",
    help: "Request-log rows waiting to be written",
    registers: r,
    collect() {
      this.set(s.requestLogQueue());
    },
  });
  new Gauge({
    name: "gateway_billing_queue_depth",
    help: "Holds and settlements waiting in billing's group-commit queues",
    labelNames: ["queue"],
    registers: r,
    collect() {
      const q = s.billingQueues?.() ?? { holds: 0, settlements: 0 };
      this.set({ queue: "holds" }, q.holds);
      this.set({ queue: "settlements" }, q.settlements);
    },
  });
  new Gauge({
    name: "gateway_circuit_state",
    help: "Circuit breaker state per upstream (0 closed, 1 half-open, 2 open)",
    labelNames: ["provider", "upstream_account"],
    aggregator: "max",
    registers: r,
    collect() {
      this.reset();
      for (const c of s.circuits?.() ?? []) {
        this.set({ provider: c.provider_id ?? "", upstream_account: c.upstream_account_id ?? "" }, STATE_VALUE[c.state] ?? 0);
      }
    },
  });
  new Gauge({
    name: "gateway_component_up",
    help: "Health of a dependency as /health reports it (1 ok, 0.5 degraded, 0 down)",
    labelNames: ["component"],
    aggregator: "min",
    registers: r,
    async collect() {
      if (!s.components) return;
      try {
        const c = await s.components();
        for (const [name, v] of Object.entries(c)) this.set({ component: name }, HEALTH_VALUE[v.status] ?? 0);
      } catch {
        this.set({ component: "database" }, 0);
      }
    },
  });
  new Gauge({
    name: "gateway_open_holds",
    help: "Open balance holds (requests admitted and not yet settled), all processes",
    aggregator: "max",
    registers: r,
    async collect() {
      const f = await figures();
      if (f) this.set(f.openHolds);
    },
  });
  new Gauge({
    name: "gateway_open_holds_amount",
    help: "Money held by open holds, in the account currency",
    labelNames: ["currency"],
    aggregator: "max",
    registers: r,
    async collect() {
      const f = await figures();
      if (f) this.set({ currency: s.currency }, Number(f.openHoldMicros) / MICROS);
    },
  });
  new Gauge({
    name: "gateway_ledger_drift",
    help: "Sum of account balances minus the sum of ledger entries, in the account currency (must be 0)",
    labelNames: ["currency"],
    aggregator: "max",
    registers: r,
    async collect() {
      const f = await figures();
      if (f) this.set({ currency: s.currency }, Number(f.ledgerDriftMicros) / MICROS);
    },
  });
  new Gauge({
    name: "gateway_upstream_balance_usd",
    help: "Known balance of an upstream account (admin-entered or synced), USD",
    labelNames: ["provider", "upstream_account"],
    aggregator: "max",
    registers: r,
    async collect() {
      const f = await figures();
      if (!f) return;
      this.reset();
      for (const u of f.upstreams) this.set({ provider: u.provider, upstream_account: u.account }, Number(u.micros) / MICROS);
    },
  });
  // Payment totals come from the ledger, so every process reports the same cluster-wide figure.
  const paymentKinds: Record<string, string> = { topup: "credit", payment_refund: "refund" };
  new Counter({
    name: "gateway_payments_total",
    help: "Payment ledger entries by kind (credit = top-up, refund), all processes",
    labelNames: ["kind"],
    aggregator: "max",
    registers: r,
    async collect() {
      const f = await figures();
      if (!f) return;
      this.reset();
      for (const k of Object.values(paymentKinds)) this.inc({ kind: k }, 0);
      for (const p of f.payments) if (paymentKinds[p.kind]) this.inc({ kind: paymentKinds[p.kind]! }, p.n);
    },
  });
  new Counter({
    name: "gateway_payments_amount_total",
    help: "Money moved by payment ledger entries (absolute), in the account currency",
    labelNames: ["kind", "currency"],
    aggregator: "max",
    registers: r,
    async collect() {
      const f = await figures();
      if (!f) return;
      this.reset();
      for (const k of Object.values(paymentKinds)) this.inc({ kind: k, currency: s.currency }, 0);
      for (const p of f.payments) {
        const kind = paymentKinds[p.kind];
        if (kind) this.inc({ kind, currency: s.currency }, Math.abs(Number(p.micros)) / MICROS);
      }
    },
  });
}

type Row = Record<string, unknown>;
const rowsOf = (r: unknown) => (r as { rows: Row[] }).rows;
const big = (v: unknown) => BigInt(String(v ?? 0));

async function readDbFigures(db: Db): Promise<DbFigures> {
  const [holds, drift, payments, upstreams] = await Promise.all([
    db.execute(sql`select count(*)::int as n, coalesce(sum(amount_micros), 0)::text as micros from holds where status = 'open'`),
    db.execute(sql`select ((select coalesce(sum(balance_micros), 0) from accounts) - (select coalesce(sum(amount_micros), 0) from ledger_entries))::text as drift`),
    db.execute(sql`select kind, count(*)::int as n, coalesce(sum(amount_micros), 0)::text as micros from ledger_entries where kind in ('topup', 'payment_refund') group by kind`),
    db.execute(sql`select provider_id, coalesce(nullif(name, ''), id) as name, balance_micros::text as micros from upstream_accounts where balance_micros is not null and enabled`),
  ]);
  const h = rowsOf(holds)[0] ?? {};
  return {
    openHolds: Number(h.n ?? 0),
    openHoldMicros: big(h.micros),
    ledgerDriftMicros: big(rowsOf(drift)[0]?.drift),
    payments: rowsOf(payments).map((p) => ({ kind: String(p.kind), n: Number(p.n), micros: big(p.micros) })),
    upstreams: rowsOf(upstreams).map((u) => ({ provider: String(u.provider_id), account: String(u.name), micros: big(u.micros) })),
  };
}
