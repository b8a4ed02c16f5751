// A recording a crash left behind (its header written with zero sizes, its last sample frame cut short) is served
// with the sizes its length gives, whole sample frames only; a five-minute one comes through byte for byte, streamed
// in chunks; and a file too short to hold its header is no recording at all.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newSid } from '../../src/cli/caller.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { getRecording, readServedWav } from './recording-wav.js';

const API_KEY = 'recording-crash-api-key-0123456789abcdef';

/** A canonical header as our writer first writes it (sizes 0), then `frames` sample frames with a pattern, then `extra` stray bytes. */
function crashLeftovers(frames: number, extra: number): { file: Buffer; data: Buffer } {
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'ascii');
  header.write('WAVEfmt ', 8, 'ascii');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(2, 22);
  header.writeUInt32LE(8000, 24);
  header.writeUInt32LE(32000, 28);
  header.writeUInt16LE(4, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36, 'ascii');
  const data = Buffer.alloc(frames * 4);
  for (let i = 0; i < frames; i++) {
    data.writeInt16LE((i * 7) % 30_000 - 15_000, i * 4);
    data.writeInt16LE((i * 13) % 20_000 - 10_000, i * 4 + 2);
  }
  return { file: Buffer.concat([header, data, Buffer.alloc(extra, 0x55)]), data };
}

describe('recordings a crash left', () => {
  let server: RunningServer;
  const short = { callSid: newSid('CA'), ...crashLeftovers(2.5 * 8000, 3) };
  const long = { callSid: newSid('CA'), ...crashLeftovers(300 * 8000, 2) };
  const stub = newSid('CA');

  beforeAll(async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'wt-audio-crash-'));
    mkdirSync(join(dataDir, 'recordings'));
    writeFileSync(join(dataDir, 'recordings', `${short.callSid}.wav`), short.file);
    writeFileSync(join(dataDir, 'recordings', `${long.callSid}.wav`), long.file);
    writeFileSync(join(dataDir, 'recordings', `${stub}.wav`), Buffer.from('RIFF'));
    server = await startServer({ env: { EDGE_THREADS: '1', CONTROL_API_KEY: API_KEY, RECORD_AUDIO: 'on', DATA_DIR: dataDir } });
  }, 30_000);
  afterAll(async () => {
    await server?.stop();
  });

  it('serves one left with zero sizes with the sizes of its whole sample frames', async () => {
    const served = await getRecording(server.baseUrl, short.callSid, API_KEY);
    expect(served.status).toBe(200);
    expect(Number(served.headers.get('content-length'))).toBe(44 + short.data.length);
    const wav = readServedWav(served.bytes);
    expect(wav).toMatchObject({ channels: 2, sampleRateHz: 8000, bitsPerSample: 16, dataSize: short.data.length, riffSize: 36 + short.data.length });
    expect(Buffer.from(served.bytes.subarray(44)).equals(short.data)).toBe(true);
  });

  it('streams a five-minute one whole, byte for byte', async () => {
    const served = await getRecording(server.baseUrl, long.callSid, API_KEY);
    expect(served.status).toBe(200);
    expect(served.bytes.length).toBe(44 + long.data.length);
    expect(readServedWav(served.bytes).dataSize).toBe(long.data.length);
    expect(Buffer.from(served.bytes.subarray(44)).equals(long.data)).toBe(true);
  });

  it('answers 404 no-recording for a file too short to hold its header', async () => {
    const served = await getRecording(server.baseUrl, stub, API_KEY);
    expect(served.status).toBe(404);
    expect(JSON.parse(Buffer.from(served.bytes).toString('utf8'))).toMatchObject({ error: { code: 'unknown-call' } });
  });
});
