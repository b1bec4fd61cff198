/** Leases host uids from a fixed range, one per live sandbox, never two sandboxes at once. */
export class UidPool {
  private readonly leased = new Set<number>();
  private next = 0;

  constructor(
    readonly base: number,
    readonly count: number,
  ) {
    if (base < 1000 || count < 1) throw new Error(`invalid uid range ${base}+${count}: it must start above system uids`);
  }

  /** Round-robin, so a just-released uid is not reused at once (its last processes may still be dying). */
  lease(): number {
    for (let i = 0; i < this.count; i++) {
      const uid = this.base + ((this.next + i) % this.count);
      if (!this.leased.has(uid)) {
        this.leased.add(uid);
        this.next = (uid - this.base + 1) % this.count;
        return uid;
      }
    }
    throw new Error(`all ${this.count} sandbox uids are in use`);
  }

  release(uid: number): void {
    this.leased.delete(uid);
  }

  contains(uid: number): boolean {
    return uid >= this.base && uid < this.base + this.count;
  }

  get size(): number {
    return this.leased.size;
  }
}
