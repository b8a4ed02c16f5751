// What a caller heard, as one mu-law timeline: bytes written at their playout position, silence everywhere else,
// growing as needed; a clear erases what was queued but not yet played.
import { MULAW_SILENCE_BYTE, SAMPLE_RATE_HZ } from '../twilio/media-format.js';

/** Room for one second of audio to begin with (mu-law: one byte per sample). */
const INITIAL_CAPACITY_BYTES = SAMPLE_RATE_HZ;

/** A growable mu-law buffer pre-filled with silence. */
export class MulawTimeline {
  private bytes = new Uint8Array(INITIAL_CAPACITY_BYTES).fill(MULAW_SILENCE_BYTE);
  length = 0;
  private ensure(size: number): void {
    if (size <= this.bytes.length) return;
    let capacity = this.bytes.length;
    while (capacity < size) capacity *= 2;
    const next = new Uint8Array(capacity).fill(MULAW_SILENCE_BYTE);
    next.set(this.bytes.subarray(0, this.length));
    this.bytes = next;
  }
  write(at: number, data: Uint8Array): void {
    this.ensure(at + data.length);
    this.bytes.set(data, at);
    this.length = Math.max(this.length, at + data.length);
  }
  /** Silences [from, to) and shortens the timeline when that was its end. */
  erase(from: number, to: number): void {
    if (to <= from || from >= this.length) return;
    this.bytes.fill(MULAW_SILENCE_BYTE, from, Math.min(to, this.length));
    if (to >= this.length) this.length = from;
  }
  toBytes(): Uint8Array {
    return this.bytes.slice(0, this.length);
  }
}
