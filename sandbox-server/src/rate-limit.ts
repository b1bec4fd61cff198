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

  /** Idle long enough to be full again: a bucket in this state can be forgotten and made anew. */
  get full(): boolean {
    return this.tokens + ((performance.now() - this.last) / 1000) * this.rate >= this.burst;
  }
}

/** One bucket per key (an attendee, an address), forgotten when idle long enough to be full again. */
export class KeyedLimiter {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(
    private readonly rate: number,
    private readonly burst: number,
  ) {}

  take(key: string): boolean {
    if (this.buckets.size > 10_000) for (const [k, bucket] of this.buckets) if (bucket.full) this.buckets.delete(k);
    let bucket = this.buckets.get(key);
    if (!bucket) this.buckets.set(key, (bucket = new TokenBucket(this.rate, this.burst)));
    return bucket.take();
  }
}
