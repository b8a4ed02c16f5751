// An edge thread's questions to the main thread (totals, a routed command, a records read, a placed call's brief):
// each goes out with a request id and comes back as the answer to that id, or, when the main thread does not
// answer in time, as what the asker said a timeout means. One id space and one timer per question.

export class PendingRequests {
  private nextRequestId = 1;
  private readonly pending = new Map<number, { resolve: (answer: unknown) => void; timer: NodeJS.Timeout }>();

  /** Sends the question (`send` gets its id); resolves with the answer, or with `onTimeout()` after `timeoutMs`. */
  ask<T>(send: (requestId: number) => void, timeoutMs: number, onTimeout: () => T): Promise<T> {
    return new Promise((resolve) => {
      const requestId = this.nextRequestId++;
      const timer = setTimeout(() => {
        this.pending.delete(requestId);
        resolve(onTimeout());
      }, timeoutMs);
      this.pending.set(requestId, { resolve: resolve as (answer: unknown) => void, timer });
      send(requestId);
    });
  }

  /** The main thread's answer to `requestId`; ignored when it came too late (the question already timed out). */
  answer(requestId: number, answer: unknown): void {
    const pending = this.pending.get(requestId);
    if (pending === undefined) return;
    this.pending.delete(requestId);
    clearTimeout(pending.timer);
    pending.resolve(answer);
  }
}
