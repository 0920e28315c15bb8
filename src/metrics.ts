import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Hearth's Prometheus instruments, on a registry of their own (no global state). */
export interface Metrics {
  registry: Registry;
  webhookDeliveries: Counter<'connector' | 'outcome'>;
  eventsApplied: Counter<'outcome'>;
  jobsSettled: Counter<'target' | 'outcome' | 'kind'>;
  writebackLag: Histogram<'target'>;
  ownershipRejections: Counter<'field' | 'source'>;
  /** Changes a quality rule held for review; breakers a rate rule opened (governance). */
  qualityViolations: Counter<'rule' | 'source'>;
  qualityBreakersTripped: Counter<'rule' | 'source'>;
  /** Rows retention blanked or deleted, by kind (governance.retention). */
  retentionRemoved: Counter<'kind'>;
  inboxDepth: Gauge<'status'>;
  outboxDepth: Gauge<'target' | 'status'>;
  /** Manual adjustments as a share of ledger entries (sampled at scrape), and its alert threshold. */
  loyaltyAdjustmentRate: Gauge;
  loyaltyAdjustmentThreshold: Gauge;
  reconcileDriftRate: Gauge<'system' | 'field'>;
  reconcileDrifted: Gauge<'system' | 'field'>;
  /** HTTP requests by method, route pattern (never the raw URL: bounded cardinality) and status code. */
  httpDuration: Histogram<'method' | 'route' | 'status_code'>;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  const reg = [registry];
  // process_* and nodejs_* (CPU, memory, event loop lag, GC, handles), per registry, as Prometheus names them.
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    webhookDeliveries: new Counter({
      name: 'hearth_webhook_deliveries_total',
      help: 'Webhook deliveries by connector and outcome (accepted, duplicate, unauthorized, bad_request).',
      labelNames: ['connector', 'outcome'],
      registers: reg,
    }),
    eventsApplied: new Counter({
      name: 'hearth_events_applied_total',
      help: 'Inbox events settled by outcome (applied, echo, ignored, failed).',
      labelNames: ['outcome'],
      registers: reg,
    }),
    jobsSettled: new Counter({
      name: 'hearth_jobs_settled_total',
      help: 'Outbound job attempts by target, kind and outcome (done, retry, dead).',
      labelNames: ['target', 'outcome', 'kind'],
      registers: reg,
    }),
    writebackLag: new Histogram({
      name: 'hearth_writeback_lag_seconds',
      help: 'From the change at the source (checkout correction) to the target acknowledging the write.',
      labelNames: ['target'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 3600],
      registers: reg,
    }),
    ownershipRejections: new Counter({
      name: 'hearth_ownership_rejections_total',
      help: 'Field changes refused by the ownership policy.',
      labelNames: ['field', 'source'],
      registers: reg,
    }),
    qualityViolations: new Counter({
      name: 'hearth_quality_violations_total',
      help: 'Changes held for review by a quality rule (governance.quality.rules).',
      labelNames: ['rule', 'source'],
      registers: reg,
    }),
    qualityBreakersTripped: new Counter({
      name: 'hearth_quality_breakers_tripped_total',
      help: "A rate rule paused a source's changes (flag breaker.<source> = open); alert on any increase.",
      labelNames: ['rule', 'source'],
      registers: reg,
    }),
    retentionRemoved: new Counter({
      name: 'hearth_retention_removed_total',
      help:
        'Rows retention blanked or deleted, by kind ' +
        '(inbox_payloads, change_log_values, findings, erasure_payloads).',
      labelNames: ['kind'],
      registers: reg,
    }),
    inboxDepth: new Gauge({
      name: 'hearth_inbox_events',
      help: 'Inbox events by status (sampled at scrape).',
      labelNames: ['status'],
      registers: reg,
    }),
    loyaltyAdjustmentRate: new Gauge({
      name: 'hearth_loyalty_manual_adjustment_ratio',
      help:
        'Manual point adjustments as a share (0..1) of all ledger entries; ' +
        'alert when above hearth_loyalty_manual_adjustment_alert_threshold.',
      registers: reg,
    }),
    loyaltyAdjustmentThreshold: new Gauge({
      name: 'hearth_loyalty_manual_adjustment_alert_threshold',
      help: 'Configured alert threshold for the manual adjustment rate (loyalty.adjustment_alert_rate).',
      registers: reg,
    }),
    outboxDepth: new Gauge({
      name: 'hearth_outbox_jobs',
      help: 'Outbound jobs by target and status (sampled at scrape).',
      labelNames: ['target', 'status'],
      registers: reg,
    }),
    reconcileDriftRate: new Gauge({
      name: 'hearth_reconcile_drift_ratio',
      help:
        'Share (0..1) of compared records whose field disagrees with Hearth ' +
        '(last finished reconciliation run; format-only differences excluded).',
      labelNames: ['system', 'field'],
      registers: reg,
    }),
    reconcileDrifted: new Gauge({
      name: 'hearth_reconcile_drifted_records',
      help: 'Records whose field disagrees with Hearth (last finished reconciliation run).',
      labelNames: ['system', 'field'],
      registers: reg,
    }),
    httpDuration: new Histogram({
      name: 'hearth_http_request_duration_seconds',
      help: 'HTTP request duration by method, route pattern and status code.',
      labelNames: ['method', 'route', 'status_code'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: reg,
    }),
  };
}
