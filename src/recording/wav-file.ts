// The WAV form of a call's recording: 16-bit PCM, 8000 Hz, two channels (1 the caller, 2 the agent), a 44-byte
// header and the interleaved samples. The writer puts the header first with the sizes it knows and writes the real
// sizes when a stream ends; a file a crash left (its sizes 0 or short) is read by its length instead: the reader and
// the writer both take the data size from the file's length, whole sample frames only, never from the header.
import { SAMPLE_RATE_HZ } from '../twilio/media-format.js';

export const WAV_HEADER_BYTES = 44;
export const WAV_CHANNELS = 2;
export const WAV_BITS_PER_SAMPLE = 16;
/** Bytes of one sample frame (both channels). */
export const WAV_FRAME_BYTES = WAV_CHANNELS * (WAV_BITS_PER_SAMPLE / 8);
/** The RIFF size field is 32 bits: a data chunk larger than this cannot be described. */
const MAX_DATA_BYTES = 0xffff_ffff - (WAV_HEADER_BYTES - 8);

/** The 44-byte header of a recording whose data chunk holds `dataBytes`. */
export function recordingWavHeader(dataBytes: number): Buffer {
  const data = Math.min(dataBytes, MAX_DATA_BYTES);
  const header = Buffer.alloc(WAV_HEADER_BYTES);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(WAV_HEADER_BYTES - 8 + data, 4);
  header.write('WAVE', 8, 'ascii');
  header.write('fmt ', 12, 'ascii');
  header.writeUInt32LE(16, 16); // PCM's fmt chunk
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(WAV_CHANNELS, 22);
  header.writeUInt32LE(SAMPLE_RATE_HZ, 24);
  header.writeUInt32LE(SAMPLE_RATE_HZ * WAV_FRAME_BYTES, 28); // byte rate
  header.writeUInt16LE(WAV_FRAME_BYTES, 32); // block align
  header.writeUInt16LE(WAV_BITS_PER_SAMPLE, 34);
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(data, 40);
  return header;
}

/** The data bytes a recording file of `fileBytes` holds: whole sample frames after the header (0 when shorter). */
export function recordingDataBytes(fileBytes: number): number {
  const data = Math.max(0, fileBytes - WAV_HEADER_BYTES);
  return Math.min(MAX_DATA_BYTES, data - (data % WAV_FRAME_BYTES));
}

/** Where `callSid`'s recording is under `dir` (callSid already checked against CALL_SID_PATTERN). */
export function recordingFileName(callSid: string): string {
  return `${callSid}.wav`;
}
