// The hand-over between a reply's two loops: the LLM stream pushes each sentence as the cutter finds it, and the
// synthesis loop takes them one at a time, waiting when it is ahead. One producer, one consumer; closing it (with
// the producer's error, if any) lets the consumer drain what is left and then stop.

export class SentenceQueue {
  private readonly items: string[] = [];
  private waiter: (() => void) | undefined;
  private isClosed = false;
  /** What the producer failed with, when it did (set by close). */
  error: unknown = undefined;

  push(item: string): void {
    this.items.push(item);
    this.wake();
  }

  close(error?: unknown): void {
    this.isClosed = true;
    if (error !== undefined) this.error = error;
    this.wake();
  }

  /** The next sentence, or undefined once closed and empty. */
  async next(): Promise<string | undefined> {
    for (;;) {
      const item = this.items.shift();
      if (item !== undefined) return item;
      if (this.isClosed) return undefined;
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
      });
    }
  }

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }
}
