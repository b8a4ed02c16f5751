// listMessages (GET /api/messages): the messages callers left, most recent first, each with its call and the call's
// From, paged with `before` like the calls (a page never splits one millisecond's messages); other events are not
// messages.
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/observability/log.js';
import { backendsToRun, until, recordsPerTest } from './backends.js';

const T0 = Date.parse('2026-07-08T10:00:00.000Z');

for (const backend of backendsToRun()) {
  describe.skipIf(!backend.isAvailable)(`records on ${backend.name}`, () => {
    const perTest = recordsPerTest(backend);

    it('lists messages recent first with their callers, and pages with before', async () => {
      const records = await perTest.open({ writer: { flushIntervalMs: 20 }, log: createLogger({ level: 'silent' }) });
      const w = records.writer;
      w.enqueue({ kind: 'call-started', callSid: 'CA-1', direction: 'inbound', startedAtMs: T0, from: '+972501112233' });
      w.enqueue({ kind: 'call-started', callSid: 'CA-2', direction: 'inbound', startedAtMs: T0 + 100, from: '+15550001111' });
      w.enqueue({ kind: 'call-event', callSid: 'CA-1', atMs: T0 + 10, event: 'message', data: { message: 'first', name: 'Dana' } });
      w.enqueue({ kind: 'call-event', callSid: 'CA-1', atMs: T0 + 20, event: 'dtmf', data: { digit: '1' } });
      w.enqueue({ kind: 'call-event', callSid: 'CA-2', atMs: T0 + 200, event: 'message', data: { message: 'second', callbackNumber: '+15550002222' } });
      w.enqueue({ kind: 'call-event', callSid: 'CA-2', atMs: T0 + 200, event: 'message', data: { message: 'third' } });
      await until('written', () => w.readCounters().written === 6);

      const all = await records.reader.listMessages();
      expect(all).toEqual({
        messages: [
          { callSid: 'CA-2', from: '+15550001111', at: new Date(T0 + 200).toISOString(), message: 'third', name: null, callbackNumber: null },
          { callSid: 'CA-2', from: '+15550001111', at: new Date(T0 + 200).toISOString(), message: 'second', name: null, callbackNumber: '+15550002222' },
          { callSid: 'CA-1', from: '+972501112233', at: new Date(T0 + 10).toISOString(), message: 'first', name: 'Dana', callbackNumber: null },
        ],
        next: null,
      });
      // a page of 1 would split the two messages of T0+200: they come together
      const first = await records.reader.listMessages({ limit: 1 });
      expect(first.messages.map((m) => m.message)).toEqual(['third', 'second']);
      expect(first.next).toBe(new Date(T0 + 200).toISOString());
      const second = await records.reader.listMessages({ limit: 1, before: first.next! });
      expect(second).toMatchObject({ messages: [{ message: 'first' }], next: null });
      await expect(records.reader.listMessages({ limit: 0 })).rejects.toMatchObject({ field: 'limit' });
      await expect(records.reader.listMessages({ before: 'soon' })).rejects.toMatchObject({ field: 'before' });
    });
  });
}
