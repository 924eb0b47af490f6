/** Prometheus metrics of the web server (prom-client), each app with a registry of its own. */
import { Counter, Gauge, Histogram, Registry } from "prom-client";

export interface HttpMetrics {
  observe(route: string, method: string, status: number, seconds: number): void;
  render(): Promise<string>;
  readonly contentType: string;
}

export function httpMetrics(gauges?: () => Record<string, number>): HttpMetrics {
  const registry = new Registry();
  const requests = new Counter({
    name: "ticklake_http_requests_total",
    help: "HTTP responses by route, method and status",
    labelNames: ["route", "method", "status"],
    registers: [registry],
  });
  const duration = new Histogram({
    name: "ticklake_http_request_duration_seconds",
    help: "Time to respond",
    labelNames: ["route"],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [registry],
  });
  if (gauges) {
    for (const name of Object.keys(gauges())) {
      new Gauge({
        name: `ticklake_${name}`,
        help: `ticklake ${name.replaceAll("_", " ")}`,
        registers: [registry],
        collect() {
          this.set(gauges()[name] ?? 0);
        },
      });
    }
  }
  return {
    observe(route, method, status, seconds) {
      requests.inc({ route, method, status: String(status) });
      duration.observe({ route }, seconds);
    },
    render: () => registry.metrics(),
    contentType: registry.contentType,
  };
}
