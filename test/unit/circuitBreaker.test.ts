// The ACS circuit breaker on a clock of the test's own: when it opens, how long it stays open,
// the one trial call of the half-open state, and what closes or reopens it.
import t from 'tap';
import { CircuitBreaker } from '../../src/acs/circuitBreaker.js';

const THRESHOLD = 3;
const COOLDOWN_MS = 10_000;

function breaker() {
  const clock = { now: 1_000_000 };
  return { clock, breaker: new CircuitBreaker(THRESHOLD, COOLDOWN_MS, () => clock.now) };
}

const failTimes = (b: CircuitBreaker, times: number) => { for (let i = 0; i < times; i++) b.failed(); };

t.test('closed until `threshold` consecutive failures, then open: calls refused at once', async (t) => {
  const { breaker: b } = breaker();
  t.equal(b.state, 'closed');
  t.equal(b.retryAfterSeconds, 0);
  failTimes(b, THRESHOLD - 1);
  t.equal(b.state, 'closed', 'one failure short of the threshold');
  t.ok(b.tryAcquire());
  b.failed();
  t.equal(b.state, 'open');
  t.notOk(b.tryAcquire(), 'refused while open');
  t.equal(b.retryAfterSeconds, COOLDOWN_MS / 1000);
});

t.test('a success in between starts the count again', async (t) => {
  const { breaker: b } = breaker();
  failTimes(b, THRESHOLD - 1);
  b.succeeded();
  failTimes(b, THRESHOLD - 1);
  t.equal(b.state, 'closed');
  b.failed();
  t.equal(b.state, 'open');
});

t.test('Retry-After counts down in whole seconds, rounded up, never below 1 while refusing', async (t) => {
  const { clock, breaker: b } = breaker();
  failTimes(b, THRESHOLD);
  clock.now += 1;
  t.equal(b.retryAfterSeconds, 10, '9.999 s left: 10');
  clock.now += 8_999;
  t.equal(b.retryAfterSeconds, 1, '1 s left');
  clock.now += 999;
  t.equal(b.state, 'open', '1 ms before the cooldown ends');
  t.equal(b.retryAfterSeconds, 1, '1 ms left: 1');
  clock.now += 1;
  t.equal(b.state, 'half-open', 'exactly at the end of the cooldown');
  t.equal(b.retryAfterSeconds, 1, 'a call refused beside the trial is told 1 s');
});

t.test('half-open: one trial at a time', async (t) => {
  const { clock, breaker: b } = breaker();
  failTimes(b, THRESHOLD);
  clock.now += COOLDOWN_MS;
  t.ok(b.tryAcquire(), 'the trial goes through');
  t.notOk(b.tryAcquire(), 'a second call waits while the trial is under way');
  t.equal(b.state, 'half-open');
});

t.test('a failed trial opens the circuit again for a whole cooldown, on one failure', async (t) => {
  const { clock, breaker: b } = breaker();
  failTimes(b, THRESHOLD);
  clock.now += COOLDOWN_MS + 5_000;
  t.ok(b.tryAcquire());
  b.failed();
  t.equal(b.state, 'open');
  t.equal(b.retryAfterSeconds, COOLDOWN_MS / 1000, 'counted from the failed trial');
  clock.now += COOLDOWN_MS;
  t.ok(b.tryAcquire(), 'the next trial after another cooldown');
});

t.test('a successful trial closes the circuit; it then takes `threshold` failures to open', async (t) => {
  const { clock, breaker: b } = breaker();
  failTimes(b, THRESHOLD);
  clock.now += COOLDOWN_MS;
  t.ok(b.tryAcquire());
  b.succeeded();
  t.equal(b.state, 'closed');
  t.equal(b.retryAfterSeconds, 0);
  t.ok(b.tryAcquire());
  t.ok(b.tryAcquire(), 'no trial limit once closed');
  failTimes(b, THRESHOLD - 1);
  t.equal(b.state, 'closed');
  b.failed();
  t.equal(b.state, 'open');
});
