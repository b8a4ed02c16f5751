// A disk that refuses the recordings (here DATA_DIR/recordings is a file, so no folder can be made there: as EACCES or
// ENOSPC would, every write fails) costs the recording only: the echo call plays both turns back whole and paced,
// nothing it sends is dropped, the blocks are counted as dropped on /metrics with one error line for the call, and
// the API says the call (whose record is there) has no recording.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Caller, newSid, type CallerResult } from '../../src/cli/caller.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { arrivalSpanMs, bestFrameAlignedMatch, FRAME_BYTES, loadReferenceCall, mediaUrl, waitUntilNoCalls } from '../integration/reference-calls.js';
import { until } from '../records/backends.js';
import { getRecording } from './recording-wav.js';

const API_KEY = 'recording-disk-api-key-0123456789abcdef';

describe('an unwritable recordings folder', () => {
  let server: RunningServer;
  const callSid = newSid('CA');
  const en = loadReferenceCall('conv-en');
  let result: CallerResult;

  beforeAll(async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'wt-audio-disk-'));
    writeFileSync(join(dataDir, 'recordings'), 'not a folder');
    server = await startServer({ env: { EDGE_THREADS: '2', CONTROL_API_KEY: API_KEY, RECORD_AUDIO: 'on', BARGE_IN: 'off', DATA_DIR: dataDir } });
    result = await new Caller({ url: mediaUrl(server), audio: en.audio, callSid, tailMs: 6000 }).run();
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
  });

  it('leaves the call\'s audio untouched: both echoes whole, paced, nothing dropped', async () => {
    expect(result.closeCode).toBe(1000);
    expect(result.playbacks).toHaveLength(2);
    expect(result.marksEchoed).toEqual(result.marksReceived);
    let at = 0;
    for (const arrivals of result.playbacks) {
      const echo = result.receivedMulaw.subarray(at * FRAME_BYTES, (at + arrivals.length) * FRAME_BYTES);
      at += arrivals.length;
      expect(bestFrameAlignedMatch(en.audio, echo).equalShare).toBeGreaterThan(0.95);
      expect(arrivalSpanMs(arrivals)).toBeGreaterThanOrEqual(0.75 * arrivals.length * 20);
    }
    const counters = await waitUntilNoCalls(server, 5_000);
    expect(counters.call).toMatchObject({ dropped: 0, framesOut: result.framesReceived, agentErrors: 0 });
  });

  it('counts the dropped blocks on /metrics, says so once for the call, and has no recording to serve', async () => {
    let metrics = '';
    const droppedOf = (text: string): number => Number(/^aicrmd_records_audio_blocks_dropped_total (\d+)/m.exec(text)?.[1] ?? 0);
    await until('the dropped blocks counted', async () => {
      metrics = await (await fetch(`${server.baseUrl}/metrics`, { headers: { connection: 'close' } })).text();
      // two channels, one block a second, for a call of about 18 s
      return droppedOf(metrics) >= 2 * 15;
    }, 10_000);
    expect(Number(/^aicrmd_records_audio_write_failures_total (\d+)/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(1);
    expect(metrics).toMatch(/^aicrmd_records_audio_seconds_written_total 0$/m);
    const failures = server.logs().filter((line) => line['event'] === 'RECORDING_WRITE_FAILED');
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ callSid, errKind: 'disk' });
    await until('the call\'s record', async () => (await fetch(`${server.baseUrl}/api/calls/${callSid}`, { headers: { Authorization: `Bearer ${API_KEY}`, connection: 'close' } })).status === 200);
    const served = await getRecording(server.baseUrl, callSid, API_KEY);
    expect(served.status).toBe(404);
    expect(JSON.parse(Buffer.from(served.bytes).toString('utf8'))).toMatchObject({ error: { code: 'no-recording' } });
  });
});
