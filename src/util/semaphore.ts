// Owns a counting semaphore with a bounded, first-come first-served queue: at most `limit`
// holders at once and at most `queue` waiters; `acquire` refuses (returns undefined) rather
// than queueing without bound.

export class Semaphore {
  private active = 0;
  private readonly waiters: Array<() => void> = [];

  constructor(
    readonly limit: number,
    readonly queue: number,
  ) {}

  get running(): number {
    return this.active;
  }

  get waiting(): number {
    return this.waiters.length;
  }

  /** Resolves to a release function once a slot is free; undefined when the queue is full. */
  acquire(): Promise<(() => void) | undefined> {
    if (this.active < this.limit) {
      this.active++;
      return Promise.resolve(this.releaser());
    }
    if (this.waiters.length >= this.queue) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      this.waiters.push(() => resolve(this.releaser()));
    });
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiters.shift();
      if (next !== undefined) next(); // the slot passes straight to the next waiter
      else this.active--;
    };
  }
}
