// The incoming-call TwiML, read back as XML: <Response><Connect><Stream url> with one <Parameter> per value, the
// 500-character rule on name + value, no query string in the stream URL, and the optional status callback; and the
// template the webhook renders, proved byte-identical to a fresh VoiceResponse over escaping, stripping and cutting.
// Call control's TwiML too: the transfer's <Dial> (number or SIP, action, timeout, whisper URL), the whisper's <Say>
// (one escaped line, cut to its limit) and <Hangup/>.
import { describe, expect, it } from 'vitest';
import VoiceResponse from 'twilio/lib/twiml/VoiceResponse.js';
import {
  MAX_PARAMETER_CHARS,
  MAX_WHISPER_SUMMARY_CHARS,
  connectStreamTwiml,
  createConnectStreamTemplate,
  escapeAttributeValue,
  hangupTwiml,
  streamParametersFor,
  transferTwiml,
  whisperTwiml,
} from '../../src/twilio/twiml.js';
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

describe('createConnectStreamTemplate renders what VoiceResponse builds, byte for byte', () => {
  const STATUS_URL = 'https://voice.example.com/webhook/stream-status';
  const NAMES = ['callSid', 'from', 'to', 'StreamToken'];

  // A seeded generator (mulberry32) so that a failure reproduces.
  function random(seed: number): () => number {
    let a = seed >>> 0;
    return () => {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }
  // Escaped characters, characters XML cannot carry, lone and paired surrogates, the placeholder characters themselves.
  const PIECES = ['a', 'Z', '0', '+', ' ', '&', '<', '>', '"', "'", '\t', '\n', '\r', '&amp;', 'ש', 'ל', 'ö', '🎉', '\uD83D', '\uDE00',
    '\u0000', '\u0007', '\u001F', '\uFFFE', '\uFFFF', '\uE000', '\uE001', '\uE0000\uE001', '%2B', ';', '='];
  function randomValue(next: () => number, maxLength: number): string {
    const length = Math.floor(next() * maxLength);
    let out = '';
    while (out.length < length) out += PIECES[Math.floor(next() * PIECES.length)];
    return out;
  }
  const fresh = (names: readonly string[], values: readonly string[], statusCallbackUrl?: string): string =>
    connectStreamTwiml({
      streamUrl: STREAM_URL,
      parameters: Object.fromEntries(names.map((name, i) => [name, values[i] ?? ''])),
      ...(statusCallbackUrl !== undefined ? { statusCallbackUrl } : {}),
    });

  it('matches a VoiceResponse built by hand for a plain call', () => {
    const template = createConnectStreamTemplate({ streamUrl: STREAM_URL, parameterNames: NAMES, statusCallbackUrl: STATUS_URL });
    const values = ['CA' + '2'.repeat(32), '+15551230000', '+15557650000', 'lx2k.abc_-'];
    const response = new VoiceResponse();
    const stream = response.connect().stream({ url: STREAM_URL, statusCallback: STATUS_URL, statusCallbackMethod: 'POST' });
    NAMES.forEach((name, i) => stream.parameter({ name, value: values[i] }));
    expect(template.render(values)).toBe(response.toString());
  });

  it('matches for values that need escaping, stripping or cutting (2,000 seeded random cases)', () => {
    const next = random(20261124);
    const withCallback = createConnectStreamTemplate({ streamUrl: STREAM_URL, parameterNames: NAMES, statusCallbackUrl: STATUS_URL });
    const without = createConnectStreamTemplate({ streamUrl: STREAM_URL, parameterNames: NAMES });
    for (let n = 0; n < 2000; n++) {
      // mostly short values, some around and past the 500-character limit
      const values = NAMES.map(() => randomValue(next, next() < 0.8 ? 40 : 1200));
      expect(withCallback.render(values)).toBe(fresh(NAMES, values, STATUS_URL));
      expect(without.render(values)).toBe(fresh(NAMES, values));
    }
  });

  it('matches at the 500-character limit, including a surrogate pair across the cut', () => {
    const names = ['N', 'from', 'n'.repeat(400)];
    const template = createConnectStreamTemplate({ streamUrl: STREAM_URL, parameterNames: names });
    for (const length of [0, 1, 97, 98, 99, 100, 494, 495, 496, 497, 498, 499, 500, 2000]) {
      for (const unit of ['x', '&', '"', '🎉', 'a🎉', '\u0000x']) {
        const value = unit.repeat(Math.ceil(length / unit.length)).slice(0, length);
        const values = [value, value, value];
        expect(template.render(values)).toBe(fresh(names, values));
      }
    }
  });

  it('matches with empty values, any number of parameters, and odd but legal names', () => {
    for (const names of [[], ['callSid'], ['a b', 'x&y', 'q"<>\'', 'שלום', '🎉'], NAMES]) {
      const template = createConnectStreamTemplate({ streamUrl: STREAM_URL, parameterNames: names });
      const values = names.map(() => '');
      expect(template.render(values)).toBe(fresh(names, values));
      const filled = names.map((name) => `${name}=<&>`);
      expect(template.render(filled)).toBe(fresh(names, filled));
    }
  });

  it('refuses names streamParametersFor would drop or change, repeated names, and a wrong number of values', () => {
    for (const bad of [[''], ['n'.repeat(MAX_PARAMETER_CHARS)], ['a\u0000b'], ['x', 'x']]) {
      expect(() => createConnectStreamTemplate({ streamUrl: STREAM_URL, parameterNames: bad })).toThrow(RangeError);
    }
    const template = createConnectStreamTemplate({ streamUrl: STREAM_URL, parameterNames: NAMES });
    expect(() => template.render(['only one'])).toThrow(RangeError);
  });

  it('refuses a stream URL Twilio would reject, as connectStreamTwiml does', () => {
    expect(() => createConnectStreamTemplate({ streamUrl: STREAM_URL + '?token=x', parameterNames: NAMES })).toThrow(RangeError);
  });
});

describe('escapeAttributeValue', () => {
  it('escapes what xmlbuilder escapes in attribute values and nothing else', () => {
    expect(escapeAttributeValue(`a&b<c>d"e'f\tg\nh\ri`)).toBe('a&amp;b&lt;c>d&quot;e\'f&#x9;g&#xA;h&#xD;i');
    expect(escapeAttributeValue('&amp;')).toBe('&amp;amp;');
    const plain = '+15551230000 שלום 🎉';
    expect(escapeAttributeValue(plain)).toBe(plain);
  });
});

describe('transferTwiml', () => {
  const ACTION = 'https://voice.example.com/webhook/dial_action';

  it('dials a number with our action and the ring timeout (a cold transfer: no whisper)', () => {
    const root = parseXml(transferTwiml({ target: '+972501234567', actionUrl: ACTION, timeoutS: 20 }));
    expect(root.children.map((c) => c.name)).toEqual(['Dial']);
    const dial = root.children[0] as XmlElement;
    expect(dial.attributes).toEqual({ action: ACTION, method: 'POST', timeout: '20' });
    expect(dial.children.map((c) => [c.name, c.text, c.attributes])).toEqual([['Number', '+972501234567', {}]]);
  });

  it('dials a SIP address with <Sip>, and a warm transfer puts the whisper URL on it (escaped, read back whole)', () => {
    const whisperUrl = 'https://voice.example.com/webhook/whisper?summary=a+b&lang=he-IL&sig=x_y';
    const dial = parseXml(transferTwiml({ target: 'sip:desk@pbx.example.com;transport=tls', actionUrl: ACTION, timeoutS: 30, whisperUrl, callerId: '+15005550006' })).children[0] as XmlElement;
    expect(dial.attributes['callerId']).toBe('+15005550006');
    expect(dial.children[0]?.name).toBe('Sip');
    expect(dial.children[0]?.text).toBe('sip:desk@pbx.example.com;transport=tls');
    expect(dial.children[0]?.attributes).toEqual({ url: whisperUrl, method: 'POST' });
    const number = parseXml(transferTwiml({ target: '+15005550001', actionUrl: ACTION, timeoutS: 30, whisperUrl })).children[0]?.children[0];
    expect(number?.name).toBe('Number');
    expect(number?.attributes['url']).toBe(whisperUrl);
  });

  it('refuses what Twilio would: a target that is neither E.164 nor SIP, a timeout outside 5..600, a relative action', () => {
    expect(() => transferTwiml({ target: '0501234567', actionUrl: ACTION, timeoutS: 20 })).toThrow(RangeError);
    expect(() => transferTwiml({ target: '+97250<x>', actionUrl: ACTION, timeoutS: 20 })).toThrow(RangeError);
    expect(() => transferTwiml({ target: '+972501234567', actionUrl: ACTION, timeoutS: 4 })).toThrow(RangeError);
    expect(() => transferTwiml({ target: '+972501234567', actionUrl: ACTION, timeoutS: 601 })).toThrow(RangeError);
    expect(() => transferTwiml({ target: '+972501234567', actionUrl: '/webhook/dial_action', timeoutS: 20 })).toThrow(RangeError);
  });
});

describe('whisperTwiml', () => {
  it('says the summary, escaped, with the language asked for', () => {
    const summary = `Dana <VIP> & "urgent": רוצה להזיז תור`;
    const root = parseXml(whisperTwiml({ summary, language: 'he-IL' }));
    expect(root.children.map((c) => [c.name, c.text, c.attributes])).toEqual([['Say', summary, { language: 'he-IL' }]]);
  });

  it('makes the summary one line and cuts it to the limit', () => {
    const say = parseXml(whisperTwiml({ summary: `line one\n\tline two   ${'x'.repeat(1000)}` })).children[0];
    expect(say?.text.startsWith('line one line two x')).toBe(true);
    expect(say?.text.length).toBe(MAX_WHISPER_SUMMARY_CHARS);
  });

  it('says nothing for a blank summary (the person is bridged at once)', () => {
    expect(parseXml(whisperTwiml({ summary: ' \n ' })).children).toEqual([]);
  });
});

describe('hangupTwiml', () => {
  it('is <Response><Hangup/></Response>', () => {
    expect(parseXml(hangupTwiml()).children.map((c) => c.name)).toEqual(['Hangup']);
  });
});
