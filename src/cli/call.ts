// `npm run call -- …`: calls a running server like Twilio would (see caller.ts), or with --probe checks only the
// WebSocket handshake on a raw socket (see probe.ts). Prints events as they happen and a summary with the pacing of
// the server's frames; records what the caller heard to a WAV with --out. Exit code 0 = the call (or the 101) worked.
import { writeFileSync } from 'node:fs';
import { USAGE, UsageError, parseCallArgs, type CallArgs } from './args.js';
import { Caller, signatureForStreamUrl, type CallerEvent, type CallerResult } from './caller.js';
import { probe } from './probe.js';
import { FRAME_BYTES, SAMPLE_RATE_HZ } from '../twilio/media-format.js';

/** Mu-law carries one byte per sample. */
const MULAW_BYTES_PER_S = SAMPLE_RATE_HZ;

async function runProbe(args: CallArgs): Promise<number> {
  const signature = args.signature ?? (args.authToken ? signatureForStreamUrl(args.authToken, args.url) : undefined);
  const result = await probe({ url: args.url, protocol: args.protocol, ...(signature ? { signature } : {}) });
  if (args.isJson) {
    console.log(JSON.stringify(result, null, 2));
  } else {
    console.log(`${result.httpVersion} ${result.statusCode} ${result.statusText}`);
    for (const [name, value] of result.headers) console.log(`  ${name}: ${value}`);
    console.log(`negotiated subprotocol: ${result.subprotocol ?? '(none)'}${args.protocol ? ` (offered ${args.protocol})` : ' (none offered)'}`);
    if (result.statusCode === 101) {
      console.log(`Sec-WebSocket-Accept: ${result.isAcceptValid ? 'valid' : 'INVALID'}`);
      console.log(`Upgrade/Connection headers: ${result.hasUpgradeHeaders ? 'present' : 'MISSING'}`);
      if (args.protocol && result.subprotocol?.toLowerCase() !== args.protocol.toLowerCase()) {
        console.log(`warning: the server did not answer the offered subprotocol ${args.protocol} (Twilio: 31920/31921)`);
      }
    }
  }
  return result.statusCode === 101 ? 0 : 1;
}

function printSummary(result: CallerResult, out: string | undefined): void {
  const p = result.pacing;
  const lines = [
    `call ${result.callSid} stream ${result.streamSid} (${(result.durationMs / 1000).toFixed(1)} s, subprotocol ${result.protocol || '(none)'})`,
    `frames sent ${result.framesSent}, received ${result.framesReceived} (${(result.receivedMulaw.length / MULAW_BYTES_PER_S).toFixed(2)} s of audio) in ${result.playbacks.length} playbacks`,
    `marks received ${result.marksReceived.length}, echoed ${result.marksEchoed.length}; clears ${result.clears}`,
    `pacing (inter-arrival within playbacks, ${p.intervals} intervals): p50 ${p.p50Ms} ms, p99 ${p.p99Ms} ms, max ${p.maxMs} ms; ` +
      `error |x-20| p50 ${p.p50ErrorMs} p99 ${p.p99ErrorMs} max ${p.maxErrorMs} ms; gaps > 60 ms: ${p.gapsOver60Ms}`,
    `problems: invalid messages ${result.invalidMessages}, wrong streamSid ${result.wrongStreamSid}, frames not ${FRAME_BYTES} bytes ${result.badFrameSize}; ` +
      `our sends ran up to ${result.maxSendLateMs.toFixed(1)} ms late`,
    `closed ${result.closeCode}${result.closeReason ? ' ' + result.closeReason : ''}`,
  ];
  if (out) lines.push(`recorded ${(result.heardMulaw.length / MULAW_BYTES_PER_S).toFixed(2)} s to ${out}`);
  console.log(lines.join('\n'));
}

async function runCall(args: CallArgs): Promise<number> {
  // loaded only here: these need the DSP addon
  const { loadMulawFile, wavFromMulaw } = await import('./audio-file.js');
  const audio = loadMulawFile(args.file as string);
  const caller = new Caller({
    url: args.url,
    protocol: args.protocol,
    audio,
    tailMs: args.tailMs,
    customParameters: args.params,
    dtmf: args.dtmf,
    sendStop: args.sendStop,
    listen: args.isListening,
    ...(args.signature ? { signature: args.signature } : {}),
    ...(args.authToken ? { authToken: args.authToken } : {}),
    ...(args.streamTokenSecret ? { streamTokenSecret: args.streamTokenSecret } : {}),
    onEvent: args.isQuiet || args.isJson ? undefined : (e: CallerEvent) => console.log(`+${String(e.tMs).padStart(6)} ms  ${e.type}${e.detail ? '  ' + e.detail : ''}`),
  });
  const onSignal = () => caller.hangUp();
  process.once('SIGINT', onSignal);
  const result = await caller.run();
  process.off('SIGINT', onSignal);
  if (args.out) writeFileSync(args.out, wavFromMulaw(result.heardMulaw));
  if (args.isJson) {
    const { receivedMulaw, heardMulaw, playbacks, ...rest } = result;
    console.log(JSON.stringify({ ...rest, receivedBytes: receivedMulaw.length, heardBytes: heardMulaw.length, playbacks: playbacks.length }, null, 2));
  } else {
    printSummary(result, args.out);
  }
  return result.closeCode === 1000 || result.closeCode === 1005 ? 0 : 1;
}

async function main(argv: string[]): Promise<number> {
  let args: CallArgs;
  try {
    args = parseCallArgs(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`error: ${err.message}\n\n${USAGE}`);
      return 2;
    }
    throw err;
  }
  if (args.isHelp) {
    console.log(USAGE);
    return 0;
  }
  try {
    return args.isProbe ? await runProbe(args) : await runCall(args);
  } catch (err) {
    console.error(`error: ${(err as Error).message}`);
    return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  },
);
