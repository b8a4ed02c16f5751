// The incoming-call TwiML, read back as XML: <Response><Connect><Stream url> with one <Parameter> per value, the
// 500-character rule on name + value, no query string in the stream URL, and the optional status callback.
import { describe, expect, it } from 'vitest';
import { MAX_PARAMETER_CHARS, connectStreamTwiml, streamParametersFor } from '../../src/twilio/twiml.js';
import { parseXml, type XmlElement } from './xml.js';

const STREAM_URL = 'wss://voice.example.com/ws/twilio-media';

function streamOf(xml: string): XmlElement {
  const root = parseXml(xml);
  expect(root.name).toBe('Response');
  expect(root.children.map((c) => c.name)).toEqual(['Connect']);
  const connect = root.children[0] as XmlElement;
  expect(connect.children.map((c) => c.name)).toEqual(['Stream']);
  return connect.children[0] as XmlElement;
}
const paramsOf = (stream: XmlElement) =>
  stream.children.map((p) => {
    expect(p.name).toBe('Parameter');
    return [p.attributes['name'], p.attributes['value']];
  });

describe('connectStreamTwiml', () => {
  it('answers <Connect><Stream url> with the call parameters, in order, as XML', () => {
    const xml = connectStreamTwiml({
      streamUrl: STREAM_URL,
      parameters: { CallSid: 'CA123', From: '+15550100', To: '+15550101', StreamToken: 'lx2k.abc_-' },
    });
    expect(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>')).toBe(true);
    const stream = streamOf(xml);
    expect(stream.attributes).toEqual({ url: STREAM_URL });
    expect(paramsOf(stream)).toEqual([
      ['CallSid', 'CA123'],
      ['From', '+15550100'],
      ['To', '+15550101'],
      ['StreamToken', 'lx2k.abc_-'],
    ]);
  });

  it('escapes values so that they read back exactly', () => {
    const tricky = `<b>&"quotes" 'apos' שלום 🎉`;
    const stream = streamOf(connectStreamTwiml({ streamUrl: STREAM_URL, parameters: { From: tricky } }));
    expect(paramsOf(stream)).toEqual([['From', tricky]]);
  });

  it('adds the stream status callback when given', () => {
    const stream = streamOf(
      connectStreamTwiml({ streamUrl: STREAM_URL, parameters: {}, statusCallbackUrl: 'https://voice.example.com/webhook/stream-status' }),
    );
    expect(stream.attributes).toEqual({
      url: STREAM_URL,
      statusCallback: 'https://voice.example.com/webhook/stream-status',
      statusCallbackMethod: 'POST',
    });
    expect(stream.children).toEqual([]);
  });

  it('refuses a stream URL with a query string, a fragment, or a non-WebSocket scheme', () => {
    for (const url of [STREAM_URL + '?token=x', STREAM_URL + '#x', 'https://voice.example.com/ws/twilio-media', 'wss://', '']) {
      expect(() => connectStreamTwiml({ streamUrl: url, parameters: {} })).toThrow(RangeError);
    }
    expect(() => connectStreamTwiml({ streamUrl: 'ws://127.0.0.1:8080/ws/twilio-media', parameters: {} })).not.toThrow();
  });
});

describe('parameters stay under 500 characters each (name + value)', () => {
  it('truncates long values so that name + value < 500', () => {
    const [p] = streamParametersFor({ From: 'x'.repeat(2000) });
    expect(p?.name).toBe('From');
    expect((p?.name.length ?? 0) + (p?.value.length ?? 0)).toBe(MAX_PARAMETER_CHARS);
    const stream = streamOf(connectStreamTwiml({ streamUrl: STREAM_URL, parameters: { From: 'x'.repeat(2000) } }));
    const [[name, value]] = paramsOf(stream) as [[string, string]];
    expect(name.length + value.length).toBeLessThan(500);
  });

  it('omits empty names and names that alone reach the limit', () => {
    expect(streamParametersFor({ '': 'v', ['n'.repeat(499)]: 'v', ok: 'v' })).toEqual([{ name: 'ok', value: 'v' }]);
  });

  it('never splits a surrogate pair when truncating', () => {
    const name = 'N';
    const value = '🎉'.repeat(400); // 800 UTF-16 units
    const [p] = streamParametersFor({ [name]: value });
    expect(p?.value.length).toBe(498 - 0); // 498 units would split nothing: 249 emoji
    expect(/[\uD800-\uDBFF]$/.test(p?.value ?? '')).toBe(false);
    const [q] = streamParametersFor({ NN: value }); // room for 497 units: cut back to 496
    expect(q?.value.length).toBe(496);
  });

  it('drops characters XML cannot carry instead of failing the webhook', () => {
    const stream = streamOf(connectStreamTwiml({ streamUrl: STREAM_URL, parameters: { From: 'a\u0000b\u0007c\uFFFEd' } }));
    expect(paramsOf(stream)).toEqual([['From', 'abcd']]);
  });
});
