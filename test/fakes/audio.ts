// Audio the fake provider servers answer with, built without any of our own code: a quiet sine tone that starts at
// zero phase (so a WAV header played as audio would stand out as a loud first frame), WAV files around it the way
// Google wraps LINEAR16 and MULAW, a textbook G.711 mu-law encoder, and a WAV parser for what our server uploads.

/** 16-bit PCM tone: `ms` long at `rateHz`, `amplitude` in sample units, starting at zero phase. */
export function tonePcm(rateHz: number, ms: number, frequencyHz = 300, amplitude = 2000): Int16Array {
  const n = Math.round((rateHz * ms) / 1000);
  const pcm = new Int16Array(n);
  for (let i = 0; i < n; i++) pcm[i] = Math.round(amplitude * Math.sin((2 * Math.PI * frequencyHz * i) / rateHz));
  return pcm;
}

export function pcmBytes(pcm: Int16Array): Buffer {
  return Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength);
}

/** Textbook G.711 mu-law (bias 0x84, clip 32635). */
export function mulawEncodeSample(sample: number): number {
  const sign = sample < 0 ? 0x80 : 0;
  let magnitude = Math.min(Math.abs(sample), 32635) + 0x84;
  let exponent = 7;
  for (let mask = 0x4000; (magnitude & mask) === 0 && exponent > 0; mask >>= 1) exponent--;
  const mantissa = (magnitude >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

export function mulawEncode(pcm: Int16Array): Buffer {
  const out = Buffer.alloc(pcm.length);
  for (let i = 0; i < pcm.length; i++) out[i] = mulawEncodeSample(pcm[i] as number);
  return out;
}

/** A RIFF/WAVE file: format 1 (PCM, 16-bit) or 7 (mu-law, 8-bit), mono. */
export function wavFile(formatCode: 1 | 7, rateHz: number, data: Buffer): Buffer {
  const bits = formatCode === 1 ? 16 : 8;
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(36 + data.length, 4);
  header.write('WAVE', 8, 'ascii');
  header.write('fmt ', 12, 'ascii');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(formatCode, 20);
  header.writeUInt16LE(1, 22);
  header.writeUInt32LE(rateHz, 24);
  header.writeUInt32LE((rateHz * bits) / 8, 28);
  header.writeUInt16LE(bits / 8, 32);
  header.writeUInt16LE(bits, 34);
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(data.length, 40);
  return Buffer.concat([header, data]);
}

export interface ParsedWav {
  formatCode: number;
  channels: number;
  sampleRateHz: number;
  bitsPerSample: number;
  samples: Int16Array;
}

/** Parses a 16-bit PCM WAV strictly (throws on anything else). */
export function parseWav(bytes: Buffer): ParsedWav {
  if (bytes.toString('ascii', 0, 4) !== 'RIFF' || bytes.toString('ascii', 8, 12) !== 'WAVE') throw new Error('not RIFF/WAVE');
  if (bytes.readUInt32LE(4) !== bytes.length - 8) throw new Error(`RIFF size ${bytes.readUInt32LE(4)} != ${bytes.length - 8}`);
  let at = 12;
  let fmt: Omit<ParsedWav, 'samples'> | undefined;
  while (at + 8 <= bytes.length) {
    const id = bytes.toString('ascii', at, at + 4);
    const size = bytes.readUInt32LE(at + 4);
    if (id === 'fmt ') {
      fmt = {
        formatCode: bytes.readUInt16LE(at + 8),
        channels: bytes.readUInt16LE(at + 10),
        sampleRateHz: bytes.readUInt32LE(at + 12),
        bitsPerSample: bytes.readUInt16LE(at + 22),
      };
    } else if (id === 'data') {
      if (fmt === undefined) throw new Error('data before fmt');
      if (at + 8 + size !== bytes.length) throw new Error(`data size ${size} does not match the file`);
      const data = Buffer.from(bytes.subarray(at + 8, at + 8 + size));
      return { ...fmt, samples: new Int16Array(data.buffer, data.byteOffset, data.length / 2) };
    }
    at += 8 + size + (size & 1);
  }
  throw new Error('no data chunk');
}
