// Signatures computed with twilio's own getExpectedTwilioSignature: webhooks valid/missing/tampered, the stream
// handshake's wss:// URL with and without trailing slash (the case twilio's with-port variant cannot match), the
// public URL built from PUBLIC_BASE_URL (kept as typed: a host with capitals validates whichever form Twilio signed),
// and the stream token's binding, expiry and tamper checks.
import { describe, expect, it } from 'vitest';
import twilio from 'twilio';
import { loadConfig } from '../../src/config.js';
import {
  createStreamToken,
  deriveStreamTokenSecret,
  publicUrlFor,
  streamUrlFor,
  validateStreamSignature,
  validateWebhookSignature,
  verifyStreamToken,
} from '../../src/twilio/signature.js';

const TOKEN = '12345678901234567890123456789012';
const sign = (url: string, params: Record<string, string> = {}) => twilio.getExpectedTwilioSignature(TOKEN, url, params);

describe('validateWebhookSignature', () => {
  const url = 'https://voice.example.com/webhook/incoming_call';
  const params = { CallSid: 'CA123', From: '+15550100', To: '+15550101', AccountSid: 'AC1' };

  it('accepts the signature Twilio computes over URL + sorted params', () => {
    expect(validateWebhookSignature(TOKEN, url, params, sign(url, params))).toBe(true);
  });

  it('keeps PUBLIC_BASE_URL as typed, and accepts a signature over it or over its lower-case form, nothing else', () => {
    const config = loadConfig({ TWILIO_AUTH_TOKEN: TOKEN, PUBLIC_BASE_URL: 'https://Voice.Example.com/' });
    expect(config.publicBaseUrl).toBe('https://Voice.Example.com');
    const publicUrl = publicUrlFor(config.publicBaseUrl, '/webhook/incoming_call?Tenant=A');
    expect(publicUrl).toBe('https://Voice.Example.com/webhook/incoming_call?Tenant=A');
    expect(validateWebhookSignature(TOKEN, publicUrl, params, sign(publicUrl, params))).toBe(true);
    const lowered = 'https://voice.example.com/webhook/incoming_call?Tenant=A';
    expect(validateWebhookSignature(TOKEN, publicUrl, params, sign(lowered, params))).toBe(true);
    // the path and query keep their case: a signature over a lower-cased path is not Twilio's
    expect(validateWebhookSignature(TOKEN, publicUrl, params, sign(lowered.toLowerCase(), params))).toBe(false);
    expect(validateWebhookSignature(TOKEN, publicUrl, { ...params, To: '+15550199' }, sign(lowered, params))).toBe(false);
  });

  it('accepts a query string that is part of the signed URL', () => {
    const withQuery = url + '?tenant=a&x=%20y';
    expect(validateWebhookSignature(TOKEN, withQuery, params, sign(withQuery, params))).toBe(true);
  });

  it('refuses a missing, empty or tampered signature, tampered params, another URL or another token', () => {
    const good = sign(url, params);
    expect(validateWebhookSignature(TOKEN, url, params, undefined)).toBe(false);
    expect(validateWebhookSignature(TOKEN, url, params, '')).toBe(false);
    expect(validateWebhookSignature(TOKEN, url, params, good.slice(0, -2) + 'AA')).toBe(false);
    expect(validateWebhookSignature(TOKEN, url, { ...params, To: '+15550199' }, good)).toBe(false);
    expect(validateWebhookSignature(TOKEN, url, { ...params, Extra: '1' }, good)).toBe(false);
    expect(validateWebhookSignature(TOKEN, 'https://evil.example.com/webhook/incoming_call', params, good)).toBe(false);
    expect(validateWebhookSignature('another-token-another-token-xxxx', url, params, good)).toBe(false);
  });

  it('never throws on an unparsable URL', () => {
    expect(validateWebhookSignature(TOKEN, 'not a url', {}, 'abc')).toBe(false);
  });
});

describe('validateStreamSignature (the media WebSocket handshake)', () => {
  const streamUrl = 'wss://voice.example.com/ws/twilio-media';

  it('accepts the wss:// URL signed with empty params, with or without a trailing slash', () => {
    expect(validateStreamSignature(TOKEN, streamUrl, sign(streamUrl))).toBe(true);
    expect(validateStreamSignature(TOKEN, streamUrl, sign(streamUrl + '/'))).toBe(true);
    expect(validateStreamSignature(TOKEN, streamUrl + '/', sign(streamUrl))).toBe(true);
  });

  it('does not depend on twilio.validateRequest\'s with-port form, which appends :80 to wss://', () => {
    // what the with-port variant would compare against: never what Twilio signed
    expect(validateStreamSignature(TOKEN, streamUrl, sign('wss://voice.example.com:80/ws/twilio-media'))).toBe(false);
  });

  it('accepts a URL with an explicit port signed either with or without it', () => {
    const withPort = 'wss://voice.example.com:8443/ws/twilio-media';
    expect(validateStreamSignature(TOKEN, withPort, sign(withPort))).toBe(true);
    expect(validateStreamSignature(TOKEN, withPort, sign('wss://voice.example.com/ws/twilio-media'))).toBe(true);
  });

  it('refuses missing, tampered, other-host and other-token signatures', () => {
    expect(validateStreamSignature(TOKEN, streamUrl, undefined)).toBe(false);
    expect(validateStreamSignature(TOKEN, streamUrl, '')).toBe(false);
    expect(validateStreamSignature(TOKEN, streamUrl, sign('wss://other.example.com/ws/twilio-media'))).toBe(false);
    expect(validateStreamSignature(TOKEN, streamUrl, sign(streamUrl, { a: 'b' }))).toBe(false);
    expect(validateStreamSignature(TOKEN, streamUrl, twilio.getExpectedTwilioSignature('x'.repeat(32), streamUrl, {}))).toBe(false);
    expect(validateStreamSignature(TOKEN, streamUrl, sign(streamUrl).toLowerCase())).toBe(false);
  });
});

describe('public URLs', () => {
  it('publicUrlFor joins the origin and the path+query Twilio requested', () => {
    expect(publicUrlFor('https://voice.example.com', '/webhook/incoming_call')).toBe('https://voice.example.com/webhook/incoming_call');
    expect(publicUrlFor('https://voice.example.com/', '/webhook/status?a=1')).toBe('https://voice.example.com/webhook/status?a=1');
    expect(publicUrlFor('https://voice.example.com', 'webhook/status')).toBe('https://voice.example.com/webhook/status');
  });

  it('streamUrlFor maps https to wss (http to ws) and keeps a non-default port', () => {
    expect(streamUrlFor('https://voice.example.com')).toBe('wss://voice.example.com/ws/twilio-media');
    expect(streamUrlFor('https://voice.example.com/')).toBe('wss://voice.example.com/ws/twilio-media');
    expect(streamUrlFor('https://voice.example.com:8443')).toBe('wss://voice.example.com:8443/ws/twilio-media');
    expect(streamUrlFor('https://voice.example.com:443')).toBe('wss://voice.example.com/ws/twilio-media');
    expect(streamUrlFor('http://127.0.0.1:8080')).toBe('ws://127.0.0.1:8080/ws/twilio-media');
  });

  it('a stream URL built by streamUrlFor and signed by Twilio validates', () => {
    const url = streamUrlFor('https://abc.ngrok.app');
    expect(validateStreamSignature(TOKEN, url, sign(url))).toBe(true);
  });
});

describe('stream tokens', () => {
  const secret = deriveStreamTokenSecret(TOKEN);
  const now = 1_700_000_000_000;

  it('the derived secret is deterministic and depends on the auth token', () => {
    expect(deriveStreamTokenSecret(TOKEN)).toBe(secret);
    expect(deriveStreamTokenSecret(TOKEN + 'x')).not.toBe(secret);
    expect(secret).not.toContain(TOKEN);
  });

  it('verifies for the same call until it expires, then fails', () => {
    const token = createStreamToken(secret, 'CA1', now, 60_000);
    expect(token).toMatch(/^[0-9a-z]+\.[A-Za-z0-9_-]{43}$/);
    expect(verifyStreamToken(secret, token, 'CA1', now)).toBe(true);
    expect(verifyStreamToken(secret, token, 'CA1', now + 60_000)).toBe(true);
    expect(verifyStreamToken(secret, token, 'CA1', now + 60_001)).toBe(false);
  });

  it('fails for another call, another secret, or any tampering', () => {
    const token = createStreamToken(secret, 'CA1', now, 60_000);
    expect(verifyStreamToken(secret, token, 'CA2', now)).toBe(false);
    expect(verifyStreamToken('another-secret-of-some-length', token, 'CA1', now)).toBe(false);
    const [expiry, mac] = token.split('.') as [string, string];
    const later = (parseInt(expiry, 36) + 3_600_000).toString(36);
    expect(verifyStreamToken(secret, `${later}.${mac}`, 'CA1', now)).toBe(false); // extended expiry
    expect(verifyStreamToken(secret, `${expiry}.${mac.slice(0, -1)}A`, 'CA1', now)).toBe(false);
    for (const junk of ['', '.', 'abc', `${expiry}.`, `.${mac}`, `-1.${mac}`, 'x'.repeat(500), `${expiry}.${mac}.x`]) {
      expect(verifyStreamToken(secret, junk, 'CA1', now)).toBe(false);
    }
    expect(verifyStreamToken(secret, undefined as unknown as string, 'CA1', now)).toBe(false);
  });
});
