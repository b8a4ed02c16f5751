// Command-line options of `npm run call`, parsed and checked up front (node:util parseArgs) with a usage text,
// kept apart from the entry point so that tests can check them.
import { parseArgs } from 'node:util';
import { MEDIA_SUBPROTOCOL } from '../twilio/media-format.js';

export const USAGE = `Usage: npm run call -- [options] [URL]

A Twilio-compatible caller for a running server.

  --url URL              ws:// or wss:// media endpoint, e.g. wss://HOST/ws/twilio-media (or give it as the last argument)
  --probe                handshake only: print status, negotiated subprotocol and every header of the 101; exit 0 on 101
  --protocol NAME        subprotocol to offer (default ${MEDIA_SUBPROTOCOL}); --protocol '' offers none
  --file PATH            audio to stream: raw 8 kHz mu-law (.ul) or an 8 kHz mono WAV (16-bit PCM or mu-law)
  --out PATH             record what the server played to an 8 kHz 16-bit WAV
  --tail-ms MS           keep listening this long after the file ends (default 3000)
  --listen               take turns: after each utterance in the file (found by its level), send silence until
                         the agent's reply has played (its mark came back), then go on; without it the file
                         plays straight through and may talk over a reply (barge-in)
  --signature SIG        send this X-Twilio-Signature
  --auth-token TOKEN     sign the URL like Twilio, and add the stream token the server expects
  --stream-token-secret S  secret for the stream token (default: derived from --auth-token)
  --params k=v[,k=v]     extra start.customParameters (repeatable)
  --dtmf d@ms[,d@ms]     send DTMF digits at times (ms from the first frame)
  --no-stop              hang up abruptly instead of sending stop
  --json                 print the summary as JSON
  --quiet                do not print each event
  -h, --help             this text
`;

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface CallArgs {
  url: string;
  isProbe: boolean;
  protocol: string | null;
  file: string | undefined;
  out: string | undefined;
  tailMs: number;
  signature: string | undefined;
  authToken: string | undefined;
  streamTokenSecret: string | undefined;
  params: Record<string, string>;
  dtmf: Array<{ atMs: number; digit: string }>;
  sendStop: boolean;
  /** --listen: wait for each reply before going on with the file. */
  isListening: boolean;
  isJson: boolean;
  isQuiet: boolean;
  isHelp: boolean;
}

/** Parses argv (without node and the script). Throws UsageError naming what is wrong. */
export function parseCallArgs(argv: string[]): CallArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        url: { type: 'string' },
        probe: { type: 'boolean', default: false },
        protocol: { type: 'string' },
        file: { type: 'string' },
        out: { type: 'string' },
        'tail-ms': { type: 'string' },
        signature: { type: 'string' },
        'auth-token': { type: 'string' },
        'stream-token-secret': { type: 'string' },
        params: { type: 'string', multiple: true },
        dtmf: { type: 'string', multiple: true },
        'no-stop': { type: 'boolean', default: false },
        listen: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        quiet: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  const empty: CallArgs = {
    url: '', isProbe: false, protocol: MEDIA_SUBPROTOCOL, file: undefined, out: undefined, tailMs: 3000,
    signature: undefined, authToken: undefined, streamTokenSecret: undefined, params: {}, dtmf: [], sendStop: true, isListening: false,
    isJson: false, isQuiet: false, isHelp: true,
  };
  if (values.help) return empty;

  if (positionals.length > 1) throw new UsageError(`one URL expected, got ${positionals.length} arguments: ${positionals.join(' ')}`);
  const url = values.url ?? positionals[0];
  if (!url) throw new UsageError('--url is required (ws:// or wss://…/ws/twilio-media)');
  if (values.url && positionals.length > 0) throw new UsageError('give the URL once: --url or as the last argument');
  let parsedUrl: URL;
  try {
    parsedUrl = new URL(url);
  } catch {
    throw new UsageError(`--url must be a ws:// or wss:// URL (got ${JSON.stringify(url)})`);
  }
  if (parsedUrl.protocol !== 'ws:' && parsedUrl.protocol !== 'wss:') {
    throw new UsageError(`--url must be a ws:// or wss:// URL (got ${JSON.stringify(url)})`);
  }
  if (!values.probe && !values.file) throw new UsageError('--file is required unless --probe is given');

  let tailMs = 3000;
  if (values['tail-ms'] !== undefined) {
    tailMs = /^\d+$/.test(values['tail-ms']) ? Number(values['tail-ms']) : NaN;
    if (!Number.isSafeInteger(tailMs) || tailMs > 3_600_000) throw new UsageError(`--tail-ms must be a number of milliseconds (got ${values['tail-ms']})`);
  }

  const params: Record<string, string> = {};
  for (const group of values.params ?? []) {
    for (const pair of group.split(',')) {
      if (pair.trim() === '') continue;
      const eq = pair.indexOf('=');
      if (eq <= 0) throw new UsageError(`--params takes k=v pairs (got ${JSON.stringify(pair)})`);
      params[pair.slice(0, eq).trim()] = pair.slice(eq + 1);
    }
  }

  const dtmf: Array<{ atMs: number; digit: string }> = [];
  for (const group of values.dtmf ?? []) {
    for (const item of group.split(',')) {
      if (item.trim() === '') continue;
      const m = /^([0-9*#A-Da-d])@(\d+)$/.exec(item.trim());
      if (!m) throw new UsageError(`--dtmf takes digit@ms items such as 5@2000 (got ${JSON.stringify(item)})`);
      dtmf.push({ digit: m[1] as string, atMs: Number(m[2]) });
    }
  }

  return {
    url,
    isProbe: values.probe ?? false,
    protocol: values.protocol === undefined ? MEDIA_SUBPROTOCOL : values.protocol === '' ? null : values.protocol,
    file: values.file,
    out: values.out,
    tailMs,
    signature: values.signature,
    authToken: values['auth-token'],
    streamTokenSecret: values['stream-token-secret'],
    params,
    dtmf,
    sendStop: !values['no-stop'],
    isListening: values.listen ?? false,
    isJson: values.json ?? false,
    isQuiet: values.quiet ?? false,
    isHelp: false,
  };
}
