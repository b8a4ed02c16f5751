/**
 * The measurement floor: a server that does nothing but pace. It answers the upgrade by hand, discards whatever the
 * caller sends, and plays each call a fixed cycle (PLAY media frames, a mark, SILENT frames of nothing) from pre-built
 * frames on one absolute 1 ms sub-tick clock, each call in its own phase. Whatever pacing error the load generator
 * measures against it, at a given N on a given machine, belongs to the machine and the generator, not to a server.
 * bench/load sets the cycle so that it plays as large a share of the time as the echo servers do (their echoes of the
 * load conversation), so that both send the generator the same number of frames.
 *
 * With CALIBRATION_CUT=clear (the talk-over conversation) each play ends with a `clear` instead of a mark, as the echo
 * servers' playbacks end when the caller barges in.
 *
 * Env: PORT (default 8083), HOST (127.0.0.1), CALIBRATION_PLAY_FRAMES and CALIBRATION_SILENT_FRAMES (default 230
 * each), CALIBRATION_CUT (mark, the default, or clear). GET /version answers for readiness.
 */
import { createServer, type Socket } from 'node:net';
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { FRAME_BYTES, FRAME_MS, MULAW_SILENCE_BYTE } from '../../src/twilio/media-format.js';
import { serializeClear, serializeMark, serializeMedia } from '../../src/twilio/outbound-serializers.js';

const PORT = Number(process.env.PORT ?? 8083);
const HOST = process.env.HOST ?? '127.0.0.1';
const PLAY_FRAMES = Math.max(1, Math.floor(Number(process.env.CALIBRATION_PLAY_FRAMES ?? 230)));
const CYCLE_FRAMES = PLAY_FRAMES + Math.max(1, Math.floor(Number(process.env.CALIBRATION_SILENT_FRAMES ?? 230)));

function serverFrame(text: string): Buffer {
  const payload = Buffer.from(text, 'utf8');
  const header = payload.length < 126 ? Buffer.from([0x81, payload.length]) : Buffer.from([0x81, 126, payload.length >> 8, payload.length & 0xff]);
  return Buffer.concat([header, payload]);
}

const CALIBRATION_STREAM_SID = 'MZ' + '0'.repeat(32);
const MEDIA = serverFrame(serializeMedia(CALIBRATION_STREAM_SID, new Uint8Array(FRAME_BYTES).fill(MULAW_SILENCE_BYTE)));
const MARK = process.env.CALIBRATION_CUT === 'clear'
  ? serverFrame(serializeClear(CALIBRATION_STREAM_SID))
  : serverFrame(serializeMark(CALIBRATION_STREAM_SID, 'calibration'));

interface Call { socket: Socket; nextDue: number; frame: number; isOpen: boolean }
const slots: Call[][] = Array.from({ length: FRAME_MS }, () => []);
let accepted = 0;
const t0 = performance.now();

function startCall(socket: Socket): void {
  const phase = accepted++ % FRAME_MS;
  const now = performance.now();
  const call: Call = { socket, nextDue: t0 + Math.ceil((now + 1 - t0 - phase) / FRAME_MS) * FRAME_MS + phase, frame: 0, isOpen: true };
  slots[phase]!.push(call);
  socket.on('close', () => {
    call.isOpen = false;
    const list = slots[phase]!;
    list.splice(list.indexOf(call), 1);
  });
}

// One clock for every call: slot s is served at t0 + n*20 + s; a late pass serves every due frame.
let slotIdx = 0;
let slotTime = t0;
function pump(): void {
  const now = performance.now();
  let guard = 0;
  while (slotTime <= now && guard++ < 1000) {
    for (const call of slots[slotIdx]!) {
      let n = 0;
      while (call.isOpen && call.nextDue <= now && n++ < 50) {
        const f = call.frame % CYCLE_FRAMES;
        if (f < PLAY_FRAMES) call.socket.write(MEDIA);
        else if (f === PLAY_FRAMES) call.socket.write(MARK);
        call.frame++;
        call.nextDue += FRAME_MS;
      }
    }
    slotIdx = (slotIdx + 1) % FRAME_MS;
    slotTime += 1;
  }
  setTimeout(pump, Math.max(0, slotTime - performance.now()));
}
pump();

const server = createServer((socket) => {
  socket.setNoDelay(true);
  let head = '';
  const onHead = (chunk: Buffer): void => {
    head += chunk.toString('latin1');
    const end = head.indexOf('\r\n\r\n');
    if (end < 0) return;
    socket.off('data', onHead);
    socket.on('data', () => { /* discarded */ });
    const request = head.slice(0, end);
    if (request.startsWith('GET /version')) {
      socket.end('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}');
      return;
    }
    const key = /sec-websocket-key:\s*(\S+)/i.exec(request)?.[1] ?? '';
    const accept = createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      `Sec-WebSocket-Accept: ${accept}\r\nSec-WebSocket-Protocol: audio.twilio.com\r\n\r\n`);
    startCall(socket);
  };
  socket.on('data', onHead);
  socket.on('error', () => socket.destroy());
  socket.on('end', () => socket.end());
});
server.listen(PORT, HOST);

const shutdown = (): void => {
  server.close();
  for (const list of slots) for (const call of list) call.socket.destroy();
  setTimeout(() => process.exit(0), 100).unref();
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
