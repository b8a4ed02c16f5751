// Which uWebSockets.js build is tried first follows the running Node and glibc (see src/edge/uws-loader.ts): Node 20 on
// Debian 12's glibc 2.36 must get the trufflesuite build, Node 20-25 on glibc 2.38+ the btc-vision one, and a build
// that fails to load must give way to the next, the JS fallback being taken only when no native binary loaded.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  UWS_BUILDS, isUwsFallbackForced, loadUwsBuild, orderUwsBuilds, type UwsHost, type UwsRequirer,
} from '../../src/edge/uws-loader.js';

const host = (nodeMajor: number, glibcVersion: string | undefined, platform: NodeJS.Platform = 'linux'): UwsHost => ({
  nodeMajor, platform, glibcVersion, isFallbackForced: false,
});
const names = (h: UwsHost): string[] => orderUwsBuilds(h).map((b) => b.name);

describe('the order the builds are tried in', () => {
  it.each([
    [20, '2.36', ['trufflesuite', 'btc-vision']], // Debian 12 (this machine, CI)
    [20, '2.31', ['trufflesuite', 'btc-vision']], // Ubuntu 20.04
    [20, '2.38', ['btc-vision', 'trufflesuite']], // both load: the newer uWS first
    [20, '2.41', ['btc-vision', 'trufflesuite']],
    [24, '2.41', ['btc-vision', 'trufflesuite']], // Debian 13
    [22, '2.39', ['btc-vision', 'trufflesuite']], // Ubuntu 24.04
    [25, '2.40', ['btc-vision', 'trufflesuite']],
    [18, '2.36', ['trufflesuite', 'btc-vision']],
    [24, '2.36', ['btc-vision', 'trufflesuite']], // none expected: still both tried, then the fallback
    [26, '2.41', ['btc-vision', 'trufflesuite']],
    [24, '3.0', ['btc-vision', 'trufflesuite']],
  ])('Node %i on glibc %s: %j', (nodeMajor, glibc, expected) => {
    expect(names(host(nodeMajor, glibc))).toEqual(expected);
  });

  it('glibc 2.37 is too old for btc-vision and 2.26 for both; versions compare as numbers (2.9 < 2.38 < 2.100)', () => {
    expect(names(host(20, '2.37'))).toEqual(['trufflesuite', 'btc-vision']);
    expect(names(host(20, '2.27'))).toEqual(['trufflesuite', 'btc-vision']);
    expect(names(host(18, '2.26'))).toEqual(['btc-vision', 'trufflesuite']); // none expected: the preference order
    expect(names(host(20, '2.9'))).toEqual(['btc-vision', 'trufflesuite']);
    expect(names(host(20, '2.100'))).toEqual(['btc-vision', 'trufflesuite']);
  });

  it('without glibc (musl) no build is expected on Linux, so the preference order stands; macOS and Windows need none', () => {
    expect(names(host(20, undefined))).toEqual(['btc-vision', 'trufflesuite']);
    expect(names(host(20, undefined, 'darwin'))).toEqual(['btc-vision', 'trufflesuite']);
    expect(names(host(18, undefined, 'win32'))).toEqual(['trufflesuite', 'btc-vision']);
  });

  it('UWS_USE_FALLBACK (read as the trufflesuite package reads it) leaves only the build that has a JS fallback', () => {
    expect(names({ ...host(24, '2.41'), isFallbackForced: true })).toEqual(['trufflesuite']);
    expect(['1', 'true', 'True', 'TRUE'].map((v) => isUwsFallbackForced({ UWS_USE_FALLBACK: v }))).toEqual([true, true, true, true]);
    expect(['', '0', 'yes', 'false'].map((v) => isUwsFallbackForced({ UWS_USE_FALLBACK: v }))).toEqual([false, false, false, false]);
    expect(isUwsFallbackForced({})).toBe(false);
  });
});

describe('loading: the first native binary wins, the fallback only when none loads', () => {
  const packagesDir = mkdtempSync(join(tmpdir(), 'uws-loader-test-'));
  afterAll(() => rmSync(packagesDir, { recursive: true, force: true }));
  for (const build of Object.values(UWS_BUILDS)) {
    mkdirSync(join(packagesDir, build.alias));
    writeFileSync(join(packagesDir, build.alias, 'package.json'), JSON.stringify({ name: build.npmName, version: '20.99.0' }));
  }
  const native = { App: () => ({}), SSLApp: () => ({}), getParts: () => [] };
  const jsFallback = { App: () => ({}), us_listen_socket_close: () => undefined };

  /** A require over two packages: each alias gives a module, or throws, or prints a warning and gives the fallback. */
  function requirer(outcomes: Record<string, 'native' | 'throws' | 'fallback'>): UwsRequirer {
    const load = (id: string): unknown => {
      const outcome = outcomes[id];
      if (outcome === 'throws') throw new Error(`cannot load ${id}:\n  version \`GLIBC_2.38' not found`);
      if (outcome === 'fallback') {
        console.warn('This version of µWS is not compatible with your Node.js build');
        return jsFallback;
      }
      if (outcome === 'native') return native;
      throw new Error(`unexpected require(${id})`);
    };
    return Object.assign(load, { resolve: (id: string) => join(packagesDir, id, 'index.js') });
  }
  const order = [UWS_BUILDS['btc-vision'], UWS_BUILDS.trufflesuite];

  it('takes the first build whose binary loads, without requiring the next', () => {
    const result = loadUwsBuild(order, requirer({ 'uws-btc-vision': 'native' }));
    expect(result).toMatchObject({ engine: 'native', buildLabel: '@btc-vision/uwebsockets.js@20.99.0', failures: [] });
    expect(result.module).toBe(native);
  });

  it('goes on to the next build when the first throws, and keeps why (on one line)', () => {
    const result = loadUwsBuild(order, requirer({ 'uws-btc-vision': 'throws', 'uws-trufflesuite': 'native' }));
    expect(result.engine).toBe('native');
    expect(result.buildLabel).toBe('@trufflesuite/uws-js-unofficial@20.99.0');
    expect(result.failures).toEqual(["@btc-vision/uwebsockets.js: cannot load uws-btc-vision: version `GLIBC_2.38' not found"]);
  });

  it('does not settle for a fallback while a later build may still load natively, and keeps what the package printed', () => {
    const warn = console.warn;
    const result = loadUwsBuild([UWS_BUILDS.trufflesuite, UWS_BUILDS['btc-vision']],
      requirer({ 'uws-trufflesuite': 'fallback', 'uws-btc-vision': 'native' }));
    expect(console.warn).toBe(warn); // restored
    expect(result).toMatchObject({ engine: 'native', buildLabel: '@btc-vision/uwebsockets.js@20.99.0' });
    expect(result.failures).toEqual(['@trufflesuite/uws-js-unofficial: This version of µWS is not compatible with your Node.js build']);
  });

  it('falls back to the JS implementation only when no native binary loaded, naming every reason', () => {
    const result = loadUwsBuild(order, requirer({ 'uws-btc-vision': 'throws', 'uws-trufflesuite': 'fallback' }));
    expect(result.engine).toBe('fallback');
    expect(result.module).toBe(jsFallback);
    expect(result.buildLabel).toBe('@trufflesuite/uws-js-unofficial@20.99.0');
    expect(result.failures).toHaveLength(2);
    expect(result.failures[1]).toContain('not compatible');
  });

  it('throws, naming each build, when nothing loads at all', () => {
    expect(() => loadUwsBuild(order, requirer({ 'uws-btc-vision': 'throws', 'uws-trufflesuite': 'throws' })))
      .toThrow(/^no uWebSockets.js build loaded: @btc-vision\/uwebsockets.js: .+ \| @trufflesuite\/uws-js-unofficial: /);
  });
});
