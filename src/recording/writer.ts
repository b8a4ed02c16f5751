// The process's one recording writer (RECORD_AUDIO=on), in the main thread: every edge thread posts its streams'
// one-second mu-law blocks here (src/recording/stream-audio-blocks.ts), and this turns them into each call's WAV
// (DATA_DIR/recordings/<callSid>.wav, src/recording/wav-file.ts): second k of a stream is decoded (G.711, the
// addon), interleaved (caller, agent) and appended once both channels have sent a later block, or the stream ended
// (a block that never came is silence), with fs promises only, one call's writes in order on its own chain, so the edge (even when it runs in this
// thread, EDGE_THREADS=0) never waits on the disk. A call back from a transfer (a second stream) appends to the same
// file: one call, one WAV (the time it was away is not in it; its record's events say when).
// Bounded: blocks waiting to be written hold at most maxQueuedBytes; past that, and for a call whose file the disk
// refused (EACCES, ENOSPC, ...), blocks are dropped and counted (their seconds become silence where the file goes on),
// with one log line per call. A stream whose end never comes (its thread died) is ended after STALE_STREAM_MS.
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { mulawDecode } from '../audio/dsp.js';
import { ErrorKind, LogEvent, log as rootLog, type Logger } from '../observability/log.js';
import { BLOCK_SAMPLES, recordingMessageProblem, type RecordingMessage } from './messages.js';
import { recordingDataBytes, recordingFileName, recordingWavHeader, WAV_FRAME_BYTES, WAV_HEADER_BYTES } from './wav-file.js';

/** Default bound of the blocks waiting to be written: 8 MiB, about 500 call-seconds (both channels). */
export const DEFAULT_MAX_QUEUED_BYTES = 8 * 1024 * 1024;
/** A stream that sent nothing for this long is ended where it is. */
export const STALE_STREAM_MS = 120_000;
const STALE_CHECK_INTERVAL_MS = 30_000;

export interface RecordingWriterOptions {
  /** The recordings folder (config.recordAudio.dir); created when the first file is. */
  dir: string;
  maxQueuedBytes?: number;
  log?: Logger;
  /** A stream's audio is in its call's file, header sizes written: `durationMs` is the whole file's. */
  onRecorded?: (recorded: { callSid: string; streamSid: string; durationMs: number; atMs: number }) => void;
}

/** The writer's counters (shown on /metrics as aicrmd_records_audio_*). */
export interface RecordingCounters {
  audioSecondsWritten: number;
  audioBlocksDropped: number;
  audioWriteFailures: number;
  audioQueuedBytes: number;
  audioMessagesRejected: number;
}

interface StreamState {
  readonly key: string;
  readonly callSid: string;
  readonly streamSid: string;
  /** Blocks received and not yet written, by block index: [caller, agent]. */
  readonly blocks: Map<number, [Uint8Array | undefined, Uint8Array | undefined]>;
  /** The highest block index each channel has sent (a lower one not here was dropped or silent). */
  readonly sentThrough: [number, number];
  nextBlock: number;
  /** Samples the stream holds, once it ended. */
  endSample: number | null;
  lastMessageAtMs: number;
}

interface CallFile {
  readonly callSid: string;
  readonly path: string;
  handle: FileHandle | null;
  dataBytes: number;
  /** This call's file operations, in order. */
  chain: Promise<void>;
  /** Streams of this call, oldest first: only the first one's seconds are written. */
  readonly streams: StreamState[];
  isFailed: boolean;
  hasLoggedDrop: boolean;
}

export class RecordingWriter {
  private readonly dir: string;
  private readonly maxQueuedBytes: number;
  private readonly log: Logger;
  private readonly counters: RecordingCounters = {
    audioSecondsWritten: 0, audioBlocksDropped: 0, audioWriteFailures: 0, audioQueuedBytes: 0, audioMessagesRejected: 0,
  };
  private readonly files = new Map<string, CallFile>();
  private readonly streams = new Map<string, StreamState>();
  private readonly staleTimer: NodeJS.Timeout;

  constructor(private readonly options: RecordingWriterOptions) {
    this.dir = options.dir;
    this.maxQueuedBytes = options.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES;
    this.log = options.log ?? rootLog;
    this.staleTimer = setInterval(() => this.endStaleStreams(Date.now() - STALE_STREAM_MS), STALE_CHECK_INTERVAL_MS);
    this.staleTimer.unref();
  }

  readCounters(): Readonly<RecordingCounters> {
    return this.counters;
  }

  /** One message from an edge thread. Never throws, never waits. */
  accept(message: RecordingMessage): void {
    const problem = recordingMessageProblem(message);
    if (problem !== undefined) {
      this.counters.audioMessagesRejected++;
      return;
    }
    const stream = this.streamFor(message.callSid, message.streamSid);
    stream.lastMessageAtMs = Date.now();
    switch (message.kind) {
      case 'audio-start':
        return;
      case 'audio-block': {
        if (stream.endSample !== null || message.blockIndex < stream.nextBlock) return; // late: that second is written
        const { channel, blockIndex } = message;
        if (blockIndex > stream.sentThrough[channel]) stream.sentThrough[channel] = blockIndex;
        const file = this.files.get(message.callSid)!;
        if (file.isFailed || this.counters.audioQueuedBytes + BLOCK_SAMPLES > this.maxQueuedBytes) {
          this.drop(file, 1, file.isFailed ? 'the recording file cannot be written' : 'the recording writer is behind (queue full)');
        } else {
          let pair = stream.blocks.get(blockIndex);
          if (pair === undefined) {
            pair = [undefined, undefined];
            stream.blocks.set(blockIndex, pair);
          }
          if (pair[channel] === undefined) this.counters.audioQueuedBytes += BLOCK_SAMPLES;
          pair[channel] = message.mulaw;
        }
        this.writeDue(file);
        return;
      }
      case 'audio-end':
        this.endStream(stream, message.endSample);
        return;
    }
  }

  /** Ends every stream where it is and waits (at most `timeoutMs`) for the files to be complete. */
  async close(timeoutMs: number): Promise<void> {
    clearInterval(this.staleTimer);
    this.endStaleStreams(Number.POSITIVE_INFINITY);
    const chains = [...this.files.values()].map((file) => file.chain);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(chains),
      new Promise<void>((done) => {
        timer = setTimeout(done, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
  }

  private streamFor(callSid: string, streamSid: string): StreamState {
    const key = `${callSid}/${streamSid}`;
    let stream = this.streams.get(key);
    if (stream !== undefined) return stream;
    stream = { key, callSid, streamSid, blocks: new Map(), sentThrough: [-1, -1], nextBlock: 0, endSample: null, lastMessageAtMs: Date.now() };
    this.streams.set(key, stream);
    let file = this.files.get(callSid);
    if (file === undefined) {
      file = {
        callSid, path: join(this.dir, recordingFileName(callSid)), handle: null, dataBytes: 0, chain: Promise.resolve(), streams: [],
        isFailed: false, hasLoggedDrop: false,
      };
      this.files.set(callSid, file);
    }
    file.streams.push(stream);
    return stream;
  }

  private endStream(stream: StreamState, endSample: number): void {
    if (stream.endSample !== null) return;
    stream.endSample = Math.max(endSample, 0);
    const file = this.files.get(stream.callSid);
    if (file !== undefined) this.writeDue(file);
  }

  private endStaleStreams(olderThanMs: number): void {
    for (const stream of [...this.streams.values()]) {
      if (stream.endSample !== null || stream.lastMessageAtMs > olderThanMs) continue;
      this.endStream(stream, (Math.max(stream.sentThrough[0], stream.sentThrough[1]) + 1) * BLOCK_SAMPLES);
    }
  }

  /** Queues on the call's chain every second of its first stream that can be written now, and that stream's end. */
  private writeDue(file: CallFile): void {
    for (;;) {
      const stream = file.streams[0];
      if (stream === undefined) return;
      for (;;) {
        const k = stream.nextBlock;
        const end = stream.endSample;
        if (end !== null && k * BLOCK_SAMPLES >= end) break;
        // until the end, a second is written once both channels sent a later one: a stream's last blocks are partial
        if (end === null && (stream.sentThrough[0] <= k || stream.sentThrough[1] <= k)) return;
        const pair = stream.blocks.get(k);
        stream.blocks.delete(k);
        stream.nextBlock = k + 1;
        const samples = end === null ? BLOCK_SAMPLES : Math.min(BLOCK_SAMPLES, end - k * BLOCK_SAMPLES);
        this.chain(file, () => this.writeSecond(file, pair?.[0], pair?.[1], samples));
      }
      // the stream is over: its header sizes, then the next stream of the call (a transfer came back)
      file.streams.shift();
      this.streams.delete(stream.key);
      for (const pair of stream.blocks.values()) this.release(pair);
      stream.blocks.clear();
      this.chain(file, () => this.finishStream(file, stream));
      if (file.streams.length === 0) {
        const chainAtEnd = file.chain;
        void chainAtEnd.then(() => {
          if (file.chain === chainAtEnd && file.streams.length === 0 && this.files.get(file.callSid) === file) this.files.delete(file.callSid);
        });
      }
    }
  }

  private chain(file: CallFile, step: () => Promise<void>): void {
    file.chain = file.chain.then(step).catch((error: unknown) => this.fail(file, error));
  }

  private async writeSecond(file: CallFile, caller: Uint8Array | undefined, agent: Uint8Array | undefined, samples: number): Promise<void> {
    const blocks = (caller !== undefined ? 1 : 0) + (agent !== undefined ? 1 : 0);
    this.release([caller, agent]);
    if (file.isFailed) {
      if (blocks > 0) this.drop(file, blocks, 'the recording file cannot be written');
      return;
    }
    try {
      const handle = await this.handleOf(file);
      const pcm = new Int16Array(samples * 2);
      if (caller !== undefined) interleave(mulawDecode(caller), pcm, 0, samples);
      if (agent !== undefined) interleave(mulawDecode(agent), pcm, 1, samples);
      // Int16Array is little-endian on every platform Node runs us on (x86-64, arm64), as WAV wants
      const bytes = new Uint8Array(pcm.buffer, 0, samples * WAV_FRAME_BYTES);
      await handle.write(bytes, 0, bytes.length, WAV_HEADER_BYTES + file.dataBytes);
      file.dataBytes += bytes.length;
      this.counters.audioSecondsWritten += samples / BLOCK_SAMPLES;
    } catch (error) {
      if (blocks > 0) this.drop(file, blocks, 'the recording file cannot be written');
      throw error;
    }
  }

  /** Opens the call's file: a new one with its header, or one a stream before (or a crash) left, appended to. */
  private async handleOf(file: CallFile): Promise<FileHandle> {
    if (file.handle !== null) return file.handle;
    await mkdir(this.dir, { recursive: true });
    let handle: FileHandle;
    try {
      handle = await open(file.path, 'r+');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      handle = await open(file.path, 'w+');
    }
    try {
      const { size } = await handle.stat();
      file.dataBytes = recordingDataBytes(size);
      await handle.write(recordingWavHeader(file.dataBytes), 0, WAV_HEADER_BYTES, 0);
    } catch (error) {
      await handle.close().catch(() => undefined);
      throw error;
    }
    file.handle = handle;
    return handle;
  }

  private async finishStream(file: CallFile, stream: StreamState): Promise<void> {
    if (file.isFailed) return;
    const handle = await this.handleOf(file); // a stream with no audio at all still leaves its (empty) file
    await handle.write(recordingWavHeader(file.dataBytes), 0, WAV_HEADER_BYTES, 0);
    file.handle = null;
    await handle.close();
    const durationMs = Math.round((file.dataBytes / WAV_FRAME_BYTES) * 1000 / BLOCK_SAMPLES);
    this.log.info({ event: LogEvent.RECORDING_DONE, callSid: file.callSid, streamSid: stream.streamSid, durationMs, path: file.path }, 'call audio recorded');
    this.options.onRecorded?.({ callSid: file.callSid, streamSid: stream.streamSid, durationMs, atMs: Date.now() });
  }

  private fail(file: CallFile, error: unknown): void {
    this.counters.audioWriteFailures++;
    const handle = file.handle;
    file.handle = null;
    void handle?.close().catch(() => undefined);
    if (file.isFailed) return;
    file.isFailed = true;
    this.log.error({
      event: LogEvent.RECORDING_WRITE_FAILED, errKind: ErrorKind.DISK, callSid: file.callSid, path: file.path,
      code: (error as NodeJS.ErrnoException).code, err: error,
    }, 'the call\'s recording cannot be written; its audio is dropped (the call goes on)');
  }

  private drop(file: CallFile, blocks: number, reason: string): void {
    this.counters.audioBlocksDropped += blocks;
    if (file.hasLoggedDrop) return;
    file.hasLoggedDrop = true;
    this.log.error({ event: LogEvent.RECORDING_DROPPED, errKind: ErrorKind.DISK, callSid: file.callSid, reason }, 'blocks of the call\'s recording dropped');
  }

  private release(pair: [Uint8Array | undefined, Uint8Array | undefined]): void {
    for (const block of pair) if (block !== undefined) this.counters.audioQueuedBytes -= BLOCK_SAMPLES;
  }
}

/** Writes `samples` of `mono` into every other slot of `stereo` from `channel`. */
function interleave(mono: Int16Array, stereo: Int16Array, channel: number, samples: number): void {
  for (let i = 0, j = channel; i < samples; i++, j += 2) stereo[j] = mono[i]!;
}
