// A stand-in session module for the edge while the call engine (src/call) is not wired in: each session only counts
// what it receives, answers nothing, and logs a one-line summary when its socket closes. It implements the same
// EdgeSessionModule contract as the real engine, so main.ts switches to the engine by changing one module URL.
import type { CallSessionHandle, CallTransport, SessionFactory } from '../call/types.js';
import { LogEvent, log } from '../observability/log.js';
import type { InboundMessage } from '../twilio/media-streams.js';
import type { SessionFactoryContext } from './threads.js';

class LoggingOnlySession implements CallSessionHandle {
  private callSid = '';
  private streamSid = '';
  private readonly counts: Record<InboundMessage['event'], number> = { connected: 0, start: 0, media: 0, mark: 0, dtmf: 0, stop: 0 };

  constructor(private readonly threadIndex: number, private readonly transport: CallTransport) {}

  onMessage(msg: InboundMessage): void {
    this.counts[msg.event]++;
    if (msg.event === 'start') {
      this.callSid = msg.start.callSid;
      this.streamSid = msg.streamSid;
    } else if (msg.event === 'dtmf') {
      log.info({ event: LogEvent.WS_DTMF, callSid: this.callSid, streamSid: this.streamSid, digit: msg.digit }, 'dtmf (logging-only session)');
    }
  }

  onTransportClosed(): void {
    log.info({
      event: LogEvent.CALL_END, callSid: this.callSid, streamSid: this.streamSid, threadIndex: this.threadIndex,
      counts: this.counts, isTransportClosed: this.transport.isClosed, session: 'logging-only',
    }, 'call ended (logging-only session: no call engine wired in)');
  }
}

export function createSessionFactory(context: SessionFactoryContext): SessionFactory {
  return (transport) => new LoggingOnlySession(context.threadIndex, transport);
}
