// One edge thread's call events, fanned out: the call engine publishes (src/call/events.ts), and whoever cares
// subscribes (the thread's forwarder to the main thread, which feeds records and command routing; later the console).
// A subscriber that throws is counted and does not stop the others, and never reaches the call that published.
import type { CallEvent, CallEventSink } from '../call/events.js';

export type CallEventListener = (event: CallEvent) => void;

export class CallEventBus implements CallEventSink {
  private readonly listeners = new Set<CallEventListener>();
  /** Exceptions thrown by subscribers (a bug in one of them). */
  listenerErrors = 0;
  published = 0;

  subscribe(listener: CallEventListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  publish(event: CallEvent): void {
    this.published++;
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        this.listenerErrors++;
      }
    }
  }
}
