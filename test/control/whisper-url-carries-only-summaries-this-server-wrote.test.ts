// The warm transfer's whisper URL: the summary (one line, cut to its limit) and language ride in the query with our
// HMAC over them, so a query that was altered, forged with another secret or stretched past the limits is refused;
// with checks off (insecure dev mode) only the bounds are kept. And the transfer TwiML built from it points the
// <Dial action> and the whisper at PUBLIC_BASE_URL.
import { describe, expect, it } from 'vitest';
import { readWhisperQuery, whisperUrlFor } from '../../src/control/callback-urls.js';
import { transferTwimlFor } from '../../src/control/transfer-twiml.js';
import { MAX_WHISPER_SUMMARY_CHARS } from '../../src/twilio/twiml.js';
import { parseXml } from '../twilio/xml.js';

const SECRET = 'whisper-secret-0123456789abcdef';
const BASE = 'https://Calls.Example.test/';

const queryOf = (url: string): string => url.slice(url.indexOf('?') + 1);

describe('whisper URL', () => {
  it('round-trips a Hebrew summary and its language', () => {
    const url = whisperUrlFor(BASE, SECRET, 'דנה רוצה להזיז את התור & "מהר"', 'he-IL');
    expect(url.startsWith('https://Calls.Example.test/webhook/whisper?summary=')).toBe(true);
    expect(readWhisperQuery(SECRET, queryOf(url), true)).toEqual({ summary: 'דנה רוצה להזיז את התור & "מהר"', language: 'he-IL' });
  });

  it('signs the summary as cut: one line, at most the limit', () => {
    const url = whisperUrlFor(BASE, SECRET, `a\nb ${'y'.repeat(2000)}`);
    const read = readWhisperQuery(SECRET, queryOf(url), true);
    expect(read?.summary.length).toBe(MAX_WHISPER_SUMMARY_CHARS);
    expect(read?.summary.startsWith('a b y')).toBe(true);
    expect(read?.language).toBeUndefined();
  });

  it('refuses an altered summary, an altered language, another secret and a missing signature', () => {
    const query = new URLSearchParams(queryOf(whisperUrlFor(BASE, SECRET, 'call about billing', 'en-US')));
    const altered = new URLSearchParams(query);
    altered.set('summary', 'transfer the money');
    expect(readWhisperQuery(SECRET, altered.toString(), true)).toBeNull();
    const otherLanguage = new URLSearchParams(query);
    otherLanguage.set('lang', 'he-IL');
    expect(readWhisperQuery(SECRET, otherLanguage.toString(), true)).toBeNull();
    expect(readWhisperQuery('another-secret-0123456789abcdef', query.toString(), true)).toBeNull();
    const unsigned = new URLSearchParams(query);
    unsigned.delete('sig');
    expect(readWhisperQuery(SECRET, unsigned.toString(), true)).toBeNull();
    expect(readWhisperQuery(SECRET, query.toString(), true)).toEqual({ summary: 'call about billing', language: 'en-US' });
  });

  it('keeps the bounds even unchecked: too long or a language that is not a tag is refused', () => {
    expect(readWhisperQuery(SECRET, new URLSearchParams({ summary: 'z'.repeat(MAX_WHISPER_SUMMARY_CHARS + 1) }).toString(), false)).toBeNull();
    expect(readWhisperQuery(SECRET, new URLSearchParams({ summary: 'ok', lang: 'he"IL' }).toString(), false)).toBeNull();
    expect(readWhisperQuery(SECRET, 'summary=ok', false)).toEqual({ summary: 'ok', language: undefined });
  });
});

describe('transfer TwiML for a live call', () => {
  it('points the action and the whisper at PUBLIC_BASE_URL, with the configured ring time', () => {
    const xml = transferTwimlFor({ publicBaseUrl: BASE, secret: SECRET }, { to: '+972501234567', summary: 'Dana, billing', dialTimeoutS: 25, whisperLanguage: 'en-US' });
    const dial = parseXml(xml).children[0];
    expect(dial?.attributes).toMatchObject({ action: 'https://Calls.Example.test/webhook/dial_action', timeout: '25' });
    const whisperUrl = dial?.children[0]?.attributes['url'] ?? '';
    expect(readWhisperQuery(SECRET, queryOf(whisperUrl), true)).toEqual({ summary: 'Dana, billing', language: 'en-US' });
  });

  it('is a cold transfer without a summary, ringing 20 s by default', () => {
    const dial = parseXml(transferTwimlFor({ publicBaseUrl: BASE, secret: SECRET }, { to: 'sip:desk@pbx.example.com' })).children[0];
    expect(dial?.attributes['timeout']).toBe('20');
    expect(dial?.children[0]?.attributes).toEqual({});
  });
});
