// The caller finds its utterances from the audio's frame levels alone: on the reference calls (digital silence
// between sentences) and on the noisy one (room noise between them), each span it finds is one labelled utterance of
// test/fixtures/labels.json, starting where it starts and ending where its sound ends (each labelled span ends
// 0.3-0.4 s after its last sound, on digital silence). The pause to listen in lies between an utterance and the next.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findUtterances, listenPauseFrames } from '../../src/cli/utterances.js';
import { FRAME_BYTES, FRAME_MS, MULAW_SILENCE_BYTE } from '../../src/twilio/media-format.js';
import { REPO_ROOT } from '../helpers/server.js';

const FIXTURES = join(REPO_ROOT, 'test', 'fixtures');
const labels = JSON.parse(readFileSync(join(FIXTURES, 'labels.json'), 'utf8')) as Record<string, { utterances_s: Array<[number, number]> }>;
/** A frame-level detector may differ from a label by a quiet onset or decay. */
const TOLERANCE_MS = 120;
/** Each labelled span holds this much trailing silence at most after its last sound. */
const LABEL_TRAILING_SILENCE_MS = 450;

describe.each(['conv-en', 'conv-en-noisy', 'conv-he'])('%s', (name) => {
  const audio = new Uint8Array(readFileSync(join(FIXTURES, `${name}.8k.ul`)));
  const found = findUtterances(audio);
  const truth = labels[name]!.utterances_s;

  it('finds the labelled utterances, each where the labels put it', () => {
    const spansMs = found.map((u) => [u.startFrame * FRAME_MS, u.endFrame * FRAME_MS] as const);
    expect(spansMs, JSON.stringify(spansMs)).toHaveLength(truth.length);
    spansMs.forEach(([startMs, endMs], i) => {
      const [labelStartMs, labelEndMs] = truth[i]!.map((s) => s * 1000) as [number, number];
      expect(Math.abs(startMs - labelStartMs), `utterance ${i + 1} start`).toBeLessThanOrEqual(TOLERANCE_MS);
      expect(endMs, `utterance ${i + 1} end`).toBeLessThanOrEqual(labelEndMs + TOLERANCE_MS);
      expect(endMs, `utterance ${i + 1} end`).toBeGreaterThanOrEqual(labelEndMs - LABEL_TRAILING_SILENCE_MS);
    });
  });

  it('listens in the pause after each utterance, before the next one starts', () => {
    const totalFrames = Math.ceil(audio.length / FRAME_BYTES);
    const pauses = listenPauseFrames(found, totalFrames);
    pauses.forEach((frame, i) => {
      expect(frame).toBeGreaterThanOrEqual(found[i]!.endFrame);
      expect(frame).toBeLessThanOrEqual(found[i + 1]?.startFrame ?? totalFrames);
    });
  });
});

describe('what is not an utterance', () => {
  it('finds none in silence, and none in a click shorter than 100 ms', () => {
    const silence = new Uint8Array(100 * FRAME_BYTES).fill(MULAW_SILENCE_BYTE);
    expect(findUtterances(silence)).toEqual([]);
    const click = silence.slice();
    click.fill(0x10, 50 * FRAME_BYTES, 53 * FRAME_BYTES); // 60 ms, loud
    expect(findUtterances(click)).toEqual([]);
    click.fill(0x10, 50 * FRAME_BYTES, 60 * FRAME_BYTES); // 200 ms
    expect(findUtterances(click)).toEqual([{ startFrame: 50, endFrame: 60 }]);
  });
});
