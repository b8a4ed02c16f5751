/**
 * The mu-law benchmark's inputs, and its measurement of the portable (scalar table) kernel. The addon picks its mu-law
 * kernel once per process when it loads (AVX2 where the CPU has it), so the portable kernel is timed in a child
 * process started with AI_CRMD_MULAW_KERNEL=scalar: this file run as a script prints its timings as JSON.
 */

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { MULAW_KERNEL, mulawDecodeInto, mulawEncodeInto } from '../../src/audio/dsp.js';
import { jsMulawDecodeInto } from './js-mulaw.js';
import { fixture } from './report.js';
import { consume, timeGroup, type TimingOptions } from './timing.js';

import { SAMPLES_PER_FRAME } from '../../src/twilio/media-format.js';
export { SAMPLES_PER_FRAME };
export const BULK_FRAMES = 500;   // 10 s at 8 kHz

export interface MulawInputs {
  bulkCodes: Uint8Array;
  bulkPcm: Int16Array;
  codeFrames: Uint8Array[];
  pcmFrames: Int16Array[];
}

/** 10 s of the reference English call, as Twilio would send it, whole and as 160-sample frames. */
export function mulawInputs(): MulawInputs {
  const call = fixture('conv-en.8k.ul');
  const bulkCodes = new Uint8Array(call.subarray(0, BULK_FRAMES * SAMPLES_PER_FRAME));
  const bulkPcm = new Int16Array(bulkCodes.length);
  jsMulawDecodeInto(bulkCodes, bulkPcm);
  const codeFrames: Uint8Array[] = [];
  const pcmFrames: Int16Array[] = [];
  for (let k = 0; k < BULK_FRAMES; k++) {
    codeFrames.push(bulkCodes.subarray(k * SAMPLES_PER_FRAME, (k + 1) * SAMPLES_PER_FRAME));
    pcmFrames.push(bulkPcm.subarray(k * SAMPLES_PER_FRAME, (k + 1) * SAMPLES_PER_FRAME));
  }
  return { bulkCodes, bulkPcm, codeFrames, pcmFrames };
}

export interface KernelTimings {
  kernel: string;
  /** ns per 20 ms frame: mulawEncodeInto / mulawDecodeInto, one frame per call and 10 s in one call. */
  encodeFrame: number;
  decodeFrame: number;
  encodeBulk: number;
  decodeBulk: number;
  /** How many of the 65,536 inputs / 256 codes differ from the G.191 fixtures. */
  encodeMismatches: number;
  decodeMismatches: number;
}

function g191Mismatches(): { encodeMismatches: number; decodeMismatches: number } {
  const pcm = new Int16Array(65536).map((_, i) => i - 32768);
  const codes = new Uint8Array(65536);
  mulawEncodeInto(pcm, codes);
  const refEncode = fixture('mulaw-encode-all-int16.g191.ul');
  let encodeMismatches = 0;
  for (let i = 0; i < 65536; i++) if (codes[i] !== refEncode[i]) encodeMismatches++;
  const decoded = new Int16Array(256);
  mulawDecodeInto(new Uint8Array(256).map((_, c) => c), decoded);
  const refDecode = fixture('mulaw-decode-all-codes.s16le');
  let decodeMismatches = 0;
  for (let c = 0; c < 256; c++) if (decoded[c] !== refDecode.readInt16LE(2 * c)) decodeMismatches++;
  return { encodeMismatches, decodeMismatches };
}

/** Times this process's kernel through mulawEncodeInto / mulawDecodeInto. */
function timeKernel(timing: TimingOptions): KernelTimings {
  const { bulkCodes, bulkPcm, codeFrames, pcmFrames } = mulawInputs();
  const outCodes = new Uint8Array(bulkCodes.length);
  const outPcm = new Int16Array(bulkPcm.length);
  const outCodesFrame = outCodes.subarray(0, SAMPLES_PER_FRAME);
  const outPcmFrame = outPcm.subarray(0, SAMPLES_PER_FRAME);
  const [encodeFrame, decodeFrame, encodeBulk, decodeBulk] = timeGroup([
    { op: () => { for (const f of pcmFrames) mulawEncodeInto(f, outCodesFrame); consume(outCodesFrame[0]!); }, framesPerOp: BULK_FRAMES },
    { op: () => { for (const f of codeFrames) mulawDecodeInto(f, outPcmFrame); consume(outPcmFrame[0]!); }, framesPerOp: BULK_FRAMES },
    { op: () => { mulawEncodeInto(bulkPcm, outCodes); consume(outCodes[0]!); }, framesPerOp: BULK_FRAMES },
    { op: () => { mulawDecodeInto(bulkCodes, outPcm); consume(outPcm[0]!); }, framesPerOp: BULK_FRAMES },
  ], timing).map((t) => t.nsPerFrame);
  return {
    kernel: MULAW_KERNEL, encodeFrame: encodeFrame!, decodeFrame: decodeFrame!, encodeBulk: encodeBulk!, decodeBulk: decodeBulk!,
    ...g191Mismatches(),
  };
}

/** Runs this file in a child process with the portable kernel forced; undefined (and a warning) if that fails. */
export function timePortableKernel(timing: TimingOptions): KernelTimings | undefined {
  const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), JSON.stringify(timing)], {
    env: { ...process.env, AI_CRMD_MULAW_KERNEL: 'scalar' },
    encoding: 'utf8',
  });
  try {
    const result = JSON.parse(child.stdout) as KernelTimings;
    if (result.kernel !== 'scalar') throw new Error(`the child ran the ${result.kernel} kernel`);
    return result;
  } catch (err) {
    console.error(`mu-law portable kernel not measured: ${err instanceof Error ? err.message : String(err)}`, child.stderr);
    return undefined;
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const timing = JSON.parse(process.argv[2] ?? '') as TimingOptions;
  const result = timeKernel(timing);
  process.stdout.write(JSON.stringify(result));
}
