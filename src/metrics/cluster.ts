import cluster from "node:cluster";
import { AggregatorRegistry, type Registry } from "prom-client";

/**
 * `/metrics` in multi-process mode: any worker may receive the scrape, so it asks the primary,
 * which gathers every worker's registry over IPC (prom-client's AggregatorRegistry: counters and
 * histograms summed, gauges by their `aggregator`) and answers with the whole box's figures.
 */
interface MetricsAsk {
  type: "gateway:metrics:ask";
  id: number;
}
interface MetricsAnswer {
  type: "gateway:metrics:answer";
  id: number;
  text?: string;
  error?: string;
}

export const inClusterWorker = () => cluster.isWorker;

/** In a worker: let the primary collect this registry. */
export function shareWithPrimary(registry: Registry): void {
  if (!cluster.isWorker) return;
  // prom-client installs its worker-side IPC listener when an AggregatorRegistry is constructed.
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries([registry]);
}

let nextId = 1;
const waiting = new Map<number, (a: MetricsAnswer) => void>();
let listening = false;

/** In a worker: the box-wide metrics text, from the primary. */
export function clusterMetricsText(timeoutMs = 5000): Promise<string> {
  if (!listening) {
    listening = true;
    process.on("message", (m: unknown) => {
      const a = m as MetricsAnswer;
      if (a?.type === "gateway:metrics:answer") waiting.get(a.id)?.(a);
    });
  }
  const id = nextId++;
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      waiting.delete(id);
      reject(new Error("the cluster primary did not answer the metrics request"));
    }, timeoutMs);
    waiting.set(id, (a) => {
      clearTimeout(t);
      waiting.delete(id);
      if (a.error !== undefined || a.text === undefined) reject(new Error(a.error ?? "no metrics"));
      else resolve(a.text);
    });
    process.send!({ type: "gateway:metrics:ask", id } satisfies MetricsAsk);
  });
}

/** In the primary: answer workers' metrics requests. */
export function servePrimaryMetrics(): void {
  const aggregator = new AggregatorRegistry();
  cluster.on("message", (worker, m: unknown) => {
    const ask = m as MetricsAsk;
    if (ask?.type !== "gateway:metrics:ask") return;
    aggregator.clusterMetrics().then(
      (text) => worker.send({ type: "gateway:metrics:answer", id: ask.id, text } satisfies MetricsAnswer),
      (e: Error) => worker.send({ type: "gateway:metrics:answer", id: ask.id, error: e.message } satisfies MetricsAnswer),
    );
  });
}
