// Which uWebSockets.js build to load. Upstream publishes no npm package, and no single build on the npm registry loads
// everywhere we run: @trufflesuite/uws-js-unofficial 20.30 carries binaries for Node 16-20 needing glibc 2.27 (so they
// load on Debian 12's 2.36), and @btc-vision/uwebsockets.js 20.57 binaries for Node 20, 22, 24 and 25 needing glibc
// 2.38 (`objdump -T` shows the newest GLIBC_ symbol each needs). We depend on both and try first the one whose binary
// should load on this Node and glibc, then the other (the table may be out of date; a failed require costs a moment at
// start). Only the trufflesuite build has a JS fallback, so that is what is left when no binary loads; the caller
// reports it loudly.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export type UwsBuildName = 'btc-vision' | 'trufflesuite';

export interface UwsBuild {
  readonly name: UwsBuildName;
  /** Our dependency alias in package.json (what we require). */
  readonly alias: string;
  /** The package on the npm registry. */
  readonly npmName: string;
  /** Node majors whose ABI (process.versions.modules) the build carries a binary for. */
  readonly nodeMajors: readonly number[];
  /** The oldest glibc its Linux binaries load on, as [major, minor]. */
  readonly minGlibc: readonly [number, number];
  /** Whether the package falls back to a JS implementation (instead of throwing) when its binary does not load. */
  readonly hasJsFallback: boolean;
}

export const UWS_BUILDS: Readonly<Record<UwsBuildName, UwsBuild>> = {
  'btc-vision': {
    name: 'btc-vision', alias: 'uws-btc-vision', npmName: '@btc-vision/uwebsockets.js',
    nodeMajors: [20, 22, 24, 25], minGlibc: [2, 38], hasJsFallback: false,
  },
  trufflesuite: {
    name: 'trufflesuite', alias: 'uws-trufflesuite', npmName: '@trufflesuite/uws-js-unofficial',
    nodeMajors: [16, 18, 20], minGlibc: [2, 27], hasJsFallback: true,
  },
};

/** Preferred first when both builds should load: the newer uWS. */
const PREFERENCE: readonly UwsBuildName[] = ['btc-vision', 'trufflesuite'];

export interface UwsHost {
  nodeMajor: number;
  platform: NodeJS.Platform;
  /** glibc at run time ("2.36"), or undefined when there is none (musl, macOS, Windows). */
  glibcVersion: string | undefined;
  /** The package's own switch (UWS_USE_FALLBACK=1/true): load its JS fallback on purpose. */
  isFallbackForced: boolean;
}

function parseGlibc(version: string | undefined): [number, number] | undefined {
  const match = /^(\d+)\.(\d+)/.exec(version ?? '');
  return match === null ? undefined : [Number(match[1]), Number(match[2])];
}

/** Whether a build's binary should load here, by its table entry (the require is the real test). */
export function isUwsBuildExpectedToLoad(build: UwsBuild, host: UwsHost): boolean {
  if (!build.nodeMajors.includes(host.nodeMajor)) return false;
  if (host.platform !== 'linux') return host.platform === 'darwin' || host.platform === 'win32';
  const glibc = parseGlibc(host.glibcVersion);
  if (glibc === undefined) return false; // musl (Alpine): neither build carries binaries for it
  const [major, minor] = glibc;
  return major > build.minGlibc[0] || (major === build.minGlibc[0] && minor >= build.minGlibc[1]);
}

/**
 * The builds to try, in order: those expected to load here first (the newer uWS first), then the rest. With the
 * fallback forced, only the build that has one.
 */
export function orderUwsBuilds(host: UwsHost): UwsBuild[] {
  const builds = PREFERENCE.map((name) => UWS_BUILDS[name]);
  if (host.isFallbackForced) return builds.filter((build) => build.hasJsFallback);
  const expected = builds.filter((build) => isUwsBuildExpectedToLoad(build, host));
  return [...expected, ...builds.filter((build) => !expected.includes(build))];
}

/** The trufflesuite package's own reading of UWS_USE_FALLBACK (src/uws.js there). */
export function isUwsFallbackForced(env: NodeJS.ProcessEnv): boolean {
  return ['1', 'true', 'True', 'TRUE'].includes(env['UWS_USE_FALLBACK'] ?? '');
}

/** glibc's version at run time, from Node's own diagnostic report (no child process); undefined without glibc. */
export function glibcRuntimeVersion(): string | undefined {
  if (process.platform !== 'linux') return undefined;
  const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: unknown } } | undefined;
  const version = report?.header?.glibcVersionRuntime;
  return typeof version === 'string' ? version : undefined;
}

export function currentUwsHost(): UwsHost {
  return {
    nodeMajor: Number(process.versions.node.split('.')[0]),
    platform: process.platform,
    glibcVersion: glibcRuntimeVersion(),
    isFallbackForced: isUwsFallbackForced(process.env),
  };
}

export type UwsEngine = 'native' | 'fallback';

export interface UwsLoadResult<M> {
  module: M;
  engine: UwsEngine;
  build: UwsBuild;
  /** "@btc-vision/uwebsockets.js@20.57.0", the package that loaded. */
  buildLabel: string;
  /** Why each build tried before (or instead of) the one used did not give us a native binary, one line each. */
  failures: string[];
}

/** The most of a load error we keep per build (a dlopen error names the missing GLIBC_x.y; that is the useful part). */
const MAX_FAILURE_CHARS = 500;

function oneLine(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > MAX_FAILURE_CHARS ? `${flat.slice(0, MAX_FAILURE_CHARS)}...` : flat;
}

/** The native module has SSLApp and getParts; the trufflesuite fallback only App and a few socket helpers. */
export function isNativeUws(mod: unknown): boolean {
  const exported = mod as Record<string, unknown> | null;
  return typeof exported?.['SSLApp'] === 'function' && typeof exported['getParts'] === 'function';
}

export interface UwsRequirer {
  (id: string): unknown;
  resolve(id: string): string;
}

/** The version of an installed build, from its package.json (btc-vision's exports hide ./package.json from require). */
function installedVersion(requireFn: UwsRequirer, build: UwsBuild): string {
  try {
    let dir = dirname(requireFn.resolve(build.alias));
    for (let depth = 0; depth < 4; depth++, dir = dirname(dir)) {
      try {
        const info = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
        if (info.name === build.npmName && typeof info.version === 'string') return info.version;
      } catch {
        // no package.json at this level: look one up
      }
    }
  } catch {
    // unresolvable: the label says so
  }
  return 'unknown';
}

/**
 * Requires the builds in order and returns the first native one; failing that, the first JS fallback; failing that,
 * throws naming every build's error. The packages print their load failures to the console; those lines are captured
 * into `failures` instead of reaching stdout as loose text.
 */
export function loadUwsBuild<M>(order: readonly UwsBuild[], requireFn: UwsRequirer): UwsLoadResult<M> {
  const failures: string[] = [];
  let fallback: { module: M; build: UwsBuild; buildLabel: string } | undefined;
  for (const build of order) {
    const printed: string[] = [];
    const originalWarn = console.warn;
    const originalLog = console.log;
    const capture = (...args: unknown[]): void => {
      printed.push(args.map(String).join(' '));
    };
    console.warn = capture;
    console.log = capture;
    let mod: unknown;
    try {
      mod = requireFn(build.alias);
    } catch (error) {
      failures.push(`${build.npmName}: ${oneLine(error instanceof Error ? error.message : String(error))}`);
      continue;
    } finally {
      console.warn = originalWarn;
      console.log = originalLog;
    }
    const label = `${build.npmName}@${installedVersion(requireFn, build)}`;
    if (isNativeUws(mod)) return { module: mod as M, engine: 'native', build, buildLabel: label, failures };
    failures.push(`${build.npmName}: ${oneLine(printed.join(' ')) || 'loaded its JS fallback'}`);
    fallback ??= { module: mod as M, build, buildLabel: label };
  }
  if (fallback !== undefined) return { ...fallback, engine: 'fallback', failures };
  throw new Error(`no uWebSockets.js build loaded: ${failures.join(' | ')}`);
}
