/**
 * G.711 mu-law, native vs `alawmulaw` (the JS package people use: the peer, against which its 10x target is
 * checked) and a plain-JS table codec (not a package: an extra, stricter baseline written here), per 160-sample frame
 * (one call per frame, the way the edge sees frames) and in bulk (10 s in one call). Both ratios are reported. Quality
 * = how many of the 65,536 int16 inputs / 256 codes differ from the ITU-T G.191 reference fixtures.
 */

import alawmulaw from 'alawmulaw';

import { MULAW_KERNEL, mulawDecode, mulawDecodeInto, mulawEncode, mulawEncodeInto } from '../../src/audio/dsp.js';
import { jsMulawDecodeInto, jsMulawEncodeInto } from './js-mulaw.js';
import { BULK_FRAMES, mulawInputs, SAMPLES_PER_FRAME, timePortableKernel } from './mulaw-portable-kernel.js';
import {
  fastestNative, fastestPeer, fixture, fmtNs, fmtRatio, speedTable, type SectionResult, type SpeedRow, type Table,
} from './report.js';
import { consume, timeGroup, type TimingOptions } from './timing.js';

const PACKAGE_PEER = 'alawmulaw';
const TABLE_BASELINE = 'plain JS, G.191 table';

interface Codec {
  encodeName: string;
  decodeName: string;
  isNative: boolean;
  /** A published JS/WASM package (the peers); false for the hand-written baseline. Natives: false. */
  isPackage: boolean;
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
    isPackage: false,
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
    isPackage: false,
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
    isPackage: true,
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
    encodeName: TABLE_BASELINE,
    decodeName: TABLE_BASELINE,
    isNative: false,
    isPackage: false,
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
  const { bulkCodes, bulkPcm, codeFrames, pcmFrames } = mulawInputs();
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
  // The portable kernel, when this process runs another one: timed first, alone, in a child process.
  const portable = MULAW_KERNEL === 'scalar' ? undefined : timePortableKernel(timing);
  const portableNs = { [groups.encFrame]: portable?.encodeFrame, [groups.decFrame]: portable?.decodeFrame,
    [groups.encBulk]: portable?.encodeBulk, [groups.decBulk]: portable?.decodeBulk };
  for (const c of cases) {
    const timings = timeGroup(codecs.map((codec) => ({ op: c.op(codec), framesPerOp: BULK_FRAMES })), timing);
    codecs.forEach((codec, k) => {
      rows.push({
        group: c.group,
        impl: c.isEncode ? codec.encodeName : codec.decodeName,
        isNative: codec.isNative,
        // "native speedup" and the target are against the packages; the table baseline gets its own ratio below.
        isPeerEligible: codec.isPackage,
        nsPerFrame: timings[k]!.nsPerFrame,
        quality: c.isEncode ? quality[k]!.encode : quality[k]!.decode,
        ...(codec.note ? { note: codec.note } : {}),
      });
    });
    if (portable) {
      const mismatches = c.isEncode ? portable.encodeMismatches : portable.decodeMismatches;
      rows.push({
        group: c.group,
        impl: `${c.isEncode ? 'native mulawEncodeInto' : 'native mulawDecodeInto'}, portable kernel`,
        isNative: true,
        nsPerFrame: portableNs[c.group]!,
        quality: mismatches === 0 ? 'G.191-exact' : `${mismatches}/${c.isEncode ? 65536 : 256} differ from G.191`,
        note: 'AI_CRMD_MULAW_KERNEL=scalar (table lookups), timed in a child process',
      });
    }
  }
  const order = Object.values(groups);

  const ns = (group: string, impl: string): number => rows.find((r) => r.group === group && r.impl === impl)!.nsPerFrame;
  const targets = order.map((group) => {
    const native = fastestNative(rows, group)!;
    const peer = fastestPeer(rows, group)!;   // the fastest package: alawmulaw
    const ratio = peer.nsPerFrame / native.nsPerFrame;
    const baselineRatio = ns(group, TABLE_BASELINE) / native.nsPerFrame;
    return {
      target: `mu-law ${group}: native >= 10x the fastest JS/WASM package peer (${PACKAGE_PEER})`,
      measured: `${fmtRatio(ratio)} vs ${peer.impl} (${native.impl}); ` +
        `${fmtRatio(baselineRatio)} vs the extra hand-written baseline (${TABLE_BASELINE}, not a package)`,
      isMet: ratio >= 10,
    };
  });
  const crossingEnc = ns(groups.encFrame, 'native mulawEncodeInto') - ns(groups.encBulk, 'native mulawEncodeInto');
  const crossingDec = ns(groups.decFrame, 'native mulawDecodeInto') - ns(groups.decBulk, 'native mulawDecodeInto');
  const allocEnc = ns(groups.encFrame, 'native mulawEncode') - ns(groups.encFrame, 'native mulawEncodeInto');
  const allocDec = ns(groups.decFrame, 'native mulawDecode') - ns(groups.decFrame, 'native mulawDecodeInto');
  const notes = [
    `Peers: the issue's target is 10x the fastest JS/WASM package people use; for mu-law that is ${PACKAGE_PEER}, and "native speedup" and the targets are against it. ` +
      `"${TABLE_BASELINE}" (bench/dsp/js-mulaw.ts) is not a package but an extra, stricter baseline written for this benchmark (what a careful author would write by hand); ` +
      'each native row also gives its ratio to it.',
    `Native kernel in this run: ${MULAW_KERNEL} (chosen when the addon loads: AVX2 on x86-64 CPUs that have it, 16 samples per instruction; ` +
      'otherwise, or with AI_CRMD_MULAW_KERNEL=scalar, the portable table lookups). Both kernels are G.191-exact (test/audio/mulaw-matches-g191.test.ts). ' +
      (portable
        ? `The portable kernel's rows come from a child process run just before the others (not interleaved with them); in bulk the AVX2 kernel is ` +
          `${fmtRatio(portable.encodeBulk / ns(groups.encBulk, 'native mulawEncodeInto'))} / ${fmtRatio(portable.decodeBulk / ns(groups.decBulk, 'native mulawDecodeInto'))} faster than it (encode / decode).`
        : ''),
    `One call per frame: the call into the addon costs about ${fmtNs(crossingEnc)} (encode) / ${fmtNs(crossingDec)} (decode) per call ` +
      `(per-frame time minus bulk time per frame), against the codec's own ${fmtNs(ns(groups.encBulk, 'native mulawEncodeInto'))} / ` +
      `${fmtNs(ns(groups.decBulk, 'native mulawDecodeInto'))} per frame. mulawEncodeInto/mulawDecodeInto read each typed array with one N-API call ` +
      '(the checked node-addon-api accessors used elsewhere in the addon make four per argument), which keeps the crossing small. ' +
      `The table baseline's 160 lookups (${fmtNs(ns(groups.encFrame, TABLE_BASELINE))} / ${fmtNs(ns(groups.decFrame, TABLE_BASELINE))}) take only a few crossings, ` +
      `so against it one frame per call stays at ${fmtRatio(ns(groups.encFrame, TABLE_BASELINE) / ns(groups.encFrame, 'native mulawEncodeInto'))} / ` +
      `${fmtRatio(ns(groups.decFrame, TABLE_BASELINE) / ns(groups.decFrame, 'native mulawDecodeInto'))}. ` +
      'The server does not call it per frame: inbound frames go through InboundBatcher (one crossing per tick, see below), which decodes with the same kernel.',
    `mulawEncode/mulawDecode (allocating) cost about ${fmtNs(allocEnc)} / ${fmtNs(allocDec)} more per call than the Into versions: the new typed array for every frame, handed to the addon.`,
    'alawmulaw encodes with the classic CLIP = 32635 / BIAS = 0x84 algorithm, which differs from ITU-T G.191 on 127 of the 65,536 inputs; its decoder matches.',
  ];
  return {
    title: 'G.711 mu-law (160-sample frames; bulk = 500 frames of conv-en in one call)',
    table: withBaselineRatio(speedTable(rows), rows, order),
    targets,
    notes,
  };
}

/** Adds each native row's ratio to the hand-written table baseline to its "native speedup" cell (the cell itself is
 * against the fastest package). speedTable keeps the rows' order, so row k of the table is rows[k]. */
function withBaselineRatio(table: Table, rows: readonly SpeedRow[], groups: readonly string[]): Table {
  const column = table.header.indexOf('native speedup');
  const baseline = new Map(groups.map((g) => [g, rows.find((r) => r.group === g && r.impl === TABLE_BASELINE)!.nsPerFrame]));
  return {
    ...table,
    rows: table.rows.map((cells, k) => {
      const row = rows[k]!;
      if (!row.isNative) return cells;
      const out = [...cells];
      out[column] = `${cells[column]}; ${fmtRatio(baseline.get(row.group)! / row.nsPerFrame)} vs ${TABLE_BASELINE}`;
      return out;
    }),
  };
}
