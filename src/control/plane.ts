// The process's control plane, in the main thread: every edge thread forwards its calls' events here (per turn and
// per call, never per frame), so this is where a call is found by callSid (which thread owns it), where a command
// that arrived on one thread for a call owned by another is routed (the owning thread acts; nothing is executed on
// a copy), where what only Twilio can do is done (a `hang-up` event completes the Twilio call, a `transfer` event
// redirects it to <Dial>), and where records are fed (one writer per process). Each of those is a small interface
// handed in, so the plane is tested without threads or sockets and a slow REST call or database never blocks it.
// It also keeps the briefs of calls placed through the API (greeting, context) until their agents ask for them: here,
// and in the records database when there is one (sharedBriefs), so that another instance behind the same number that
// gets the call's answer finds the brief too. Both database calls are bounded (BRIEF_DATABASE_TIMEOUT_MS): a
// database that is down costs a placed call its brief on another instance, never the call.
import type { CallCommand, CallEvent, CommandResult } from '../call/events.js';
import type { CallStatusUpdate } from './call-recorder.js';
import { ErrorKind, LogEvent, log as rootLog, type Logger } from '../observability/log.js';
import { BRIEF_TTL_MS, LAUNCH_PARAM, OutboundBriefStore, type OutboundBrief, type SharedBriefStore } from './outbound-briefs.js';

/** How long placing a call waits for its brief to be written to the database, and an agent for one to be read. */
export const BRIEF_DATABASE_TIMEOUT_MS = 1500;

/** Carries a command to the edge thread that owns the call, and its answer back. */
export type CommandSender = (threadIndex: number, callSid: string, command: CallCommand) => Promise<CommandResult>;

/** What the plane asks of Twilio's REST API (src/control/twilio-rest.ts implements it). */
export interface CallControlRest {
  hangUp(callSid: string): Promise<unknown>;
  redirect(callSid: string, twiml: string): Promise<unknown>;
}

/** Where call events go to become records (src/control/call-recorder.ts). Never blocks, never throws. */
export interface CallEventRecorder {
  record(event: CallEvent): void;
  recordStatus?(update: CallStatusUpdate): void;
}

/** A read of the records, as the control API asks it (edge threads send it here: the reader lives in this thread). */
export type RecordsQuery =
  | { op: 'list'; limit?: number; before?: string }
  /** Messages callers left (GET /api/messages). */
  | { op: 'messages'; limit?: number; before?: string }
  | { op: 'get'; callSid: string }
  /** A number's latest calls, short (the agent's lookup_caller). */
  | { op: 'caller'; from: string; limit: number };
export type RecordsAnswer =
  | { ok: true; body: unknown }
  | { ok: false; code: 'records-off' | 'unknown-call' | 'bad-request' | 'records-error'; message: string; field?: string };

/** The reads the control API needs (src/records/queries.ts RecordsReader). */
export interface RecordsReadApi {
  listCalls(options: { limit?: number; before?: string }): Promise<unknown>;
  getCall(callSid: string): Promise<unknown | null>;
  listCallsFrom(from: string, limit: number): Promise<unknown>;
  listMessages(options: { limit?: number; before?: string }): Promise<unknown>;
}

export interface ControlPlaneOptions {
  sendCommand: CommandSender;
  records?: RecordsReadApi;
  /** Without it (no TWILIO_AUTH_TOKEN, a test), hang-ups end only the stream and transfers are refused in the log. */
  rest?: CallControlRest;
  /** The TwiML a transfer redirects the call to (src/twilio/twiml.ts builds it). */
  transferTwiml?: (event: Extract<CallEvent, { kind: 'transfer' }>) => string;
  recorder?: CallEventRecorder;
  /** Placed calls' briefs where the other instances find them (the records: src/records/briefs.ts). */
  sharedBriefs?: SharedBriefStore;
  /** What happens after a call (src/crm/after-call.ts: its summary): told of every event and status. Never throws. */
  afterCall?: { onCallEvent(event: CallEvent): void; onCallStatus(update: CallStatusUpdate): void };
  log?: Logger;
}

export interface ControlPlaneStats {
  eventsIn: number;
  commandsRouted: number;
  restFailures: number;
}

export class ControlPlane {
  private readonly owners = new Map<string, number>();
  private readonly briefs = new OutboundBriefStore();
  private readonly log: Logger;
  readonly stats: ControlPlaneStats = { eventsIn: 0, commandsRouted: 0, restFailures: 0 };

  constructor(private readonly options: ControlPlaneOptions) {
    this.log = options.log ?? rootLog;
  }

  /** The edge thread that owns `callSid` right now, if it is live. */
  ownerOf(callSid: string): number | undefined {
    return this.owners.get(callSid);
  }

  /** An event from edge thread `threadIndex`. Never throws. */
  onCallEvent(threadIndex: number, event: CallEvent): void {
    this.stats.eventsIn++;
    if (event.kind === 'call-started') this.owners.set(event.callSid, threadIndex);
    else if (event.kind === 'call-ended' && this.owners.get(event.callSid) === threadIndex) this.owners.delete(event.callSid);
    try {
      this.options.recorder?.record(event);
    } catch (error) {
      this.log.error({ event: LogEvent.CALL_COMMAND, errKind: ErrorKind.INTERNAL, callSid: event.callSid, err: error }, 'recorder threw');
    }
    if (event.kind === 'hang-up') this.completeCall(event.callSid, event.reason);
    else if (event.kind === 'transfer') this.transfer(event);
    else if (event.kind === 'call-started') void this.recordBrief(event);
    try {
      this.options.afterCall?.onCallEvent(event);
    } catch (error) {
      this.log.error({ event: LogEvent.CALL_SUMMARY, errKind: ErrorKind.INTERNAL, callSid: event.callSid, err: error }, 'after-call work threw');
    }
  }

  /**
   * A call about to be placed through the API: its brief, for its agent (src/control/outbound-briefs.ts). Resolves once
   * it is kept here and written to the shared store (or that failed or took too long: then logged). Never rejects.
   */
  async putBrief(launchId: string, brief: OutboundBrief): Promise<void> {
    this.briefs.put(launchId, brief, Date.now());
    const shared = this.options.sharedBriefs;
    if (shared === undefined) return;
    try {
      await withDeadline(shared.put(launchId, brief, BRIEF_TTL_MS), BRIEF_DATABASE_TIMEOUT_MS, 'writing the brief');
    } catch (error) {
      this.log.warn({ event: LogEvent.CALL_COMMAND, errKind: ErrorKind.RECORDS, launchId, err: error }, "a placed call's brief was not written to the records: another instance that answers the call starts its agent without it");
    }
  }

  /** The brief of a placed call, when its agent asks (undefined: unknown or expired). Never rejects. */
  async briefFor(launchId: string): Promise<OutboundBrief | undefined> {
    const local = this.briefs.get(launchId, Date.now());
    const shared = this.options.sharedBriefs;
    if (local !== undefined || shared === undefined) return local;
    try {
      return await withDeadline(shared.get(launchId), BRIEF_DATABASE_TIMEOUT_MS, 'reading the brief');
    } catch (error) {
      this.log.warn({ event: LogEvent.CALL_COMMAND, errKind: ErrorKind.RECORDS, launchId, err: error }, "a placed call's brief could not be read from the records");
      return undefined;
    }
  }

  /** A placed call's brief goes into its record, so that the record says what the call was for. */
  private async recordBrief(event: Extract<CallEvent, { kind: 'call-started' }>): Promise<void> {
    const launchId = event.customParameters[LAUNCH_PARAM];
    if (launchId === undefined || launchId.length === 0) return;
    const brief = await this.briefFor(launchId);
    if (brief === undefined) return;
    try {
      this.options.recorder?.record({ kind: 'note', callSid: event.callSid, atMs: event.atMs, note: 'brief', data: { ...brief } });
    } catch (error) {
      this.log.error({ event: LogEvent.CALL_COMMAND, errKind: ErrorKind.INTERNAL, callSid: event.callSid, err: error }, 'recorder threw');
    }
  }

  /** Answers a records read; never rejects. */
  async query(query: RecordsQuery): Promise<RecordsAnswer> {
    const reader = this.options.records;
    if (reader === undefined) return { ok: false, code: 'records-off', message: 'call records are off (RECORDS=off)' };
    try {
      if (query.op === 'list' || query.op === 'messages') {
        const page = { ...(query.limit !== undefined ? { limit: query.limit } : {}), ...(query.before !== undefined ? { before: query.before } : {}) };
        return { ok: true, body: await (query.op === 'list' ? reader.listCalls(page) : reader.listMessages(page)) };
      }
      if (query.op === 'caller') return { ok: true, body: await reader.listCallsFrom(query.from, query.limit) };
      const call = await reader.getCall(query.callSid);
      return call === null ? { ok: false, code: 'unknown-call', message: `no record of ${query.callSid}` } : { ok: true, body: call };
    } catch (error) {
      const field = (error as { field?: unknown }).field;
      if (typeof field === 'string') return { ok: false, code: 'bad-request', message: (error as Error).message, field };
      this.log.error({ event: LogEvent.CALL_COMMAND, errKind: ErrorKind.INTERNAL, err: error }, 'records read failed');
      return { ok: false, code: 'records-error', message: 'the records could not be read (the database may be down)' };
    }
  }

  /** One of Twilio's call status callbacks (from whichever thread took it). Never throws. */
  onCallStatus(update: CallStatusUpdate): void {
    try {
      this.options.recorder?.recordStatus?.(update);
      this.options.afterCall?.onCallStatus(update);
    } catch (error) {
      this.log.error({ event: LogEvent.CALL_COMMAND, errKind: ErrorKind.INTERNAL, callSid: update.callSid, err: error }, 'recorder threw');
    }
  }

  /** An edge thread died: its calls are gone. */
  onThreadLost(threadIndex: number): void {
    for (const [callSid, owner] of this.owners) if (owner === threadIndex) this.owners.delete(callSid);
  }

  /** Routes `command` to the thread that owns `callSid`. */
  async command(callSid: string, command: CallCommand): Promise<CommandResult> {
    const owner = this.owners.get(callSid);
    if (owner === undefined) return { ok: false, code: 'unknown-call', message: `no live call ${callSid}` };
    this.stats.commandsRouted++;
    try {
      return await this.options.sendCommand(owner, callSid, command);
    } catch (error) {
      return { ok: false, code: 'call-ended', message: error instanceof Error ? error.message : String(error) };
    }
  }

  /** Completes the Twilio call (the stream is already ending); a call already over counts as done (the client says). */
  private completeCall(callSid: string, reason: string): void {
    const rest = this.options.rest;
    if (rest === undefined) return;
    rest.hangUp(callSid).then(
      () => this.log.info({ event: LogEvent.CALL_COMMAND, callSid, command: 'hang-up', reason }, 'call completed through Twilio'),
      (error: unknown) => {
        this.stats.restFailures++;
        this.log.error({ event: LogEvent.CALL_COMMAND, errKind: ErrorKind.PROVIDER_HTTP, callSid, command: 'hang-up', err: error }, 'could not complete the call through Twilio');
      },
    );
  }

  private transfer(event: Extract<CallEvent, { kind: 'transfer' }>): void {
    const { rest, transferTwiml } = this.options;
    if (rest === undefined || transferTwiml === undefined) {
      this.log.warn({ event: LogEvent.CALL_COMMAND, errKind: ErrorKind.CONFIG, callSid: event.callSid, command: 'transfer' }, 'transfer needs Twilio REST credentials; not done');
      return;
    }
    rest.redirect(event.callSid, transferTwiml(event)).then(
      () => this.log.info({ event: LogEvent.CALL_COMMAND, callSid: event.callSid, command: 'transfer', to: event.to, isWarm: event.isWarm }, 'call redirected to the transfer'),
      (error: unknown) => {
        this.stats.restFailures++;
        this.log.error({ event: LogEvent.CALL_COMMAND, errKind: ErrorKind.PROVIDER_HTTP, callSid: event.callSid, command: 'transfer', err: error }, 'could not transfer the call');
      },
    );
  }
}

/** `promise`, or a rejection after `timeoutMs` (the promise itself is left to settle). */
function withDeadline<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<T>((_, fail) => {
      timer = setTimeout(() => fail(new Error(`${what} took longer than ${timeoutMs} ms`)), timeoutMs);
    }),
  ]).finally(() => clearTimeout(timer));
}
