/** A token bucket: `rate` tokens per second, at most `burst` saved up. Used for checks, input and upgrades. */
export class TokenBucket {
  private tokens: number;
  private last = performance.now();

  constructor(
    private readonly rate: number,
    private readonly burst: number,
  ) {
    this.tokens = burst;
  }

  take(cost = 1): boolean {
    const now = performance.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.rate);
    this.last = now;
    if (this.tokens < cost) return false;
    this.tokens -= cost;
    return true;
  }
}

/** One bucket per key (an attendee, an address), forgotten when idle long enough to be full again. */
export class KeyedLimiter {
  private readonly buckets = new Map<string, { bucket: TokenBucket; seen: number }>();

  constructor(
    private readonly rate: number,
    private readonly burst: number,
  ) {}

  take(key: string): boolean {
    const now = Date.now();
    if (this.buckets.size > 10_000) {
      const idleMs = (this.burst / this.rate) * 1000;
      for (const [k, v] of this.buckets) if (now - v.seen > idleMs) this.buckets.delete(k);
    }
    let entry = this.buckets.get(key);
    if (!entry) this.buckets.set(key, (entry = { bucket: new TokenBucket(this.rate, this.burst), seen: now }));
    entry.seen = now;
    return entry.bucket.take();
  }
}
