// VAD events -> caller turns, for one call. A turn starts at the VAD's onset (its start moved back by the onset
// time, with a little lead-in taken from a pre-roll ring so that the first syllable is kept), ends at the VAD's end
// of speech (the hangover's silence trimmed, but for a short tail), is dropped when shorter than minTurnMs and is
// forced to end at maxTurnMs (then nothing new starts until the VAD itself hears the speech end). maxTurnMs holds both
// in stream time and in samples (frames appended, pre-roll and filled silence included), so a stream whose timestamps
// lie still cannot grow a turn past maxTurnMs of audio.
// Barge-in policy lives here too: an onset while the agent is playing becomes a barge-in once the caller has spoken
// for minSpeechMs (default 350 ms, config BARGE_IN_MIN_SPEECH_MS), so that a click, a cough or an "uh-huh" (about
// 250 ms of sound: measured with the real VAD, it counts at most ~260 ms) does not cut the agent off, while speech
// clears it about 350-400 ms after its start; it can be switched off. Speech time counts the onset plus the turn's
// frames louder than the line's idle level by speechMarginDb (the VAD's hangover is silence), over the whole time since
// the onset. Where the agent knows the caller's words while they speak (streaming ASR), it is asked on each pending
// frame (TurnListener.bargeInWords): words that are not a backchannel barge in at once, only backchannel words hold
// the barge-in off, and 'unknown' (batch ASR, no words yet) leaves the decision to the speech time.
// Words asked for (streaming only, bargeIn.wordsAfterMs > 0): once a pending barge-in has wordsAfterMs of speech
// (default 200 ms, config BARGE_IN_WORDS_AFTER_MS), the audio so far goes out and the listener is asked for its words
// (askBargeInWords: the agent commits it early), once per pending barge-in. While they are 'pending' the barge-in
// waits, at most wordsWaitMs (default 400 ms of stream time, BARGE_IN_WORDS_WAIT_MS) after asking; then the speech
// time decides. Those words cover the speech up to the asking only: their 'backchannel' holds the barge-in off until
// the turn has backchannelMaxMs of speech (default 1000 ms: "uh-huh" is ~250 ms, "ok ok" ~600 ms), so that "yes, but
// ..." still barges in. onBargeIn says which decided (words or speech time, for the metrics).
// A turn's audio is collected into 1 s chunks from the thread's TurnAudioPool, given back when the turn ends: nothing
// is allocated per frame, and a call that is not speaking holds no turn buffer.
// Streaming (audioBatchMs > 0, for an agent that listens while the caller speaks): the turn's number is known at its
// onset (the CallerTurn carries the same one), and its audio goes out in batches of audioBatchMs as views of those
// chunks, lead-in included, held back by the part of the hangover that a silence end trims, so that what was streamed
// is exactly the CallerTurn's pcm8k. A dropped turn is abandoned and its number goes to the next onset, so the kept
// turns stay numbered 1, 2, 3 without gaps.
// Pauses (pauseMs > 0, streaming only, for an agent that answers early): once a turn long enough to keep has been
// quiet for pauseMs (no frame louder than the idle level by speechMarginDb), the listener hears onTurnPaused, and the
// held-back audio goes out at once (the agent wants the words so far); the next loud frame is onTurnResumed. The
// streamed audio may then run past the CallerTurn's by up to the part a silence end trims (quiet audio); so may it
// after a barge-in asked for its words (which also hands the held-back audio over first).
import type { BargeInDecision, BargeInWords, CallerTurn } from './agent-contract.js';
import { threadTurnAudioPool, type TurnAudioPool } from './turn-audio-pool.js';
import { FRAME_MS, SAMPLES_PER_FRAME } from '../twilio/media-format.js';

/** VadEvent values of src/audio/dsp.ts (kept as numbers here: the per-frame path compares plain integers). */
export const VAD_EVENT_SPEECH_START = 1;
export const VAD_EVENT_SPEECH_END = 2;

/** A pending barge-in asks for its words at this much speech (streaming only; 0: never). */
export const DEFAULT_BARGE_IN_WORDS_AFTER_MS = 200;
/** Words asked for and not known yet hold a barge-in this long at most (stream time since asking). */
export const DEFAULT_BARGE_IN_WORDS_WAIT_MS = 400;
/**
 * Backchannel words asked for early hold a barge-in off until the turn has this much speech: they cover its first
 * ~200 ms only, and a caller still speaking after a second of speech is taking the turn ("ok, so ...").
 */
export const DEFAULT_BACKCHANNEL_MAX_SPEECH_MS = 1000;

export interface BargeInOptions {
  enabled: boolean;
  /** Speech over the agent that makes a barge-in when the words do not decide. */
  minSpeechMs: number;
  /** Streaming only: at this much speech a pending barge-in's words are asked for; 0: never (default 200). */
  wordsAfterMs?: number;
  /** Words asked for are waited for this long at most (default 400). */
  wordsWaitMs?: number;
  /** Backchannel words asked for hold the barge-in off until this much speech (default 1000). */
  backchannelMaxMs?: number;
}

export interface TurnDetectorOptions {
  /** The VAD's effective onset and hangover (the turn's start and end are corrected by them). */
  onsetMs: number;
  hangoverMs: number;
  minTurnMs: number;
  maxTurnMs: number;
  bargeIn: BargeInOptions;
  /** Audio kept before the onset's computed start; default 40 ms. */
  leadInMs?: number;
  /** Silence kept after the end of speech; default 100 ms. */
  tailMs?: number;
  /** Where the turn's audio is collected; default the thread's pool. */
  pool?: TurnAudioPool;
  /** A frame counts as speech (for barge-in) this far above the idle line level; default 6 dB. */
  speechMarginDb?: number;
  /** Streams each turn's audio to the listener in batches this long (a multiple of 20 ms); 0 (default): off. */
  audioBatchMs?: number;
  /** With audioBatchMs: a quiet stretch this long inside a turn is a pause (a multiple of 20 ms); 0 (default): off. */
  pauseMs?: number;
}

export interface TurnListener {
  /** Asked at an onset (and while a barge-in waits for minSpeechMs): is the agent's audio playing? */
  isAgentPlaying(): boolean;
  /**
   * The caller has spoken over the agent for minSpeechMs, or said words that are not a backchannel. `atMs`: stream
   * time of the speech's start; `decidedBy`: what made it.
   */
  onBargeIn(atMs: number, decidedBy: BargeInDecision): void;
  onTurn(turn: CallerTurn): void;
  /** A VAD turn too short to keep (counted by the caller); `wasBargeIn`: it had interrupted the agent. */
  onTurnDropped?(durationMs: number, wasBargeIn: boolean): void;
  /**
   * Per-frame path, while a barge-in is pending: what the caller's words so far say (streaming ASR); undefined or
   * 'unknown': decide by speech time. Must not allocate.
   */
  bargeInWords?(): BargeInWords;
  /**
   * Streaming only, once per pending barge-in at wordsAfterMs of speech, after all of the turn's audio so far was
   * handed over: find out its words. True when they were asked for (bargeInWords says 'pending' until they are known).
   */
  askBargeInWords?(turnId: number): boolean;
  /**
   * Streaming only: a turn began (its number is the one its CallerTurn will carry). `mayAskWords`: it began over the
   * agent with words-asking on, so askBargeInWords may come for it (a turn that did not never gets one).
   */
  onTurnStarted?(turnId: number, startMs: number, mayAskWords: boolean): void;
  /**
   * Streaming only: the turn's next audio, 8 kHz: a view of the engine's buffer, valid during the call only (copy or
   * consume it before returning). The batches of a turn, in order, are its CallerTurn's pcm8k.
   */
  onTurnAudio?(turnId: number, pcm8k: Int16Array): void;
  /** Streaming only: the started turn was too short and is dropped; the next onset gets its number. */
  onTurnAbandoned?(turnId: number): void;
  /** Pauses only: the caller has been quiet for pauseMs since stream time `quietSinceMs`; the audio so far is out. */
  onTurnPaused?(turnId: number, quietSinceMs: number): void;
  /** Pauses only: the caller speaks again after a pause (the same turn goes on). */
  onTurnResumed?(turnId: number): void;
}

const enum State {
  Idle,
  InTurn,
  /** After a forced end, until the VAD reports the end of speech. */
  Suppressed,
}

export class TurnDetector {
  private readonly options: Required<Omit<TurnDetectorOptions, 'bargeIn' | 'pool' | 'audioBatchMs' | 'pauseMs'>> & { bargeIn: BargeInOptions };
  private readonly pool: TurnAudioPool;
  private readonly listener: TurnListener;
  private state = State.Idle;
  // pre-roll ring of the frames before an onset
  private readonly preRoll: Int16Array;
  /** A view of each pre-roll frame (made once: an onset copies them out with set()). */
  private readonly preRollViews: Int16Array[];
  private readonly preRollFrames: number;
  private preRollNext = 0;
  private preRollCount = 0;
  // the turn being captured: `length` samples in `chunks` (each pool.chunkSamples long)
  private readonly chunks: Int16Array[] = [];
  private length = 0;
  private turnStartMs = 0;
  private peakDbfs = -Infinity;
  private energySum = 0;
  private levelFrames = 0;
  private isBargeInPending = false;
  /** Speech heard in this turn so far (onset + loud frames), for the barge-in policy. */
  private voicedMs = 0;
  /** Smoothed level of the line between turns (dBFS). */
  private idleLevelDbfs = -60;
  private wasBargeIn = false;
  private turnCount = 0;
  /** The hard cap on a turn's audio: maxTurnMs of samples. */
  private readonly maxTurnSamples: number;
  // streaming: 0 samples per batch when off (one integer compare on the per-frame path)
  private readonly batchSamples: number;
  /** Samples a silence end trims: never streamed before the turn is known to go on past them. */
  private readonly holdBackSamples: number;
  /** Samples of the current turn handed to onTurnAudio so far. */
  private streamedLength = 0;
  /** Pauses: quiet frames that make one (0: off), quiet frames in a row now, and whether a pause was reported. */
  private readonly pauseFrames: number;
  private quietFrames = 0;
  private isPaused = false;
  /** Words of a pending barge-in: asked for at this much speech (0: never), waited for this long, backchannels' hold. */
  private readonly wordsAfterMs: number;
  /** A pending barge-in can ask for its words at all (streaming, wordsAfterMs > 0, a listener that asks). */
  private readonly canAskWords: boolean;
  private readonly wordsWaitMs: number;
  private readonly backchannelMaxMs: number;
  /** This turn's barge-in tried asking for its words (once); the listener took the question; until when they are waited for. */
  private hasTriedWords = false;
  private areWordsAsked = false;
  private wordsWaitEndMs = 0;

  constructor(options: TurnDetectorOptions, listener: TurnListener) {
    if (!(options.minTurnMs >= 0)) throw new RangeError(`minTurnMs must be >= 0 (got ${options.minTurnMs})`);
    if (!(options.maxTurnMs > options.minTurnMs)) {
      throw new RangeError(`maxTurnMs must be greater than minTurnMs (got ${options.maxTurnMs} <= ${options.minTurnMs})`);
    }
    const { pool, ...rest } = options;
    this.options = {
      leadInMs: 40,
      tailMs: 100,
      speechMarginDb: 6,
      ...rest,
    };
    this.pool = pool ?? threadTurnAudioPool;
    this.listener = listener;
    // Frames before the onset frame that belong to the speech, plus the lead-in.
    this.preRollFrames = Math.max(1, Math.ceil((options.onsetMs + this.options.leadInMs) / FRAME_MS));
    this.preRoll = new Int16Array(this.preRollFrames * SAMPLES_PER_FRAME);
    this.preRollViews = Array.from({ length: this.preRollFrames }, (_, f) => this.preRoll.subarray(f * SAMPLES_PER_FRAME, (f + 1) * SAMPLES_PER_FRAME));
    this.maxTurnSamples = Math.floor(options.maxTurnMs / FRAME_MS) * SAMPLES_PER_FRAME;
    const batchMs = options.audioBatchMs ?? 0;
    if (!Number.isInteger(batchMs) || batchMs < 0 || batchMs % FRAME_MS !== 0) {
      throw new RangeError(`audioBatchMs must be 0 or a positive multiple of ${FRAME_MS} (got ${batchMs})`);
    }
    this.batchSamples = (batchMs / FRAME_MS) * SAMPLES_PER_FRAME;
    this.holdBackSamples = this.trimFrames() * SAMPLES_PER_FRAME;
    const pauseMs = options.pauseMs ?? 0;
    if (!Number.isInteger(pauseMs) || pauseMs < 0 || pauseMs % FRAME_MS !== 0) {
      throw new RangeError(`pauseMs must be 0 or a positive multiple of ${FRAME_MS} (got ${pauseMs})`);
    }
    this.pauseFrames = batchMs > 0 ? pauseMs / FRAME_MS : 0;
    const { wordsAfterMs = DEFAULT_BARGE_IN_WORDS_AFTER_MS, wordsWaitMs = DEFAULT_BARGE_IN_WORDS_WAIT_MS, backchannelMaxMs = DEFAULT_BACKCHANNEL_MAX_SPEECH_MS } = options.bargeIn;
    for (const [name, value] of [['wordsAfterMs', wordsAfterMs], ['wordsWaitMs', wordsWaitMs], ['backchannelMaxMs', backchannelMaxMs]] as const) {
      if (!(value >= 0)) throw new RangeError(`bargeIn.${name} must be >= 0 (got ${value})`);
    }
    // the words are asked of the audio streamed so far: without streaming there is nothing to ask
    this.wordsAfterMs = batchMs > 0 ? wordsAfterMs : 0;
    this.canAskWords = this.wordsAfterMs > 0 && listener.askBargeInWords !== undefined;
    this.wordsWaitMs = wordsWaitMs;
    this.backchannelMaxMs = backchannelMaxMs;
  }

  /** Frames of the hangover's silence a silence end trims (the tail kept). */
  private trimFrames(): number {
    return Math.max(0, Math.floor((this.options.hangoverMs - this.options.tailMs) / FRAME_MS));
  }

  get turns(): number {
    return this.turnCount;
  }

  /**
   * Per-frame path: one 20 ms frame after the VAD. `frame` is the decoded frame (exactly 160 samples, read during the
   * call only), `event` the VAD's event for it, `levelDbfs` its level, `frameStartMs` its stream time. No allocation
   * but at turn end.
   */
  onFrame(event: number, levelDbfs: number, frame: Int16Array, frameStartMs: number): void {
    const isOnset = event === VAD_EVENT_SPEECH_START && this.state !== State.InTurn;
    if (isOnset) this.beginTurn(frameStartMs);
    if (this.state !== State.InTurn) {
      this.pushPreRoll(frame);
      // the line's idle level: follows drops quickly, rises slowly
      const rate = levelDbfs < this.idleLevelDbfs ? 0.3 : 0.02;
      this.idleLevelDbfs += (levelDbfs - this.idleLevelDbfs) * rate;
      if (event === VAD_EVENT_SPEECH_END) this.state = State.Idle;
      return;
    }
    this.append(frame);
    if (this.batchSamples > 0 && this.length - this.holdBackSamples - this.streamedLength >= this.batchSamples) {
      this.streamTo(this.streamedLength + this.batchSamples);
    }
    if (levelDbfs > this.peakDbfs) this.peakDbfs = levelDbfs;
    this.energySum += Math.pow(10, levelDbfs / 10);
    this.levelFrames++;
    const frameEndMs = frameStartMs + FRAME_MS;
    if (this.isBargeInPending && !isOnset) {
      if (levelDbfs >= this.idleLevelDbfs + this.options.speechMarginDb) this.voicedMs += FRAME_MS;
      this.checkBargeIn(frameEndMs);
    }
    if (this.pauseFrames > 0 && !isOnset) this.trackPause(levelDbfs >= this.idleLevelDbfs + this.options.speechMarginDb, frameEndMs);
    if (event === VAD_EVENT_SPEECH_END) {
      this.endTurn(frameEndMs - this.options.hangoverMs, 'silence');
    } else if (frameEndMs - this.turnStartMs >= this.options.maxTurnMs || this.length >= this.maxTurnSamples) {
      this.endTurn(frameEndMs, 'max-length');
    }
  }

  /** Drops the current turn (end of call) and gives its chunks back. */
  dispose(): void {
    this.state = State.Idle;
    this.releaseChunks();
  }

  private beginTurn(frameStartMs: number): void {
    const { onsetMs, leadInMs } = this.options;
    // The VAD reports the onset on the frame where onsetMs of speech was reached.
    this.turnStartMs = Math.max(0, frameStartMs + FRAME_MS - onsetMs);
    this.state = State.InTurn;
    this.releaseChunks();
    this.peakDbfs = -Infinity;
    this.energySum = 0;
    this.levelFrames = 0;
    this.wasBargeIn = false;
    // Copy the speech before the onset frame (and the lead-in) from the pre-roll, oldest first.
    const wanted = Math.min(this.preRollCount, Math.ceil((onsetMs + leadInMs) / FRAME_MS) - 1);
    const ringFrames = this.preRollFrames;
    for (let i = wanted; i > 0; i--) this.append(this.preRollViews[(this.preRollNext - i + ringFrames) % ringFrames]!);
    this.preRollCount = 0;
    this.voicedMs = onsetMs; // the VAD heard this much speech to report the onset
    this.streamedLength = 0;
    this.quietFrames = 0;
    this.isPaused = false;
    this.hasTriedWords = false;
    this.areWordsAsked = false;
    this.wordsWaitEndMs = 0;
    this.isBargeInPending = this.options.bargeIn.enabled && this.listener.isAgentPlaying();
    if (this.batchSamples > 0) {
      this.listener.onTurnStarted?.(this.turnCount + 1, this.turnStartMs, this.isBargeInPending && this.canAskWords);
    }
    if (this.isBargeInPending) this.checkBargeIn(frameStartMs + FRAME_MS);
  }

  /** Pauses, per frame: counts the quiet run; reports a pause once per run (in a turn long enough to keep), and its end. */
  private trackPause(isLoud: boolean, frameEndMs: number): void {
    if (isLoud) {
      this.quietFrames = 0;
      if (this.isPaused) {
        this.isPaused = false;
        this.listener.onTurnResumed?.(this.turnCount + 1);
      }
      return;
    }
    if (++this.quietFrames !== this.pauseFrames) return;
    const quietSinceMs = frameEndMs - this.pauseFrames * FRAME_MS;
    if (quietSinceMs - this.turnStartMs < this.options.minTurnMs) return;
    this.isPaused = true;
    this.streamTo(this.length);
    this.listener.onTurnPaused?.(this.turnCount + 1, quietSinceMs);
  }

  /** Streaming: hands the turn's samples [streamedLength, upTo) to the listener, one view per chunk they lie in. */
  private streamTo(upTo: number): void {
    const listener = this.listener;
    const chunkSamples = this.pool.chunkSamples;
    const turnId = this.turnCount + 1;
    while (this.streamedLength < upTo) {
      const index = Math.floor(this.streamedLength / chunkSamples);
      const from = this.streamedLength - index * chunkSamples;
      const n = Math.min(upTo - this.streamedLength, chunkSamples - from);
      this.streamedLength += n;
      listener.onTurnAudio?.(turnId, this.chunks[index]!.subarray(from, from + n));
    }
  }

  /** Per pending frame (and at the onset): the words, or else the speech time, decide; `frameEndMs` is stream time. */
  private checkBargeIn(frameEndMs: number): void {
    const listener = this.listener;
    if (this.canAskWords && !this.hasTriedWords && this.voicedMs >= this.wordsAfterMs) {
      // once per pending barge-in: the audio so far goes out (the held-back part too), then its words are asked for
      this.hasTriedWords = true;
      this.streamTo(this.length);
      this.areWordsAsked = listener.askBargeInWords!(this.turnCount + 1);
      this.wordsWaitEndMs = frameEndMs + this.wordsWaitMs;
    }
    const words = listener.bargeInWords?.() ?? 'unknown';
    let decidedBy: BargeInDecision = 'words';
    if (words !== 'words') {
      // still pending: later words (or the turn's own verdict) decide; words asked for cover only the speech before
      if (words === 'backchannel' && !(this.areWordsAsked && this.voicedMs >= this.backchannelMaxMs)) return;
      if (words === 'pending' && this.areWordsAsked && frameEndMs < this.wordsWaitEndMs) return;
      if (this.voicedMs < this.options.bargeIn.minSpeechMs) return;
      decidedBy = 'speech';
    }
    this.isBargeInPending = false;
    if (!listener.isAgentPlaying()) return;
    this.wasBargeIn = true;
    listener.onBargeIn(this.turnStartMs, decidedBy);
  }

  private endTurn(speechEndMs: number, reason: CallerTurn['endReason']): void {
    this.state = reason === 'max-length' ? State.Suppressed : State.Idle;
    this.isBargeInPending = false;
    const durationMs = speechEndMs - this.turnStartMs;
    if (reason === 'silence') {
      // Trim the hangover's silence, keeping a short tail.
      this.length = Math.max(0, this.length - this.trimFrames() * SAMPLES_PER_FRAME);
    }
    if (durationMs < this.options.minTurnMs) {
      this.releaseChunks();
      if (this.batchSamples > 0) this.listener.onTurnAbandoned?.(this.turnCount + 1);
      this.listener.onTurnDropped?.(durationMs, this.wasBargeIn);
      return;
    }
    // streaming: the rest of the kept audio (the held-back part is trimmed or, at a forced end, kept and sent now)
    if (this.batchSamples > 0) this.streamTo(this.length);
    this.turnCount++;
    const pcm8k = this.copyTurn();
    this.releaseChunks();
    const meanEnergy = this.levelFrames > 0 ? this.energySum / this.levelFrames : 0;
    this.listener.onTurn({
      turnId: this.turnCount,
      pcm8k,
      startMs: this.turnStartMs,
      endMs: speechEndMs,
      durationMs: (pcm8k.length / SAMPLES_PER_FRAME) * FRAME_MS,
      endReason: reason,
      peakDbfs: this.peakDbfs,
      meanDbfs: meanEnergy > 0 ? 10 * Math.log10(meanEnergy) : -Infinity,
      wasBargeIn: this.wasBargeIn,
    });
  }

  /** Per-frame path: copies one frame into the pre-roll ring. */
  // The two copies of the per-frame path are one set() each (a builtin memcpy): an element loop of 160 samples cost
  // about twice the rest of onFrame (bench/RESULTS.md, issue 18).
  private pushPreRoll(frame: Int16Array): void {
    this.preRoll.set(frame, this.preRollNext * SAMPLES_PER_FRAME);
    this.preRollNext = (this.preRollNext + 1) % this.preRollFrames;
    if (this.preRollCount < this.preRollFrames) this.preRollCount++;
  }

  /** Per-frame path: copies one frame into the turn's chunks (taking one from the pool every chunk's worth). */
  private append(frame: Int16Array): void {
    const chunkSamples = this.pool.chunkSamples;
    const index = Math.floor(this.length / chunkSamples);
    if (index === this.chunks.length) this.chunks.push(this.pool.take());
    this.chunks[index]!.set(frame, this.length - index * chunkSamples);
    this.length += SAMPLES_PER_FRAME;
  }

  /** The turn's `length` samples as one array of its own (per turn). */
  private copyTurn(): Int16Array {
    const pcm8k = new Int16Array(this.length);
    const chunkSamples = this.pool.chunkSamples;
    for (let at = 0, k = 0; at < this.length; at += chunkSamples, k++) {
      const n = Math.min(chunkSamples, this.length - at);
      pcm8k.set(n === chunkSamples ? this.chunks[k]! : this.chunks[k]!.subarray(0, n), at);
    }
    return pcm8k;
  }

  /** Gives every chunk back to the pool; the turn is empty. */
  private releaseChunks(): void {
    for (const chunk of this.chunks) this.pool.give(chunk);
    this.chunks.length = 0;
    this.length = 0;
  }
}
