// What operators watch, in Prometheus terms. One registry per app (not prom-client's global
// one), so that several apps in one process (tests) keep their own counts.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { observeRegistry } from './telemetry/hooks.js';

export class Metrics {
  readonly registry = new Registry();

  readonly httpRequests = new Counter({
    name: 'http_requests_total', help: 'HTTP requests answered, by route and status.',
    labelNames: ['method', 'route', 'status'] as const, registers: [this.registry],
  });
  readonly httpDuration = new Histogram({
    name: 'http_request_duration_seconds', help: 'Time to answer, by route and status.',
    labelNames: ['method', 'route', 'status'] as const, registers: [this.registry],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  });
  readonly acsCalls = new Counter({
    name: 'acs_calls_total', help: 'Calls to ACS, by operation and outcome (ok or the failure kind).',
    labelNames: ['operation', 'outcome'] as const, registers: [this.registry],
  });
  readonly acsDuration = new Histogram({
    name: 'acs_call_duration_seconds', help: 'Time of one call to ACS, by operation.',
    labelNames: ['operation'] as const, registers: [this.registry],
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  });
  readonly acsCircuitOpen = new Gauge({
    name: 'acs_circuit_open', help: '1 while the ACS circuit breaker is open or half-open, else 0.', registers: [this.registry],
  });
  readonly databaseQueries = new Counter({
    name: 'database_queries_total', help: 'Statements sent to PostgreSQL (each one round trip), transaction control included.', registers: [this.registry],
  });
  readonly auditEventsDropped = new Counter({
    name: 'audit_events_dropped_total', help: 'Audit events not kept: more than 10 000 were waiting to be written (a long database outage, or a flood of distinct users in one flush).',
    registers: [this.registry],
  });
  readonly identitiesCreated = new Counter({ name: 'acs_identities_created_total', help: 'ACS identities created for users.', registers: [this.registry] });
  readonly tokensIssued = new Counter({
    name: 'acs_tokens_issued_total', help: 'ACS tokens handed out, by kind (user: issued by ACS; reused: a recent one served again; teams).',
    labelNames: ['kind'] as const, registers: [this.registry],
  });
  readonly teamsOboCacheEntries = new Gauge({
    name: 'teams_obo_cache_entries', help: 'On-behalf-of mode: Teams tokens kept for reuse (cache="teams_tokens", at most TEAMS_OBO_CACHE_SIZE) and entries of MSAL\'s own cache (cache="msal").',
    labelNames: ['cache'] as const, registers: [this.registry],
  });
  readonly authFailures = new Counter({
    name: 'auth_failures_total', help: 'Requests refused by authentication, by reason (invalid_token, insufficient_scope).',
    labelNames: ['reason'] as const, registers: [this.registry],
  });
  readonly rateLimited = new Counter({
    name: 'rate_limited_total', help: 'Requests refused by a rate limit, by limit (ip, user or admin).',
    labelNames: ['limit'] as const, registers: [this.registry],
  });
  readonly acsCallBudgetRefusals = new Counter({
    name: 'acs_call_budget_refusals_total', help: 'Requests refused because their user had spent the ACS-call budget, by the ACS operation refused.',
    labelNames: ['operation'] as const, registers: [this.registry],
  });
  readonly rateLimitStoreUp = new Gauge({
    name: 'rate_limit_store_up', help: '1 when the shared rate-limit store (Redis) answers, 0 when limits fail open; absent without Redis.',
    registers: [this.registry],
  });
  readonly connectionsDropped = new Counter({
    name: 'http_connections_dropped_total', help: 'Connections closed as soon as accepted: HTTP_MAX_CONNECTIONS were open already.',
    registers: [this.registry],
  });
  readonly requestsShed = new Counter({
    name: 'http_requests_shed_total', help: 'Requests answered 503 overloaded at once, unprocessed, while the event loop was behind, by reason (event_loop_delay, event_loop_utilization).',
    labelNames: ['reason'] as const, registers: [this.registry],
  });
  readonly dbPool = new Gauge({
    name: 'db_pool_connections', help: 'Database pool connections, by state (total, idle, waiting requests).',
    labelNames: ['state'] as const, registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    // Exported over OTLP too, when configured (src/telemetry/prometheusBridge.ts).
    observeRegistry(this.registry);
  }
}
