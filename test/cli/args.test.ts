// The CLI's options: the URL given either way, --probe without a file, repeatable --params and --dtmf, and exact
// usage errors for what is wrong.
import { describe, expect, it } from 'vitest';
import { USAGE, UsageError, parseCallArgs } from '../../src/cli/args.js';

const URL_ = 'wss://voice.example.com/ws/twilio-media';

describe('parseCallArgs', () => {
  it('takes the runbook form: --probe URL', () => {
    const args = parseCallArgs(['--probe', URL_]);
    expect(args).toMatchObject({ url: URL_, isProbe: true, protocol: 'audio.twilio.com', file: undefined, isHelp: false });
  });

  it('takes a full call', () => {
    const args = parseCallArgs([
      '--url', URL_, '--file', 'a.ul', '--out', 'b.wav', '--tail-ms', '500', '--auth-token', 'tok',
      '--params', 'a=1,b=x=y', '--params', 'c=', '--dtmf', '5@1000,#@2000', '--no-stop', '--json', '--protocol', 'Audio.Twilio.Com',
    ]);
    expect(args).toMatchObject({
      url: URL_,
      isProbe: false,
      file: 'a.ul',
      out: 'b.wav',
      tailMs: 500,
      authToken: 'tok',
      params: { a: '1', b: 'x=y', c: '' },
      dtmf: [{ digit: '5', atMs: 1000 }, { digit: '#', atMs: 2000 }],
      sendStop: false,
      isJson: true,
      protocol: 'Audio.Twilio.Com',
    });
  });

  it("--protocol '' offers none; defaults are sane", () => {
    expect(parseCallArgs(['--probe', '--protocol', '', URL_]).protocol).toBeNull();
    expect(parseCallArgs(['--file', 'x.wav', URL_])).toMatchObject({ tailMs: 3000, sendStop: true, isJson: false, params: {}, dtmf: [] });
  });

  it('listens for each reply only with --listen, and says so in the usage text', () => {
    expect(parseCallArgs(['--file', 'a.ul', URL_]).isListening).toBe(false);
    expect(parseCallArgs(['--listen', '--file', 'a.ul', URL_]).isListening).toBe(true);
    expect(USAGE).toMatch(/--listen\s/);
  });

  it('help wins', () => {
    expect(parseCallArgs(['-h']).isHelp).toBe(true);
  });

  it.each([
    [[], /--url is required/],
    [['--probe', 'https://x/ws'], /--url must be a ws:\/\/ or wss:\/\/ URL/],
    [['--probe', 'not a url'], /--url must be a ws:\/\/ or wss:\/\/ URL/],
    [[URL_], /--file is required unless --probe/],
    [['--probe', URL_, URL_], /one URL expected/],
    [['--probe', '--url', URL_, URL_], /give the URL once/],
    [['--file', 'a', '--tail-ms', 'soon', URL_], /--tail-ms must be a number of milliseconds/],
    [['--file', 'a', '--params', 'novalue', URL_], /--params takes k=v pairs/],
    [['--file', 'a', '--dtmf', '5', URL_], /--dtmf takes digit@ms items/],
    [['--bogus', URL_], /bogus/],
  ])('%j -> %s', (argv, message) => {
    expect(() => parseCallArgs(argv)).toThrow(UsageError);
    expect(() => parseCallArgs(argv)).toThrow(message);
  });
});
