// Requests counted per key in fixed windows, in this process, without a promise: the per-IP
// (callers not yet verified) and per-user limits of a replica counting alone (no REDIS_URL), and
// the admin limit. @fastify/rate-limit's hook costs a promise and a microtask each, which showed
// in a flood of refusals and on the warm path. The counting is its local store's: a key's window opens with its first
// request and lasts the whole window; the least recently counted keys go beyond `maxKeys`.
import { LRUCache } from 'lru-cache';

interface Window {
  count: number;
  startMs: number;
}

export interface Counted {
  /** Requests in the key's current window, this one included. */
  count: number;
  /** Milliseconds until that window closes. */
  ttlMs: number;
}

export class LocalWindowCounts {
  private readonly windows: LRUCache<string, Window>;

  constructor(private readonly windowMs: number, maxKeys: number) {
    this.windows = new LRUCache<string, Window>({ max: maxKeys });
  }

  /** Counts one request of `key` at `nowMs`. */
  increment(key: string, nowMs: number): Counted {
    let window = this.windows.get(key);
    if (window === undefined || window.startMs + this.windowMs <= nowMs) {
      window = { count: 0, startMs: nowMs };
      this.windows.set(key, window);
    }
    window.count++;
    return { count: window.count, ttlMs: window.startMs + this.windowMs - nowMs };
  }
}
