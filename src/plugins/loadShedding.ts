// Load shedding: while this replica's event loop is behind (the OVERLOAD_* settings), a new
// request is answered at once with 503 `overloaded` and Retry-After, before authentication or
// any other work, instead of waiting behind the backlog: a queued request costs the same work
// later, when its client may have given up, and makes every request behind it later still.
// @fastify/under-pressure measures the loop; this plugin decides, so that the probes (a shed
// /healthz gets the pod restarted) and /metrics (which shows the overload) are never shed, and
// the answer is the service's problem+json.
import fp from 'fastify-plugin';
import underPressure from '@fastify/under-pressure';
import type { Config } from '../config/index.js';
import { HttpProblem } from '../http/httpProblem.js';
import { sendProblem } from '../http/sendProblem.js';
import { PROBE_ROUTES } from './probes.js';

// As long as a passing outage's (acs_unavailable): time for the replica to catch up, or for a
// load balancer to send the retry elsewhere.
const RETRY_AFTER_SECONDS = 5;

const NEVER_SHED: ReadonlySet<string> = new Set([...PROBE_ROUTES, '/metrics']);

export default fp(async function loadShedding(app, { config }: { config: Config['overload'] }) {
  const { maxEventLoopDelayMs, maxEventLoopUtilization, sampleIntervalMs } = config;
  if (maxEventLoopDelayMs === 0 && maxEventLoopUtilization === 0) return;
  // Given no bound, it only measures, and adds no hook of its own. Utilisation over the last
  // sample, not since start: a replica idle all day would otherwise never look busy.
  await app.register(underPressure, { sampleInterval: sampleIntervalMs, eventLoopUtilizationMode: 'interval' });
  const shed = app.metrics.requestsShed;
  // Building the app keeps the loop busy too, but that is over once it is ready: a sample taken
  // wholly after that has come by two intervals later.
  let measured = false;
  let warmUp: NodeJS.Timeout | undefined;
  app.addHook('onReady', (done) => {
    warmUp = setTimeout(() => { measured = true; }, 2 * sampleIntervalMs).unref();
    done();
  });
  app.addHook('onClose', (_app, done) => { clearTimeout(warmUp); done(); });

  // A callback hook. Registered after the probes' and HTTP security's own: a probe on the wrong
  // port is still 404, and a shed answer has the security and CORS headers.
  app.addHook('onRequest', (request, reply, done) => {
    if (!measured) {
      done();
      return;
    }
    const { eventLoopDelay, eventLoopUtilized } = app.memoryUsage();
    const reason = maxEventLoopDelayMs > 0 && eventLoopDelay > maxEventLoopDelayMs ? 'event_loop_delay'
      : maxEventLoopUtilization > 0 && eventLoopUtilized > maxEventLoopUtilization ? 'event_loop_utilization'
        : undefined;
    if (reason === undefined || NEVER_SHED.has(request.routeOptions.url ?? '')) {
      done();
      return;
    }
    shed.inc({ reason });
    sendProblem(reply, new HttpProblem(503, 'overloaded', 'The service is overloaded: the request was not processed; retry later.', {
      retryAfterSeconds: RETRY_AFTER_SECONDS,
    }));
  });
}, { name: 'load-shedding', dependencies: ['metrics', 'problem-details', 'http-security'], decorators: { fastify: ['metrics'] } });
