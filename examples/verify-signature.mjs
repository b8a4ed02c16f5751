// Checks that a request came from your ai-crmd server and is fresh: give it your WEBHOOK_SIGNING_SECRET, the raw
// request body (the exact bytes, before any JSON parsing) and the X-AiCrmd-Signature header. Node 18+, no packages.
import { createHmac, timingSafeEqual } from 'node:crypto';

export function verifyAiCrmdSignature(secret, rawBody, header, nowS = Math.floor(Date.now() / 1000)) {
  const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header ?? '');
  if (match === null) return false;
  if (Math.abs(nowS - Number(match[1])) > 300) return false; // older than 5 minutes (or from the future): a replay
  const expected = createHmac('sha256', secret).update(`${match[1]}.`).update(rawBody).digest();
  return timingSafeEqual(expected, Buffer.from(match[2], 'hex'));
}
