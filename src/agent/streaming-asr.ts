// A call's streaming transcription: the caller's audio goes to the realtime transcription socket while the turn is
// spoken, so that the transcript is (nearly) ready when the turn ends; the batch upload stays as the fallback.
// Audio: each ~100 ms batch from the engine (8 kHz, Agent.onTurnAudio) is resampled to 24 kHz in-thread by the
// addon's streaming resampler (state kept across a turn's batches, reset at each onset; the filter's group delay is
// dropped at the start and its tail flushed at the end, so the server gets exactly 3 samples per turn sample), then
// base64'd and appended. A turn is streamed only when the socket is ready at its onset and takes every batch; else
// (not connected yet, a send buffer that cannot keep up, a socket that failed mid-turn) the turn goes to the batch route.
// At the turn's end (transcribe): the commit's transcript is waited for alone for waitMs; after that the batch
// upload of the same audio starts and the two race (the first transcript wins, the other is aborted or ignored); a
// failed commit or socket starts the batch at once. Everything stays under the turn's signal (its budget, barge-in).
// Pauses (an agent that answers early): at a pause inside the turn the audio so far is committed as a segment of its
// own (commitSegment), so that its words are known before the turn ends. If the pause becomes the turn's end, the
// turn's transcript is its segments' (the quiet audio after the last one is dropped, nothing more is committed);
// if the caller went on, the rest is committed at the end and the turn's transcript joins all of them.
// Barge-in words (commitBargeInProbe): while the caller speaks over the agent, the audio so far is committed early
// to learn its words (a backchannel or not), and then appended again, so that the server's buffer holds the turn's
// audio as before and the turn's transcript comes whole from its own commit(s): the probe's words decide the barge-in
// only, they never join the turn's text (a probe cut mid-word would otherwise split a word in two). For the replay,
// the 24 kHz audio sent since the turn's last commit is kept, up to MAX_PROBE_REPLAY_MS (one buffer per call, grown
// on demand); a turn that sent more before its probe gets none (the speech time decides its barge-in). At most one
// probe per turn.
import type { Logger } from 'pino';
import { Resampler } from '../audio/dsp.js';
import { REALTIME_SAMPLE_RATE_HZ, type PendingTranscript } from './openai-realtime-transcriber.js';
import { DeadlineExceeded, toProviderError } from './provider-call.js';
import { ProviderError } from './types.js';

/** What this needs of the realtime socket (OpenAIRealtimeTranscriber; a test may give another). */
export interface RealtimeTranscriptionSocket {
  readonly name: string;
  readonly isReady: boolean;
  open(log?: Logger): void;
  beginTurn(): boolean;
  append(pcm24k: Int16Array, from: number, to: number): boolean;
  clear(): void;
  commit(): PendingTranscript;
  close(): void;
}

/** After the turn's end, the streamed transcript is waited for alone this long before the batch upload starts. */
export const DEFAULT_STREAMING_WAIT_MS = 500;

export interface StreamedTranscript {
  text: string;
  /** Which route's transcript it is. */
  via: 'stream' | 'batch';
  /** Why the batch route ran (undefined when the stream answered). */
  fallbackReason?: 'not-streamed' | 'stream-failed' | 'stream-late';
}

export class StreamingAsr {
  readonly socket: RealtimeTranscriptionSocket;
  private readonly waitMs: number;
  private readonly resampler = new Resampler(8000, REALTIME_SAMPLE_RATE_HZ);
  /** 24 kHz output of one batch (grown when a batch is longer than any before, which a forced end can make). */
  private out = new Int16Array(0);
  private turnId = 0;
  private isStreaming = false;
  /** Output samples still to drop at the turn's start (the resampler's group delay). */
  private delayLeft = 0;
  /** 24 kHz samples appended for the current turn (tests, logs). */
  samplesSent = 0;
  /** The current turn's segments committed at its pauses, and whether the caller has been quiet since the last one. */
  private segments: PendingTranscript[] = [];
  private isQuietSinceSegment = false;
  /** The 24 kHz audio appended since the turn's last commit (for a barge-in probe's replay), while it fits. */
  private sinceCommit = new Int16Array(0);
  private sinceCommitLength = 0;
  private isReplayable = false;
  /** The current turn began over the agent and may be probed: only then is its audio kept for a replay. */
  private mayBeProbed = true;
  /** The current turn's barge-in probe (at most one). */
  private probe: PendingTranscript | undefined;
  /** Barge-in probes committed (tests, logs). */
  probes = 0;

  constructor(socket: RealtimeTranscriptionSocket, waitMs = DEFAULT_STREAMING_WAIT_MS) {
    this.socket = socket;
    this.waitMs = waitMs;
  }

  /** At call start: the socket opens and stays open for the call; `log` is the call's. */
  open(log?: Logger): void {
    this.socket.open(log);
  }

  /**
   * A turn began. `mayBeProbed`: it began over the agent, so commitBargeInProbe may come for it; only then is its
   * audio kept for the probe's replay (up to MAX_PROBE_REPLAY_SAMPLES a call, otherwise copied for nothing).
   */
  onTurnStarted(turnId: number, mayBeProbed = true): void {
    this.turnId = turnId;
    this.mayBeProbed = mayBeProbed;
    this.resampler.reset();
    this.delayLeft = this.resampler.delaySamples;
    this.samplesSent = 0;
    this.dropSegments();
    this.dropProbe();
    this.isStreaming = this.socket.isReady && this.socket.beginTurn();
    if (!this.isStreaming) this.socket.open(); // reconnects unless it is already trying
  }

  /** Per batch (~100 ms, never per frame): resampled, base64'd and appended; `pcm8k` is not kept. */
  onTurnAudio(turnId: number, pcm8k: Int16Array): void {
    if (!this.isStreaming || turnId !== this.turnId) return;
    const needed = this.resampler.outputLengthFor(pcm8k.length);
    if (this.out.length < needed) this.out = new Int16Array(Math.max(needed, 2 * this.out.length));
    const written = this.resampler.processInto(pcm8k, this.out);
    this.send(this.out, written);
  }

  onTurnAbandoned(turnId: number): void {
    if (turnId !== this.turnId || !this.isStreaming) return;
    this.isStreaming = false;
    this.dropSegments();
    this.dropProbe();
    this.socket.clear();
  }

  /**
   * A pause inside the turn: the audio so far is committed as a segment; resolves to the turn's words so far (all its
   * segments'). Undefined when the turn is not being streamed. Rejects with a ProviderError.
   */
  commitSegment(turnId: number): Promise<string> | undefined {
    if (turnId !== this.turnId || !this.isStreaming || this.segments.length >= MAX_SEGMENTS_PER_TURN) return undefined;
    this.segments.push(this.socket.commit());
    this.isQuietSinceSegment = true;
    // the server's buffer is empty again: a probe (none yet) replays only what follows
    this.sinceCommitLength = 0;
    this.isReplayable = this.probe === undefined && this.mayBeProbed;
    const words = joined(this.segments);
    words.catch(() => undefined);
    return words;
  }

  /**
   * While the caller speaks over the agent: the audio so far is committed to learn its words, then appended again
   * (the turn's own commit still gets all of it). Resolves to the probe's words only (never part of the turn's text).
   * Undefined when the turn is not streamed, already probed, has less than the API's 100 ms to commit, or sent more
   * than a replay keeps. Rejects with a ProviderError.
   */
  commitBargeInProbe(turnId: number): Promise<string> | undefined {
    if (turnId !== this.turnId || !this.isStreaming || this.probe !== undefined || !this.isReplayable) return undefined;
    if (this.sinceCommitLength < MIN_COMMIT_SAMPLES) return undefined;
    const probe = this.socket.commit();
    this.probe = probe;
    this.probes++;
    // the same audio again: the server's buffer is as it was before the probe, the turn's text comes from it whole
    const length = this.sinceCommitLength;
    this.isReplayable = false; // one probe per turn: nothing more to keep
    if (this.socket.append(this.sinceCommit, 0, length)) {
      this.samplesSent += length;
    } else {
      this.isStreaming = false; // the socket cannot take it: the batch route answers the turn (the probe may still)
      this.socket.clear();
    }
    return probe.promise;
  }

  /** The caller speaks again after a pause: the turn's end will commit what follows. */
  onTurnResumed(turnId: number): void {
    if (turnId === this.turnId) this.isQuietSinceSegment = false;
  }

  /**
   * The turn's end: its transcript from the stream when it was streamed (within waitMs, or racing the batch upload
   * after that), else from `batch`. Throws the batch's ProviderError when neither gives one, or when `signal` aborts.
   */
  async transcribe(turnId: number, signal: AbortSignal, batch: (signal: AbortSignal) => Promise<string>): Promise<StreamedTranscript> {
    const pending = this.finishTurn(turnId);
    if (pending === undefined) return { text: await batch(signal), via: 'batch', fallbackReason: 'not-streamed' };
    try {
      return await this.race(pending, signal, batch);
    } finally {
      pending.cancel();
    }
  }

  /** A turn that will not be transcribed (too short or quiet for ASR): the server's buffer is dropped. */
  discard(turnId: number): void {
    if (turnId !== this.turnId || !this.isStreaming) return;
    this.isStreaming = false;
    this.dropSegments();
    this.dropProbe();
    this.socket.clear();
  }

  close(): void {
    this.isStreaming = false;
    this.socket.close();
  }

  /** The end of the streamed audio (the resampler's tail) and the commit; undefined when the turn was not streamed. */
  private finishTurn(turnId: number): PendingTranscript | undefined {
    if (turnId !== this.turnId) return undefined;
    this.dropProbe(); // the barge-in it was for is decided: the turn ended
    if (!this.isStreaming) return undefined;
    const parts = this.segments;
    this.segments = [];
    if (parts.length > 0 && this.isQuietSinceSegment) {
      // the pause was the turn's end: its words are the segments'; the quiet audio after them goes
      this.isStreaming = false;
      this.socket.clear();
      return combined(parts);
    }
    const tail = this.resampler.flush(); // once per turn
    this.send(tail, tail.length);
    if (!this.isStreaming) {
      for (const part of parts) part.cancel();
      return undefined;
    }
    this.isStreaming = false;
    return combined([...parts, this.socket.commit()]);
  }

  private dropSegments(): void {
    for (const segment of this.segments) segment.cancel();
    this.segments = [];
    this.isQuietSinceSegment = false;
  }

  /** No probe for the turn (any in flight is not waited for), and a new turn keeps its audio for one. */
  private dropProbe(): void {
    this.probe?.cancel();
    this.probe = undefined;
    this.sinceCommitLength = 0;
    this.isReplayable = this.mayBeProbed;
  }

  /** Keeps a copy of what was appended since the last commit, for a probe's replay, up to MAX_PROBE_REPLAY_SAMPLES. */
  private keepForReplay(pcm24k: Int16Array, from: number, to: number): void {
    const n = to - from;
    const needed = this.sinceCommitLength + n;
    if (needed > MAX_PROBE_REPLAY_SAMPLES) {
      this.isReplayable = false; // the probe would come too late to be worth it: the speech time decides
      return;
    }
    if (this.sinceCommit.length < needed) {
      const grown = new Int16Array(Math.min(MAX_PROBE_REPLAY_SAMPLES, Math.max(needed, 2 * this.sinceCommit.length)));
      grown.set(this.sinceCommit.subarray(0, this.sinceCommitLength));
      this.sinceCommit = grown;
    }
    this.sinceCommit.set(pcm24k.subarray(from, to), this.sinceCommitLength);
    this.sinceCommitLength = needed;
  }

  private send(pcm24k: Int16Array, length: number): void {
    const from = Math.min(this.delayLeft, length);
    this.delayLeft -= from;
    if (from === length) return;
    if (this.socket.append(pcm24k, from, length)) {
      this.samplesSent += length - from;
      if (this.isReplayable) this.keepForReplay(pcm24k, from, length);
      return;
    }
    // the socket cannot take this turn (not open any more, or too far behind): the batch route will answer it
    this.isStreaming = false;
    this.socket.clear();
  }

  private async race(pending: PendingTranscript, signal: AbortSignal, batch: (signal: AbortSignal) => Promise<string>): Promise<StreamedTranscript> {
    // 1. the stream alone, for waitMs
    const first = await settleWithin(pending.promise, this.waitMs, signal);
    if (signal.aborted) throw abortedError(this.socket.name, signal);
    if (first.kind === 'ok') return { text: first.value, via: 'stream' };
    const fallbackReason = first.kind === 'failed' ? 'stream-failed' : 'stream-late';
    if (first.kind === 'failed') return { text: await batch(signal), via: 'batch', fallbackReason };
    // 2. late: the batch upload of the same audio, racing the stream; the first transcript wins
    const batchAbort = new AbortController();
    const batchSignal = AbortSignal.any([signal, batchAbort.signal]);
    const fromBatch = batch(batchSignal).then((text): StreamedTranscript => ({ text, via: 'batch', fallbackReason }));
    const fromStream = pending.promise.then((text): StreamedTranscript => ({ text, via: 'stream' }));
    // the turn's signal ends the wait too: a stream that never answers must not outlive the turn's budget
    let onAbort = (): void => {};
    const aborted = new Promise<never>((_resolve, reject) => {
      onAbort = () => reject(abortedError(this.socket.name, signal));
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    });
    aborted.catch(() => undefined);
    try {
      const winner = await Promise.race([firstFulfilled(fromStream, fromBatch), aborted]);
      if (winner.via === 'stream') batchAbort.abort(new Error('the streamed transcript came first'));
      return winner;
    } finally {
      signal.removeEventListener('abort', onAbort);
      fromBatch.catch(() => undefined);
    }
  }
}

/** Segments a turn may be committed in (its pauses); later pauses commit nothing. */
const MAX_SEGMENTS_PER_TURN = 8;
/** The realtime API refuses to commit less than 100 ms of audio. */
const MIN_COMMIT_SAMPLES = REALTIME_SAMPLE_RATE_HZ / 10;
/**
 * A barge-in probe replays at most this much audio (the turn's since its last commit): it comes at ~200 ms of speech,
 * so more means a turn mostly quiet so far; 2 s at 24 kHz is 96 KB per call at most.
 */
export const MAX_PROBE_REPLAY_MS = 2000;
const MAX_PROBE_REPLAY_SAMPLES = (MAX_PROBE_REPLAY_MS * REALTIME_SAMPLE_RATE_HZ) / 1000;

/** The words of a turn's parts, in order (empty parts left out). */
function joined(parts: readonly PendingTranscript[]): Promise<string> {
  return Promise.all(parts.map((part) => part.promise)).then((texts) => texts.map((t) => t.trim()).filter((t) => t.length > 0).join(' '));
}

function combined(parts: readonly PendingTranscript[]): PendingTranscript {
  if (parts.length === 1) return parts[0]!;
  const promise = joined(parts);
  promise.catch(() => undefined);
  return { promise, cancel: () => { for (const part of parts) part.cancel(); } };
}

type Settled<T> = { kind: 'ok'; value: T } | { kind: 'failed'; error: unknown } | { kind: 'late' };

/** How `promise` settles within `ms` (or `late`, also when `signal` aborts first). Never rejects. */
function settleWithin<T>(promise: Promise<T>, ms: number, signal: AbortSignal): Promise<Settled<T>> {
  return new Promise((resolve) => {
    const done = (outcome: Settled<T>): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      resolve(outcome);
    };
    const onAbort = (): void => done({ kind: 'late' });
    const timer = setTimeout(() => done({ kind: 'late' }), ms);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    promise.then((value) => done({ kind: 'ok', value }), (error: unknown) => done({ kind: 'failed', error }));
  });
}

/** The first of two promises to fulfil; rejects with the second's error when both reject (the batch's, by order). */
function firstFulfilled<T>(a: Promise<T>, b: Promise<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    let failures = 0;
    const onFail = (error: unknown, isB: boolean): void => {
      failures++;
      if (isB) lastError = error;
      if (failures === 2) reject(lastError);
    };
    let lastError: unknown;
    a.then(resolve, (error: unknown) => onFail(error, false));
    b.then(resolve, (error: unknown) => onFail(error, true));
  });
}

/** The turn's budget ran out (a timeout of this provider, as the caller hears it) or the turn was aborted. */
function abortedError(provider: string, signal: AbortSignal): ProviderError {
  const reason: unknown = signal.reason;
  if (reason instanceof DeadlineExceeded) return toProviderError(provider, reason);
  return new ProviderError(`${provider}: aborted`, provider, 'aborted', false, undefined, { cause: reason });
}
