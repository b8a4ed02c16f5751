// The signature on every request this server makes to someone else's HTTP endpoint (the agent file's tools, the
// end-of-call summary's webhook), so that the receiver can check it came from us and is fresh:
//   X-AiCrmd-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(WEBHOOK_SIGNING_SECRET, t + "." + raw body)>
// The time is inside the signed text: a captured request replayed later fails the receiver's freshness window (the
// README's check, examples/verify-signature.mjs, allows 5 minutes either way).
import { createHmac } from 'node:crypto';

export const SIGNATURE_HEADER = 'X-AiCrmd-Signature';

/** The header's value for `rawBody` (the exact bytes sent), signed at `nowS` (unix seconds). */
export function signatureHeaderValue(secret: string, rawBody: string | Uint8Array, nowS: number = Math.floor(Date.now() / 1000)): string {
  const t = String(Math.floor(nowS));
  const v1 = createHmac('sha256', secret).update(`${t}.`).update(rawBody).digest('hex');
  return `t=${t},v1=${v1}`;
}
