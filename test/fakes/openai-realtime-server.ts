// OpenAI's realtime transcription session, as a local fake: a WebSocket at /v1/realtime?intent=transcription (on the
// FakeOpenAI's own HTTP server, so that one base URL serves both, as api.openai.com does) that checks the bearer key
// and the session.update of a transcription session (audio/pcm at 24 kHz, a transcribe model, turn detection off),
// decodes every input_audio_buffer.append into the session's buffer (clear empties it), and answers each commit as
// the real API does: input_audio_buffer.committed {item_id}, then after `delayMs` the transcript as
// conversation.item.input_audio_transcription.delta events and .completed. A commit of less than 100 ms is an `error`
// naming the commit's event_id. Each commit can instead fail (transcription.failed), hang (no answer) or close the
// socket; an upgrade can be refused. Everything is recorded for the test: sessions, their config, each commit's audio.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';

export const REALTIME_PATH = '/v1/realtime';
const RATE_HZ = 24_000;
/** The real API refuses to commit less than 100 ms of audio. */
const MIN_COMMIT_SAMPLES = RATE_HZ / 10;
/** The real API's input buffer limit (15 MiB); past it, this fake errors too. */
const MAX_BUFFER_BYTES = 15 * 1024 * 1024;
const TRANSCRIBE_MODELS = new Set(['gpt-4o-transcribe', 'gpt-4o-mini-transcribe']);

/** What one commit does: answer, fail its transcription, never answer, or close the socket. */
export type CommitBehaviour = 'ok' | 'fail' | 'hang' | 'close';

export interface FakeRealtimeOptions {
  /** The n-th committed turn's transcript (0-based over all sessions); default "hello". */
  transcript?: (index: number, pcm24k: Int16Array) => string;
  /** From the commit to the completed event (default 0): the provider's latency. */
  delayMs?: number;
  /** Deltas per transcript (default 3). */
  deltas?: number;
  /** The bearer key expected (default "test"). */
  apiKey?: string;
}

export interface CommittedAudio {
  index: number;
  itemId: string;
  eventId: string | undefined;
  /** The committed buffer, decoded (24 kHz mono PCM16). */
  pcm24k: Int16Array;
  behaviour: CommitBehaviour;
  text: string | undefined;
  committedAtMs: number;
  completedAtMs: number | undefined;
}

export interface RealtimeSessionRecord {
  url: string;
  headers: IncomingMessage['headers'];
  /** Every session.update's `session`, as sent. */
  sessionUpdates: unknown[];
  /** What was wrong with a session.update (answered with an `error`). */
  configErrors: string[];
  appends: number;
  clears: number;
  commits: CommittedAudio[];
  isOpen: boolean;
  closedAtMs: number | undefined;
}

export class FakeRealtime {
  readonly options: FakeRealtimeOptions;
  readonly sessions: RealtimeSessionRecord[] = [];
  /** Applies to every commit unless nextCommits holds one. */
  behaviour: CommitBehaviour = 'ok';
  readonly nextCommits: CommitBehaviour[] = [];
  /** Upgrades to refuse with HTTP 503 (each refusal uses one), then Infinity = all. */
  refuseUpgrades = 0;
  refusedUpgrades = 0;
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 4 * 1024 * 1024 });
  private readonly sockets = new Set<WebSocket>();
  private committed = 0;
  private readonly waiters: Array<{ predicate: () => boolean; resolve: () => void }> = [];

  constructor(options: FakeRealtimeOptions = {}) {
    this.options = options;
  }

  /** Every commit, over all sessions, in order. */
  commits(): CommittedAudio[] {
    return this.sessions.flatMap((s) => s.commits).sort((a, b) => a.index - b.index);
  }

  /** Resolves once `predicate` holds (checked after every event). */
  waitFor(predicate: () => boolean, timeoutMs = 10_000): Promise<void> {
    if (predicate()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('fake realtime: timed out waiting')), timeoutMs);
      this.waiters.push({ predicate, resolve: () => { clearTimeout(timer); resolve(); } });
    });
  }

  /** The HTTP server's 'upgrade' event for REALTIME_PATH. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const refuse = (status: number, why: string): void => {
      socket.end(`HTTP/1.1 ${status} ${why}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    if (url.pathname !== REALTIME_PATH) return refuse(404, 'Not Found');
    if (this.refuseUpgrades > 0) {
      this.refuseUpgrades--;
      this.refusedUpgrades++;
      this.notify();
      return refuse(503, 'Service Unavailable');
    }
    if (req.headers.authorization !== `Bearer ${this.options.apiKey ?? 'test'}`) return refuse(401, 'Unauthorized');
    if (url.searchParams.get('intent') !== 'transcription') return refuse(400, 'Bad Request');
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws, req));
  }

  /** Closes every session (the test's end). */
  close(): void {
    for (const ws of this.sockets) ws.terminate();
    this.sockets.clear();
    this.wss.close();
  }

  private onConnection(ws: WebSocket, req: IncomingMessage): void {
    const record: RealtimeSessionRecord = {
      url: req.url ?? '', headers: req.headers, sessionUpdates: [], configErrors: [], appends: 0, clears: 0, commits: [], isOpen: true, closedAtMs: undefined,
    };
    this.sessions.push(record);
    this.sockets.add(ws);
    let chunks: Buffer[] = [];
    let bytes = 0;
    let isConfigured = false;
    let events = 0;
    const send = (event: Record<string, unknown>): void => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ event_id: `event_${++events}`, ...event }));
    };
    const error = (message: string, about: string | undefined, code = 'invalid_request_error'): void =>
      send({ type: 'error', error: { type: 'invalid_request_error', code, message, param: null, event_id: about ?? null } });
    ws.on('close', () => {
      record.isOpen = false;
      record.closedAtMs = performance.now();
      this.sockets.delete(ws);
      this.notify();
    });
    send({ type: 'session.created', session: { type: 'transcription', id: `sess_fake_${this.sessions.length}` } });
    ws.on('message', (data, isBinary) => {
      if (isBinary) return error('binary frames are not accepted', undefined);
      let event: { type?: string; event_id?: string; session?: unknown; audio?: unknown };
      try {
        event = JSON.parse(data.toString()) as typeof event;
      } catch {
        return error('not JSON', undefined);
      }
      switch (event.type) {
        case 'session.update': {
          record.sessionUpdates.push(event.session);
          const problem = sessionProblem(event.session);
          if (problem !== undefined) {
            record.configErrors.push(problem);
            error(problem, event.event_id, 'invalid_value');
          } else {
            isConfigured = true;
            send({ type: 'session.updated', session: event.session });
          }
          break;
        }
        case 'input_audio_buffer.append': {
          record.appends++;
          if (!isConfigured) return error('append before the transcription session was configured', event.event_id);
          if (typeof event.audio !== 'string') return error('audio must be base64', event.event_id);
          const chunk = Buffer.from(event.audio, 'base64');
          if (chunk.length % 2 !== 0) return error('PCM16 audio must be whole samples', event.event_id);
          if (bytes + chunk.length > MAX_BUFFER_BYTES) return error('the input audio buffer is full', event.event_id);
          chunks.push(chunk);
          bytes += chunk.length;
          break;
        }
        case 'input_audio_buffer.clear':
          record.clears++;
          chunks = [];
          bytes = 0;
          send({ type: 'input_audio_buffer.cleared' });
          break;
        case 'input_audio_buffer.commit': {
          const all = Buffer.concat(chunks);
          chunks = [];
          bytes = 0;
          const pcm24k = new Int16Array(all.buffer.slice(all.byteOffset, all.byteOffset + all.length));
          if (pcm24k.length < MIN_COMMIT_SAMPLES) {
            error(`buffer too small. Expected at least 100ms of audio, but buffer only has ${(pcm24k.length / 24).toFixed(2)}ms of audio.`,
              event.event_id, 'input_audio_buffer_commit_empty');
            break;
          }
          this.onCommit(record, pcm24k, event.event_id, send, ws);
          break;
        }
        default:
          error(`unknown event type ${String(event.type)}`, event.event_id);
      }
      this.notify();
    });
  }

  private onCommit(record: RealtimeSessionRecord, pcm24k: Int16Array, eventId: string | undefined, send: (e: Record<string, unknown>) => void, ws: WebSocket): void {
    const index = this.committed++;
    const behaviour = this.nextCommits.shift() ?? this.behaviour;
    const itemId = `item_fake_${index}`;
    const commit: CommittedAudio = { index, itemId, eventId, pcm24k, behaviour, text: undefined, committedAtMs: performance.now(), completedAtMs: undefined };
    record.commits.push(commit);
    if (behaviour === 'close') {
      ws.terminate();
      return;
    }
    const previous = record.commits.at(-2)?.itemId ?? null;
    send({ type: 'input_audio_buffer.committed', item_id: itemId, previous_item_id: previous });
    if (behaviour === 'hang') return;
    setTimeout(() => {
      if (ws.readyState !== ws.OPEN) return;
      if (behaviour === 'fail') {
        send({ type: 'conversation.item.input_audio_transcription.failed', item_id: itemId, content_index: 0,
          error: { type: 'transcription_error', code: 'audio_unintelligible', message: 'fake: the transcription failed', param: null } });
        return;
      }
      const text = this.options.transcript?.(index, pcm24k) ?? 'hello';
      commit.text = text;
      const pieces = Array.from(text);
      const deltas = Math.max(1, this.options.deltas ?? 3);
      const size = Math.ceil(pieces.length / deltas);
      for (let i = 0; i < pieces.length; i += size) {
        send({ type: 'conversation.item.input_audio_transcription.delta', item_id: itemId, content_index: 0, delta: pieces.slice(i, i + size).join('') });
      }
      send({ type: 'conversation.item.input_audio_transcription.completed', item_id: itemId, content_index: 0, transcript: text,
        usage: { type: 'duration', seconds: pcm24k.length / RATE_HZ } });
      commit.completedAtMs = performance.now();
      this.notify();
    }, this.options.delayMs ?? 0);
  }

  private notify(): void {
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const waiter = this.waiters[i];
      if (waiter !== undefined && waiter.predicate()) {
        this.waiters.splice(i, 1);
        waiter.resolve();
      }
    }
  }
}

/** What is wrong with a session.update's session for a transcription session (undefined: nothing). */
function sessionProblem(session: unknown): string | undefined {
  const s = session as { type?: unknown; audio?: { input?: { format?: { type?: unknown; rate?: unknown }; transcription?: { model?: unknown; language?: unknown }; turn_detection?: unknown } } } | undefined;
  if (s?.type !== 'transcription') return `session.type must be transcription on an intent=transcription socket (got ${JSON.stringify(s?.type)})`;
  const input = s.audio?.input;
  if (input?.format?.type !== 'audio/pcm' || input.format.rate !== RATE_HZ) return `audio.input.format must be audio/pcm at 24000 Hz (got ${JSON.stringify(input?.format)})`;
  const model = input.transcription?.model;
  if (typeof model !== 'string' || !TRANSCRIBE_MODELS.has(model)) return `audio.input.transcription.model is not a realtime transcription model (got ${JSON.stringify(model)})`;
  if (input.turn_detection !== null) return `audio.input.turn_detection must be null here: the client decides turns (got ${JSON.stringify(input.turn_detection)})`;
  return undefined;
}
