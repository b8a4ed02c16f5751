// A fake of Twilio's REST API for calls, on 127.0.0.1, speaking Twilio's wire format so that the real `twilio` SDK can
// be driven against it: form-encoded POSTs to /2010-04-01/Accounts/{AccountSid}/Calls.json (create) and
// /Calls/{CallSid}.json (update: Status=completed hangs up, Twiml or Url redirects), Basic auth checked, JSON call
// resources shaped like Twilio's, and Twilio's error JSON { code, message, more_info, status } for bad credentials
// (20003), unknown calls (20404) and calls no longer in progress (21220). Every request is recorded (path, headers,
// form fields with repeated keys as arrays) so tests can assert what was sent; a test can also make the next answers
// fail with a status of its choosing, or hang.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type FakeCallStatus = 'queued' | 'ringing' | 'in-progress' | 'completed' | 'busy' | 'failed' | 'no-answer' | 'canceled';

export interface FakeCall {
  sid: string;
  status: FakeCallStatus;
  to: string;
  from: string;
  direction: 'inbound' | 'outbound-api';
  /** The last TwiML the call was redirected to (Twiml=), or null. */
  twiml: string | null;
  /** The last URL the call was sent to (Url=), or null. */
  url: string | null;
}

export interface RecordedTwilioRequest {
  method: string;
  /** The path as requested, query string excluded. */
  path: string;
  headers: IncomingMessage['headers'];
  /** Form fields; a key given more than once (StatusCallbackEvent) is an array, in order. */
  form: Record<string, string | string[]>;
  receivedAtMs: number;
}

/** What the fake does with the next request instead of answering it: fail with this HTTP status and code, or hang. */
export type InjectedAnswer = { status: number; code: number; message?: string } | 'hang';

export interface TwilioRestFakeOptions {
  accountSid: string;
  authToken: string;
  /** A path before /2010-04-01 that requests must carry (a proxy's prefix), e.g. "/proxy". Default none. */
  basePath?: string;
}

const OVER: ReadonlySet<FakeCallStatus> = new Set(['completed', 'busy', 'failed', 'no-answer', 'canceled']);

export class TwilioRestFake {
  readonly requests: RecordedTwilioRequest[] = [];
  readonly calls = new Map<string, FakeCall>();
  /** Consumed one per request, before the normal handling. */
  readonly injected: InjectedAnswer[] = [];
  port = 0;
  private readonly server: Server;
  private readonly options: Required<TwilioRestFakeOptions>;

  constructor(options: TwilioRestFakeOptions) {
    this.options = { basePath: '', ...options };
    this.server = createServer((req, res) => this.handle(req, res));
  }

  /** http://127.0.0.1:PORT plus the base path: what TWILIO_API_BASE_URL is set to. */
  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}${this.options.basePath}`;
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** A call that exists on "Twilio" (an inbound call in progress, say); returns it. */
  addCall(fields: Partial<FakeCall> = {}): FakeCall {
    const call: FakeCall = {
      sid: fields.sid ?? newSid('CA'), status: 'in-progress', to: '+15550001111', from: '+15550002222', direction: 'inbound',
      twiml: null, url: null, ...fields,
    };
    this.calls.set(call.sid, call);
    return call;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      const form: Record<string, string | string[]> = {};
      for (const [key, value] of new URLSearchParams(Buffer.concat(chunks).toString('utf8'))) {
        const previous = form[key];
        form[key] = previous === undefined ? value : Array.isArray(previous) ? [...previous, value] : [previous, value];
      }
      this.requests.push({ method: req.method ?? '', path, headers: req.headers, form, receivedAtMs: Date.now() });
      const injected = this.injected.shift();
      if (injected === 'hang') return; // never answered: the client's deadline must end it
      if (injected !== undefined) {
        this.error(res, injected.status, injected.code, injected.message ?? 'Injected failure');
        return;
      }
      this.route(req, res, path, form);
    });
  }

  private route(req: IncomingMessage, res: ServerResponse, path: string, form: Record<string, string | string[]>): void {
    const { accountSid, authToken, basePath } = this.options;
    if (!path.startsWith(`${basePath}/2010-04-01/`)) {
      this.error(res, 404, 20404, `The requested resource ${path} was not found`);
      return;
    }
    const expected = 'Basic ' + Buffer.from(`${accountSid}:${authToken}`).toString('base64');
    if (req.headers.authorization !== expected) {
      this.error(res, 401, 20003, 'Authenticate');
      return;
    }
    const rest = path.slice(basePath.length);
    const match = /^\/2010-04-01\/Accounts\/(AC[0-9a-f]{32})\/Calls(?:\/(CA[0-9a-f]{32}))?\.json$/.exec(rest);
    if (match === null || match[1] !== accountSid || req.method !== 'POST') {
      this.error(res, 404, 20404, `The requested resource ${rest} was not found`);
      return;
    }
    const text = (name: string): string | undefined => {
      const value = form[name];
      return Array.isArray(value) ? value[value.length - 1] : value;
    };
    const callSid = match[2];
    if (callSid === undefined) {
      const to = text('To');
      const from = text('From');
      if (!to) return this.error(res, 400, 21201, "No 'To' number is specified");
      if (!from) return this.error(res, 400, 21213, "No 'From' number is specified");
      if (!text('Url') && !text('Twiml') && !text('ApplicationSid')) return this.error(res, 400, 21205, 'Url parameter is required');
      const call = this.addCall({ status: 'queued', to, from, direction: 'outbound-api', url: text('Url') ?? null, twiml: text('Twiml') ?? null });
      this.json(res, 201, this.resourceOf(call));
      return;
    }
    const call = this.calls.get(callSid);
    if (call === undefined) {
      this.error(res, 404, 20404, `The requested resource ${rest} was not found`);
      return;
    }
    if (OVER.has(call.status)) {
      this.error(res, 400, 21220, 'Unable to update record. Call is not in-progress. Cannot redirect.');
      return;
    }
    const status = text('Status');
    if (status === 'completed' || status === 'canceled') call.status = status;
    else if (status !== undefined) return this.error(res, 400, 21218, `Invalid Status ${status}`);
    const twiml = text('Twiml');
    if (twiml !== undefined) call.twiml = twiml;
    const url = text('Url');
    if (url !== undefined) call.url = url;
    this.json(res, 200, this.resourceOf(call));
  }

  /** A call resource as Twilio's JSON has it (the fields the SDK maps; the rest null). */
  private resourceOf(call: FakeCall): Record<string, unknown> {
    const now = new Date().toUTCString().replace('GMT', '+0000');
    return {
      sid: call.sid, account_sid: this.options.accountSid, parent_call_sid: null, to: call.to, to_formatted: call.to,
      from: call.from, from_formatted: call.from, phone_number_sid: null, status: call.status, start_time: null,
      end_time: null, duration: null, price: null, price_unit: 'USD', direction: call.direction, answered_by: null,
      api_version: '2010-04-01', forwarded_from: null, group_sid: null, caller_name: null, queue_time: '0', trunk_sid: null,
      date_created: now, date_updated: now,
      uri: `/2010-04-01/Accounts/${this.options.accountSid}/Calls/${call.sid}.json`,
      subresource_uris: {},
    };
  }

  private json(res: ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(body));
  }

  private error(res: ServerResponse, status: number, code: number, message: string): void {
    this.json(res, status, { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status });
  }
}

export function newSid(prefix: 'CA' | 'AC'): string {
  return prefix + randomBytes(16).toString('hex');
}
