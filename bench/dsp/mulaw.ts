/**
 * G.711 mu-law, native vs `alawmulaw` (what people use) and a plain-JS table codec (the fairest JS peer), per 160-sample
 * frame (one call per frame, the way the edge sees frames) and in bulk (10 s in one call). Quality = how many of the
 * 65,536 int16 inputs / 256 codes differ from the ITU-T G.191 reference fixtures.
 */

import alawmulaw from 'alawmulaw';

import { mulawDecode, mulawDecodeInto, mulawEncode, mulawEncodeInto } from '../../src/audio/dsp.js';
import { jsMulawDecodeInto, jsMulawEncodeInto } from './js-mulaw.js';
import { fastestNative, fastestPeer, fixture, fmtNs, fmtRatio, speedTable, type SectionResult, type SpeedRow } from './report.js';
import { consume, timeGroup, type TimingOptions } from './timing.js';

const SAMPLES_PER_FRAME = 160;
const BULK_FRAMES = 500;   // 10 s at 8 kHz

interface Codec {
  encodeName: string;
  decodeName: string;
  isNative: boolean;
  /** Returns the array holding the result: `out`, or a new array for the allocating APIs. */
  encode: (pcm: Int16Array, out: Uint8Array) => Uint8Array;
  decode: (codes: Uint8Array, out: Int16Array) => Int16Array;
  /** One call per frame over many frames. Written out per codec (not one shared loop calling `codec.encode`) so that
   * every call site stays monomorphic and each implementation gets the inlining it would get in real code. */
  encodeFrames: (frames: readonly Int16Array[], out: Uint8Array) => number;
  decodeFrames: (frames: readonly Uint8Array[], out: Int16Array) => number;
  note?: string;
}

const codecs: Codec[] = [
  {
    encodeName: 'native mulawEncodeInto',
    decodeName: 'native mulawDecodeInto',
    isNative: true,
    encode: (pcm, out) => { mulawEncodeInto(pcm, out); return out; },
    decode: (codes, out) => { mulawDecodeInto(codes, out); return out; },
    encodeFrames: (frames, out) => {
      let acc = 0;
      for (let k = 0; k < frames.length; k++) { mulawEncodeInto(frames[k]!, out); acc += out[0]!; }
      return acc;
    },
    decodeFrames: (frames, out) => {
      let acc = 0;
      for (let k = 0; k < frames.length; k++) { mulawDecodeInto(frames[k]!, out); acc += out[0]!; }
      return acc;
    },
    note: 'no allocation',
  },
  {
    encodeName: 'native mulawEncode',
    decodeName: 'native mulawDecode',
    isNative: true,
    encode: (pcm) => mulawEncode(pcm),
    decode: (codes) => mulawDecode(codes),
    encodeFrames: (frames) => {
      let acc = 0;
      for (let k = 0; k < frames.length; k++) acc += mulawEncode(frames[k]!)[0]!;
      return acc;
    },
    decodeFrames: (frames) => {
      let acc = 0;
      for (let k = 0; k < frames.length; k++) acc += mulawDecode(frames[k]!)[0]!;
      return acc;
    },
    note: 'allocates the output',
  },
  {
    encodeName: 'alawmulaw mulaw.encode',
    decodeName: 'alawmulaw mulaw.decode',
    isNative: false,
    encode: (pcm) => alawmulaw.mulaw.encode(pcm),
    decode: (codes) => alawmulaw.mulaw.decode(codes),
    encodeFrames: (frames) => {
      let acc = 0;
      for (let k = 0; k < frames.length; k++) acc += alawmulaw.mulaw.encode(frames[k]!)[0]!;
      return acc;
    },
    decodeFrames: (frames) => {
      let acc = 0;
      for (let k = 0; k < frames.length; k++) acc += alawmulaw.mulaw.decode(frames[k]!)[0]!;
      return acc;
    },
    note: 'allocates the output',
  },
  {
    encodeName: 'plain JS, G.191 table',
    decodeName: 'plain JS, G.191 table',
    isNative: false,
    encode: (pcm, out) => { jsMulawEncodeInto(pcm, out); return out; },
    decode: (codes, out) => { jsMulawDecodeInto(codes, out); return out; },
    encodeFrames: (frames, out) => {
      let acc = 0;
      for (let k = 0; k < frames.length; k++) { jsMulawEncodeInto(frames[k]!, out); acc += out[0]!; }
      return acc;
    },
    decodeFrames: (frames, out) => {
      let acc = 0;
      for (let k = 0; k < frames.length; k++) { jsMulawDecodeInto(frames[k]!, out); acc += out[0]!; }
      return acc;
    },
    note: 'no allocation',
  },
];

function g191Mismatches(codec: Codec): { encode: number; decode: number } {
  const refEncode = fixture('mulaw-encode-all-int16.g191.ul');          // inputs -32768..32767 in order
  const refDecode = fixture('mulaw-decode-all-codes.s16le');            // codes 0..255, s16le
  const pcm = new Int16Array(65536);
  for (let i = 0; i < 65536; i++) pcm[i] = i - 32768;
  const codes = codec.encode(pcm, new Uint8Array(65536));
  let encode = 0;
  for (let i = 0; i < 65536; i++) if (codes[i] !== refEncode[i]) encode++;
  const allCodes = new Uint8Array(256);
  for (let c = 0; c < 256; c++) allCodes[c] = c;
  const decoded = codec.decode(allCodes, new Int16Array(256));
  let decode = 0;
  for (let c = 0; c < 256; c++) if (decoded[c] !== refDecode.readInt16LE(2 * c)) decode++;
  return { encode, decode };
}

export function benchMulaw(timing: TimingOptions): SectionResult {
  // 10 s of the reference English call, as Twilio would send it.
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
  const outCodes = new Uint8Array(bulkCodes.length);
  const outPcm = new Int16Array(bulkPcm.length);
  const outCodesFrame = outCodes.subarray(0, SAMPLES_PER_FRAME);
  const outPcmFrame = outPcm.subarray(0, SAMPLES_PER_FRAME);

  const rows: SpeedRow[] = [];
  const groups = {
    encFrame: 'encode, 1 frame per call',
    decFrame: 'decode, 1 frame per call',
    encBulk: 'encode, 10 s in one call',
    decBulk: 'decode, 10 s in one call',
  };
  const quality = codecs.map((codec) => {
    const mismatch = g191Mismatches(codec);
    return {
      encode: mismatch.encode === 0 ? 'G.191-exact' : `${mismatch.encode}/65536 inputs differ from G.191`,
      decode: mismatch.decode === 0 ? 'G.191-exact' : `${mismatch.decode}/256 codes differ from G.191`,
    };
  });
  const cases: { group: string; isEncode: boolean; op: (codec: Codec) => () => void }[] = [
    { group: groups.encFrame, isEncode: true, op: (codec) => () => consume(codec.encodeFrames(pcmFrames, outCodesFrame)) },
    { group: groups.decFrame, isEncode: false, op: (codec) => () => consume(codec.decodeFrames(codeFrames, outPcmFrame)) },
    { group: groups.encBulk, isEncode: true, op: (codec) => () => consume(codec.encode(bulkPcm, outCodes)[0]!) },
    { group: groups.decBulk, isEncode: false, op: (codec) => () => consume(codec.decode(bulkCodes, outPcm)[0]!) },
  ];
  for (const c of cases) {
    const timings = timeGroup(codecs.map((codec) => ({ op: c.op(codec), framesPerOp: BULK_FRAMES })), timing);
    codecs.forEach((codec, k) => {
      rows.push({
        group: c.group,
        impl: c.isEncode ? codec.encodeName : codec.decodeName,
        isNative: codec.isNative,
        nsPerFrame: timings[k]!.nsPerFrame,
        quality: c.isEncode ? quality[k]!.encode : quality[k]!.decode,
        ...(codec.note ? { note: codec.note } : {}),
      });
    });
  }
  const order = Object.values(groups);

  const targets = order.map((group) => {
    const native = fastestNative(rows, group)!;
    const peer = fastestPeer(rows, group)!;
    const ratio = peer.nsPerFrame / native.nsPerFrame;
    const alaw = rows.find((r) => r.group === group && r.impl.startsWith('alawmulaw'))!;
    return {
      target: `mu-law ${group}: native >= 10x fastest JS/WASM peer`,
      measured: `${fmtRatio(ratio)} vs ${peer.impl} (${native.impl}); ${fmtRatio(alaw.nsPerFrame / native.nsPerFrame)} vs alawmulaw`,
      isMet: ratio >= 10,
    };
  });
  const ns = (group: string, impl: string): number => rows.find((r) => r.group === group && r.impl === impl)!.nsPerFrame;
  const crossingEnc = ns(groups.encFrame, 'native mulawEncodeInto') - ns(groups.encBulk, 'native mulawEncodeInto');
  const crossingDec = ns(groups.decFrame, 'native mulawDecodeInto') - ns(groups.decBulk, 'native mulawDecodeInto');
  const allocEnc = ns(groups.encFrame, 'native mulawEncode') - ns(groups.encFrame, 'native mulawEncodeInto');
  const allocDec = ns(groups.decFrame, 'native mulawDecode') - ns(groups.decFrame, 'native mulawDecodeInto');
  const notes = [
    `One call per frame: the call into the addon costs about ${fmtNs(crossingEnc)} (encode) / ${fmtNs(crossingDec)} (decode) per call (per-frame time minus bulk time per frame), ` +
      `comparable to a JS table lookup over all 160 samples (${fmtNs(ns(groups.encFrame, 'plain JS, G.191 table'))} / ${fmtNs(ns(groups.decFrame, 'plain JS, G.191 table'))}), ` +
      'so per frame the native codec cannot reach 10x a table-driven JS one; in bulk, without the crossing, it is ' +
      `${fmtRatio(ns(groups.encBulk, 'plain JS, G.191 table') / ns(groups.encBulk, 'native mulawEncodeInto'))} / ` +
      `${fmtRatio(ns(groups.decBulk, 'plain JS, G.191 table') / ns(groups.decBulk, 'native mulawDecodeInto'))} faster. ` +
      'The server does not call it per frame: inbound frames go through InboundBatcher (one crossing per tick, see below).',
    `mulawEncode/mulawDecode (allocating) cost about ${fmtNs(allocEnc)} / ${fmtNs(allocDec)} more per call than the Into versions: the new typed array for every frame, handed to the addon.`,
    'alawmulaw encodes with the classic CLIP = 32635 / BIAS = 0x84 algorithm, which differs from ITU-T G.191 on 127 of the 65,536 inputs; its decoder matches.',
  ];
  return {
    title: 'G.711 mu-law (160-sample frames; bulk = 500 frames of conv-en in one call)',
    table: speedTable(rows),
    targets,
    notes,
  };
}
