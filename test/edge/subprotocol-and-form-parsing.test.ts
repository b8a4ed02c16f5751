// Pure pieces of the edge, without a server: how the Sec-WebSocket-Protocol list is read, which paths upgrade, how the
// handshake signature is checked (against Config.streamUrl, never the Host header), and the strict form parser.
import { describe, expect, it } from 'vitest';
import { getExpectedTwilioSignature } from 'twilio/lib/webhooks/webhooks.js';
import { isHandshakeSignatureValid, isMediaStreamPath, negotiateSubprotocol } from '../../src/edge/upgrade.js';
import { MalformedFormError, parseForm } from '../../src/edge/webhooks.js';

describe('negotiateSubprotocol', () => {
  it.each([
    ['audio.twilio.com', 'audio.twilio.com'],
    ['Audio.Twilio.COM', 'audio.twilio.com'],
    ['  audio.twilio.com  ', 'audio.twilio.com'],
    ['chat, audio.twilio.com', 'audio.twilio.com'],
    ['chat,AUDIO.twilio.com ,other', 'audio.twilio.com'],
    ['chat, superchat', ''],
    ['', ''],
    ['audio.twilio.com.evil', ''],
  ])('%j -> %j', (offered, answer) => {
    expect(negotiateSubprotocol(offered)).toBe(answer);
  });
});

describe('isMediaStreamPath', () => {
  it('accepts the path with and without a trailing slash only', () => {
    expect(isMediaStreamPath('/ws/twilio-media')).toBe(true);
    expect(isMediaStreamPath('/ws/twilio-media/')).toBe(true);
    expect(isMediaStreamPath('/ws/twilio-media//')).toBe(false);
    expect(isMediaStreamPath('/ws/other')).toBe(false);
    expect(isMediaStreamPath('/WS/TWILIO-MEDIA')).toBe(false);
  });
});

describe('isHandshakeSignatureValid', () => {
  const authToken = 'test-auth-token-0123456789';
  const config = { isSignatureCheckOn: true, twilioAuthToken: authToken, streamUrl: 'wss://edge.example.test/ws/twilio-media' };

  it('accepts the signature of the wss:// URL, with or without trailing slash', () => {
    expect(isHandshakeSignatureValid(config, getExpectedTwilioSignature(authToken, 'wss://edge.example.test/ws/twilio-media', {}))).toBe(true);
    expect(isHandshakeSignatureValid(config, getExpectedTwilioSignature(authToken, 'wss://edge.example.test/ws/twilio-media/', {}))).toBe(true);
  });

  it('refuses a missing, wrong-host or wrong-token signature', () => {
    expect(isHandshakeSignatureValid(config, '')).toBe(false);
    expect(isHandshakeSignatureValid(config, getExpectedTwilioSignature(authToken, 'wss://127.0.0.1/ws/twilio-media', {}))).toBe(false);
    expect(isHandshakeSignatureValid(config, getExpectedTwilioSignature('other-token', 'wss://edge.example.test/ws/twilio-media', {}))).toBe(false);
  });

  it('lets everything through in insecure dev mode', () => {
    expect(isHandshakeSignatureValid({ ...config, isSignatureCheckOn: false, twilioAuthToken: undefined }, '')).toBe(true);
  });
});

describe('parseForm', () => {
  it('decodes + and percent escapes, keeps empty values', () => {
    expect({ ...parseForm('CallSid=CA1&From=%2B15551234567&Caller+Name=J%C3%B6rg+K&Empty=&Flag') }).toEqual({
      CallSid: 'CA1', From: '+15551234567', 'Caller Name': 'Jörg K', Empty: '', Flag: '',
    });
  });

  it('reads fields without "=" between fields with one, and skips empty fields', () => {
    expect({ ...parseForm('A&B&C=1&&D&E=2+3&') }).toEqual({ A: '', B: '', C: '1', D: '', E: '2 3' });
    expect({ ...parseForm('A=x=y&B') }).toEqual({ A: 'x=y', B: '' });
    expect({ ...parseForm('&&') }).toEqual({});
  });

  it('throws MalformedFormError on bad percent-encoding or an empty name', () => {
    expect(() => parseForm('a=%zz')).toThrow(MalformedFormError);
    expect(() => parseForm('a=%E0%A4%A')).toThrow(MalformedFormError);
    expect(() => parseForm('=value')).toThrow(MalformedFormError);
  });
});
