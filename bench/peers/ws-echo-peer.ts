/**
 * The peer for bench/load: the same echo behaviour as ai-crmd's echo agent, written the way the public Twilio Node
 * samples write a Media Streams server: a `ws` WebSocketServer on Node's http server, JSON.parse per message,
 * `alawmulaw` for mu-law, a plain-JS energy threshold for turns, and a setInterval(20) per call for playback
 * (media messages, a mark after each playback, clear on barge-in). Deliberately idiomatic, not tuned.
 *
 * Env: PORT (default 8081), HOST (default 127.0.0.1). GET /version answers for readiness.
 */
import http from 'node:http';
import { createRequire } from 'node:module';
import { WebSocketServer, type WebSocket } from 'ws';
import { FRAME_BYTES, FRAME_MS, MEDIA_SUBPROTOCOL, MULAW_SILENCE_BYTE } from '../../src/twilio/media-format.js';

const { mulaw } = createRequire(import.meta.url)('alawmulaw') as typeof import('alawmulaw');

const PORT = Number(process.env.PORT ?? 8081);
const HOST = process.env.HOST ?? '127.0.0.1';

// Turn detection, close to ai-crmd's defaults: speech is a frame above an adaptive floor + margin (and above an
// absolute gate); 60 ms of it starts a turn, 600 ms without it ends the turn.
const ONSET_FRAMES = 60 / FRAME_MS;
const HANGOVER_FRAMES = 600 / FRAME_MS;
const MARGIN_DB = 10;
const MIN_SPEECH_DBFS = -45;
const FLOOR_MIN_DBFS = -80;
const FLOOR_RISE_DB_PER_FRAME = 3 * (FRAME_MS / 1000);   // the floor creeps up slowly under speech
const FLOOR_FALL_DB_PER_FRAME = 30 * (FRAME_MS / 1000);  // and falls quickly in silence
const MIN_TURN_MS = 200;
const MAX_TURN_MS = 30_000;

let activeCalls = 0;

function levelDbfs(pcm: Int16Array): number {
  let sum = 0;
  for (let i = 0; i < pcm.length; i++) sum += pcm[i]! * pcm[i]!;
  const mean = sum / pcm.length / (32768 * 32768);
  return mean > 0 ? 10 * Math.log10(mean) : -120;
}

const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/version') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ name: 'ws-echo-peer', node: process.version, activeCalls }));
    return;
  }
  res.writeHead(404).end();
});

const wss = new WebSocketServer({
  server,
  path: '/ws/twilio-media',
  handleProtocols: (protocols) => (protocols.has(MEDIA_SUBPROTOCOL) ? MEDIA_SUBPROTOCOL : false),
});

wss.on('connection', (ws: WebSocket) => {
  activeCalls++;
  let streamSid = '';
  let floorDbfs = -60;
  let speechRun = 0;
  let silenceRun = 0;
  let inTurn = false;
  let turnChunks: Int16Array[] = [];
  let turnFrames = 0;
  let playback: NodeJS.Timeout | null = null;
  let playCount = 0;

  const stopPlayback = (): void => {
    if (playback) clearInterval(playback);
    playback = null;
  };

  const play = (pcm: Int16Array): void => {
    const ulaw = mulaw.encode(pcm);
    const frames: string[] = [];
    for (let o = 0; o < ulaw.length; o += FRAME_BYTES) {
      const frame = Buffer.alloc(FRAME_BYTES, MULAW_SILENCE_BYTE);
      frame.set(ulaw.subarray(o, Math.min(o + FRAME_BYTES, ulaw.length)));
      frames.push(frame.toString('base64'));
    }
    const name = `echo-${++playCount}`;
    let i = 0;
    stopPlayback();
    playback = setInterval(() => {
      if (ws.readyState !== ws.OPEN) { stopPlayback(); return; }
      if (i < frames.length) {
        // JSON.stringify, not our serializers: the peer stands for a server written like Twilio's Node samples
        ws.send(JSON.stringify({ event: 'media', streamSid, media: { payload: frames[i++] } }));
      } else {
        ws.send(JSON.stringify({ event: 'mark', streamSid, mark: { name } }));
        stopPlayback();
      }
    }, FRAME_MS);
  };

  const endTurn = (): void => {
    inTurn = false;
    const pcm = new Int16Array(turnFrames * 160);
    let o = 0;
    for (const chunk of turnChunks) { pcm.set(chunk, o); o += chunk.length; }
    turnChunks = [];
    const durationMs = turnFrames * FRAME_MS;
    turnFrames = 0;
    if (durationMs >= MIN_TURN_MS) play(pcm);
  };

  ws.on('message', (data) => {
    const msg = JSON.parse(data.toString());
    switch (msg.event) {
      case 'connected':
        break;
      case 'start':
        streamSid = msg.start.streamSid;
        break;
      case 'media': {
        const pcm = mulaw.decode(Buffer.from(msg.media.payload, 'base64'));
        const level = levelDbfs(pcm);
        const isSpeech = level > Math.max(floorDbfs + MARGIN_DB, MIN_SPEECH_DBFS);
        if (level < floorDbfs) floorDbfs = Math.max(FLOOR_MIN_DBFS, Math.max(level, floorDbfs - FLOOR_FALL_DB_PER_FRAME));
        else floorDbfs = Math.min(level, floorDbfs + FLOOR_RISE_DB_PER_FRAME);
        if (!inTurn) {
          speechRun = isSpeech ? speechRun + 1 : 0;
          turnChunks.push(pcm);
          if (turnChunks.length > ONSET_FRAMES) turnChunks.shift();
          if (speechRun >= ONSET_FRAMES) {
            inTurn = true;
            silenceRun = 0;
            turnChunks = turnChunks.slice(-ONSET_FRAMES);
            turnFrames = turnChunks.length;
            if (playback) {            // barge-in: the caller talks over the echo
              stopPlayback();
              ws.send(JSON.stringify({ event: 'clear', streamSid }));
            }
          }
        } else {
          turnChunks.push(pcm);
          turnFrames++;
          silenceRun = isSpeech ? 0 : silenceRun + 1;
          if (silenceRun >= HANGOVER_FRAMES || turnFrames * FRAME_MS >= MAX_TURN_MS) endTurn();
        }
        break;
      }
      case 'mark':
        break;
      case 'stop':
        stopPlayback();
        break;
      default:
        break;
    }
  });

  ws.on('close', () => {
    activeCalls--;
    stopPlayback();
  });
  ws.on('error', () => stopPlayback());
});

server.listen(PORT, HOST, () => {
  process.stdout.write(`ws-echo-peer listening on ${HOST}:${PORT}\n`);
});

const shutdown = (): void => {
  for (const client of wss.clients) client.terminate();
  wss.close();
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
