// The metrics live in src/metrics (the request-log writer and gauges feed them too); the HTTP layer
// serves `/metrics` and counts routes and refusals.
export { createMetrics, type Metrics } from "../metrics/index.js";
