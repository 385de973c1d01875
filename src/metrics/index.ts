export { Metrics } from "./metrics.js";
export type { MetricSources } from "./metrics.js";
