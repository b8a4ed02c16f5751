// The after-call work as the configuration asks for it: with the AI agent (an OpenAI key) and the records on, every
// call is summarized (CALL_SUMMARIES=off turns it off); the agent file's summary.fields shape the summary and its
// summary.webhook receives it (signed with WEBHOOK_SIGNING_SECRET). Imported only then: it loads the openai SDK.
import OpenAI from 'openai';
import type { Config } from '../config.js';
import type { Logger } from '../observability/log.js';
import type { Records } from '../records/records.js';
import { signatureHeaderValue } from '../agent/tools/signature.js';
import { AfterCallWork } from './after-call.js';
import { summarizeCall } from './summarizer.js';
import { SummaryOutbox } from './summary-outbox.js';

/** The summary's own time limit between two chunks (it is not on a caller's clock). */
const SUMMARY_TIMEOUT_MS = 30_000;

export function afterCallWorkFromConfig(config: Config, records: Records, log: Logger): AfterCallWork {
  const client = new OpenAI({
    apiKey: config.openai.apiKey,
    ...(config.openai.baseUrl !== undefined ? { baseURL: config.openai.baseUrl } : {}),
    maxRetries: 0,
    timeout: SUMMARY_TIMEOUT_MS + 5_000,
  });
  const secret = config.webhookSigningSecret;
  const outbox = new SummaryOutbox(records.database, {
    // the config refuses a summary webhook without a secret; a summary kept only in the records is never signed
    sign: (body, nowMs) => signatureHeaderValue(secret ?? '', body, Math.floor(nowMs / 1000)),
    log,
  });
  const fieldsSchema = config.agent.summary?.fields;
  const webhookUrl = config.agent.summary?.webhook;
  return new AfterCallWork({
    database: records.database,
    readCall: (callSid) => records.reader.getCall(callSid),
    summarize: (call, signal) => summarizeCall(call, {
      client, model: config.openai.summaryModel, timeoutMs: SUMMARY_TIMEOUT_MS, language: config.language.code,
      ...(fieldsSchema !== undefined ? { fieldsSchema: fieldsSchema as Record<string, unknown> } : {}),
    }, signal),
    outbox,
    ...(webhookUrl !== undefined ? { webhookUrl } : {}),
    instance: { id: records.instanceId, deadInstances: () => records.deadInstances() },
    log,
  });
}
