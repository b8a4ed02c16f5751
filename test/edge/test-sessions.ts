// A session module for the edge tests (loaded by the server through EDGE_SESSION_MODULE): it echoes every mark back,
// so a test can see that a call is alive and served, and when a stream's start carries customParameters.mode = "flood"
// it writes large text frames as fast as a timer allows, to drive the slow-client policy. Not part of the product.
import type { CallEngine, CallSessionHandle, CallTransport, SessionFactory } from '../../src/call/types.js';
import type { InboundMessage } from '../../src/twilio/media-messages.js';
import { serializeMark } from '../../src/twilio/outbound-serializers.js';

const FLOOD_FRAME = JSON.stringify({ event: 'media', streamSid: 'MZflood', media: { payload: 'A'.repeat(16 * 1024) } });

class TestSession implements CallSessionHandle {
  private streamSid = '';
  private floodTimer: NodeJS.Timeout | null = null;

  constructor(private readonly transport: CallTransport) {}

  onMessage(msg: InboundMessage): void {
    if (msg.event === 'start') {
      this.streamSid = msg.streamSid;
      if (msg.start.customParameters['mode'] === 'flood') this.startFlood();
    } else if (msg.event === 'mark') {
      this.transport.sendText(serializeMark(this.streamSid, msg.name));
    }
  }

  onTransportClosed(): void {
    if (this.floodTimer) clearInterval(this.floodTimer);
    this.floodTimer = null;
  }

  private startFlood(): void {
    this.floodTimer = setInterval(() => {
      this.transport.cork(() => {
        for (let i = 0; i < 16 && !this.transport.isClosed; i++) this.transport.sendText(FLOOD_FRAME);
      });
    }, 2);
  }
}

/** The edge's CallEngine contract: sessions, no counters of its own, nothing to release. */
export function createCallEngine(): CallEngine {
  const sessionFactory: SessionFactory = (transport) => new TestSession(transport);
  return { sessionFactory, readStats: () => ({}), shutdown: () => Promise.resolve() };
}
