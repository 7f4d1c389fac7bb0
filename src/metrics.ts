import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The process's Prometheus metrics, served at /metrics. One registry per app (tests run several). */
export function createMetrics(readLag: () => Promise<{ head: bigint; applied: bigint; pendingEvents: number }>) {
  // Both lag gauges are collected on each scrape: measure once for the two.
  let pending: ReturnType<typeof readLag> | null = null;
  const lag = () => (pending ??= readLag().finally(() => setTimeout(() => (pending = null), 100)));
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'wall_' });
  const commands = new Counter({
    name: 'wall_commands_total',
    help: 'Commands executed, by command and outcome (ok, replayed, or the refusal code; error when unexpected).',
    labelNames: ['command', 'outcome'] as const,
    registers: [registry],
  });
  const commandSeconds = new Histogram({
    name: 'wall_command_duration_seconds',
    help: 'Time from the bus taking a command to its answer.',
    labelNames: ['command'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [registry],
  });
  const eventsApplied = new Counter({
    name: 'wall_projector_events_applied_total',
    help: 'Events this process has applied to the views.',
    registers: [registry],
  });
  new Gauge({
    name: 'wall_projection_lag_events',
    help: 'Events in the log that the views have not applied yet.',
    registers: [registry],
    async collect() {
      this.set((await lag()).pendingEvents);
    },
  });
  new Gauge({
    name: 'wall_projection_lag_positions',
    help: 'Head position of the event log minus the views checkpoint (positions are transaction ids).',
    registers: [registry],
    async collect() {
      const { head, applied } = await lag();
      this.set(Number(head > applied ? head - applied : 0n));
    },
  });
  return { registry, commands, commandSeconds, eventsApplied };
}

export type Metrics = ReturnType<typeof createMetrics>;
