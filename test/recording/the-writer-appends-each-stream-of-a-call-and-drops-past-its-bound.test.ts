// The main thread's recording writer on a real temp folder: second k of a stream is written once both channels are
// past it (decoded, interleaved caller then agent), a missing block is silence, a call back from a transfer appends
// its stream to the same file, a file a crash left is appended to after its whole sample frames, past the queue's
// bound blocks are dropped and counted (their seconds silent), and malformed messages are refused.
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { mulawDecode } from '../../src/audio/dsp.js';
import { RecordingWriter } from '../../src/recording/writer.js';
import { recordingWavHeader } from '../../src/recording/wav-file.js';
import { readServedWav } from './recording-wav.js';

const sid = (n: number): string => `CA${n.toString(16).padStart(32, '0')}`;
const block = (code: number): Uint8Array => new Uint8Array(8000).fill(code);
const quietWriter = (dir: string, maxQueuedBytes?: number) => {
  const recorded: Array<{ callSid: string; durationMs: number }> = [];
  const writer = new RecordingWriter({
    dir, ...(maxQueuedBytes !== undefined ? { maxQueuedBytes } : {}), onRecorded: (r) => recorded.push(r),
    log: { info: () => undefined, error: () => undefined } as never,
  });
  return { writer, recorded };
};
const CODE_A = 0x10;
const CODE_B = 0xa0;

describe('the recording writer', () => {
  it('writes both channels interleaved, a missing block as silence, the partial last second, the sizes at the end', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wt-audio-writer-'));
    const { writer, recorded } = quietWriter(dir);
    const callSid = sid(1);
    writer.accept({ kind: 'audio-start', callSid, streamSid: 'MZ1', atMs: 1 });
    writer.accept({ kind: 'audio-block', callSid, streamSid: 'MZ1', channel: 0, blockIndex: 0, mulaw: block(CODE_A) });
    writer.accept({ kind: 'audio-block', callSid, streamSid: 'MZ1', channel: 1, blockIndex: 0, mulaw: block(CODE_B) });
    // second 1: the agent's block never came (dropped on the way): silence there
    writer.accept({ kind: 'audio-block', callSid, streamSid: 'MZ1', channel: 0, blockIndex: 1, mulaw: block(CODE_A) });
    writer.accept({ kind: 'audio-block', callSid, streamSid: 'MZ1', channel: 0, blockIndex: 2, mulaw: block(CODE_A) });
    writer.accept({ kind: 'audio-block', callSid, streamSid: 'MZ1', channel: 1, blockIndex: 2, mulaw: block(CODE_B) });
    writer.accept({ kind: 'audio-end', callSid, streamSid: 'MZ1', endSample: 2 * 8000 + 4000, atMs: 2 });
    await writer.close(5000);
    const wav = readServedWav(new Uint8Array(readFileSync(join(dir, `${callSid}.wav`))));
    expect(wav.dataSize).toBe(20_000 * 4);
    const a = mulawDecode(new Uint8Array([CODE_A]))[0]!;
    const b = mulawDecode(new Uint8Array([CODE_B]))[0]!;
    expect(wav.caller.every((s) => s === a)).toBe(true);
    expect(wav.agent.subarray(0, 8000).every((s) => s === b)).toBe(true);
    expect(wav.agent.subarray(8000, 16000).every((s) => s === 0)).toBe(true);
    expect(wav.agent.subarray(16000).every((s) => s === b)).toBe(true);
    expect(recorded).toEqual([expect.objectContaining({ callSid, durationMs: 2500 })]);
    expect(writer.readCounters()).toMatchObject({ audioSecondsWritten: 2.5, audioBlocksDropped: 0, audioQueuedBytes: 0 });
  });

  it('appends a second stream of the call (back from a transfer) to the same file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wt-audio-writer-'));
    const { writer, recorded } = quietWriter(dir);
    const callSid = sid(2);
    for (const [streamSid, code] of [['MZ1', CODE_A], ['MZ2', CODE_B]] as const) {
      writer.accept({ kind: 'audio-start', callSid, streamSid, atMs: 1 });
      writer.accept({ kind: 'audio-block', callSid, streamSid, channel: 0, blockIndex: 0, mulaw: block(code) });
      writer.accept({ kind: 'audio-end', callSid, streamSid, endSample: 8000, atMs: 2 });
    }
    await writer.close(5000);
    const wav = readServedWav(new Uint8Array(readFileSync(join(dir, `${callSid}.wav`))));
    expect(wav.dataSize).toBe(16_000 * 4);
    expect(wav.caller[0]).toBe(mulawDecode(new Uint8Array([CODE_A]))[0]);
    expect(wav.caller[8000]).toBe(mulawDecode(new Uint8Array([CODE_B]))[0]);
    expect(recorded.map((r) => r.durationMs)).toEqual([1000, 2000]);
  });

  it('appends to a file a crash left after its whole sample frames, and writes its sizes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wt-audio-writer-'));
    mkdirSync(dir, { recursive: true });
    const callSid = sid(3);
    writeFileSync(join(dir, `${callSid}.wav`), Buffer.concat([recordingWavHeader(0), Buffer.alloc(400 * 4, 0), Buffer.from([1, 2, 3])]));
    const { writer } = quietWriter(dir);
    writer.accept({ kind: 'audio-block', callSid, streamSid: 'MZ9', channel: 1, blockIndex: 0, mulaw: block(CODE_B) });
    writer.accept({ kind: 'audio-end', callSid, streamSid: 'MZ9', endSample: 100, atMs: 2 });
    await writer.close(5000);
    const bytes = readFileSync(join(dir, `${callSid}.wav`));
    const wav = readServedWav(new Uint8Array(bytes));
    expect(bytes.length).toBe(44 + 500 * 4);
    expect(wav).toMatchObject({ dataSize: 500 * 4, riffSize: 36 + 500 * 4 });
    expect(wav.agent.subarray(400).every((s) => s === mulawDecode(new Uint8Array([CODE_B]))[0])).toBe(true);
  });

  it('drops blocks past its queue bound, counting them, and refuses malformed messages', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wt-audio-writer-'));
    const { writer } = quietWriter(dir, 3 * 8000);
    const callSid = sid(4);
    // the caller channel runs ahead: its blocks wait for the agent's, and the fourth finds the queue full
    for (let k = 0; k < 5; k++) writer.accept({ kind: 'audio-block', callSid, streamSid: 'MZ1', channel: 0, blockIndex: k, mulaw: block(CODE_A) });
    expect(writer.readCounters()).toMatchObject({ audioBlocksDropped: 2, audioQueuedBytes: 3 * 8000 });
    writer.accept({ kind: 'audio-block', callSid: '../../etc/passwd', streamSid: 'MZ1', channel: 0, blockIndex: 0, mulaw: block(1) } as never);
    writer.accept({ kind: 'audio-block', callSid, streamSid: 'MZ1', channel: 0, blockIndex: 0, mulaw: new Uint8Array(10) });
    writer.accept({ kind: 'audio-block', callSid, streamSid: 'MZ1', channel: 3, blockIndex: 0, mulaw: block(1) } as never);
    expect(writer.readCounters().audioMessagesRejected).toBe(3);
    writer.accept({ kind: 'audio-end', callSid, streamSid: 'MZ1', endSample: 5 * 8000, atMs: 2 });
    await writer.close(5000);
    const wav = readServedWav(new Uint8Array(readFileSync(join(dir, `${callSid}.wav`))));
    const a = mulawDecode(new Uint8Array([CODE_A]))[0]!;
    expect(wav.caller.subarray(0, 24_000).every((s) => s === a)).toBe(true);
    expect(wav.caller.subarray(24_000).every((s) => s === 0)).toBe(true); // the dropped seconds: silence, in place
    expect(writer.readCounters()).toMatchObject({ audioQueuedBytes: 0, audioSecondsWritten: 5 });
  });
});
