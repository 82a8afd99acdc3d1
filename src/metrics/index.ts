import type { Registry } from "prom-client";
import type { RequestLogRow } from "../logs/request-log-row.js";
import { clusterMetricsText, inClusterWorker, shareWithPrimary } from "./cluster.js";
import { registerGauges, type GaugeSources } from "./gauges.js";
import { createRegistry, type MetricSet } from "./registry.js";
import { RequestMetrics } from "./request-metrics.js";

export type { GaugeSources };

/** The process's metrics: counters and histograms fed by the request path, gauges collected on scrape. */
export interface Metrics {
  registry: Registry;
  set: MetricSet;
  /** Feed one finished request-log row. */
  requestFinished(row: RequestLogRow): void;
  /** One request-log batch write: its duration, rows and outcome. */
  logFlushed(seconds: number, rows: number, ok: boolean): void;
  /** A request refused with an AppError before any upstream was tried (402/403/429…). */
  refused(status: number, code: string, scope: string | null): void;
  /** Starts the scrape-time gauges once their sources exist. */
  attachGauges(sources: GaugeSources): void;
  /** The exposition text: this process's, or in multi-process mode the whole box's. */
  render(): Promise<string>;
  contentType: string;
}

export function createMetrics(opts: { currency: string }): Metrics {
  const set = createRegistry();
  const requests = new RequestMetrics(set, opts.currency);
  let attached = false;
  const clustered = inClusterWorker();
  if (clustered) shareWithPrimary(set.registry);
  return {
    contentType: set.registry.contentType,
    render: () => (clustered ? clusterMetricsText() : set.registry.metrics()),
    registry: set.registry,
    set,
    requestFinished: (row) => requests.observe(row),
    logFlushed(seconds, rows, ok) {
      set.logFlushDuration.observe(seconds);
      if (ok) set.logFlushRows.inc(rows);
      else set.logFlushFailures.inc();
    },
    refused(status, code, scope) {
      set.refusals.inc({ status: String(status), code, scope: scope ?? "" });
    },
    attachGauges(sources) {
      if (attached) return;
      attached = true;
      registerGauges(set.registry, sources);
    },
  };
}
