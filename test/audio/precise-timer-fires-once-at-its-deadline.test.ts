// The native precise timer (native/precise-timer.h), which wakes the frame clocks: it fires once, never before its
// fractional deadline; disarming and re-arming behave as clearTimeout and a new setTimeout would; bad arguments are
// clear errors; like setTimeout it keeps the process alive only while armed, runs the microtasks its callback
// queues before anything else, and reports a throwing callback as an uncaught exception; a worker's timers go with
// the worker (no fd left behind).
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { addon } from '../../src/audio/native-addon.js';

const addonPath = fileURLToPath(new URL('../../build/Release/ai_crmd_dsp.node', import.meta.url));
const PreciseTimer = addon.PreciseTimer!;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `source` (CommonJS, `addon` in scope) in a child Node; its exit status and output. */
function runChild(source: string, nodeArgs: string[] = []): { status: number | null; stdout: string; stderr: string } {
  const script = `const addon = require(${JSON.stringify(addonPath)});\n${source}`;
  const result = spawnSync(process.execPath, [...nodeArgs, '-e', script], { encoding: 'utf8', timeout: 20_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe.runIf(process.platform === 'linux')('PreciseTimer', () => {
  it('fires once per arming, never before its fractional deadline', async () => {
    for (const delayMs of [0, 0.3, 2.5, 7.25]) {
      const firedAt: number[] = [];
      const timer = new PreciseTimer(() => firedAt.push(performance.now()));
      const armedAt = performance.now();
      timer.arm(delayMs);
      expect(timer.isArmed).toBe(true);
      await sleep(delayMs + 30);
      expect(firedAt, `delay ${delayMs} ms`).toHaveLength(1);
      // both clocks are CLOCK_MONOTONIC: a timer that fired early would show here
      expect(firedAt[0]! - armedAt, `delay ${delayMs} ms`).toBeGreaterThanOrEqual(delayMs);
      expect(timer.isArmed).toBe(false);
      timer.close();
    }
  });

  it('does not fire once disarmed, and re-arming replaces the pending deadline', async () => {
    const fired: string[] = [];
    const disarmed = new PreciseTimer(() => fired.push('disarmed'));
    disarmed.arm(5);
    disarmed.disarm();
    expect(disarmed.isArmed).toBe(false);
    const replaced = new PreciseTimer(() => fired.push('replaced'));
    replaced.arm(60);
    replaced.arm(2);
    await sleep(100);
    expect(fired).toEqual(['replaced']);
    disarmed.close();
    replaced.close();
  });

  it('can be re-armed from its own callback (as the clock does every pass)', async () => {
    const firedAt: number[] = [];
    const timer = new PreciseTimer(() => {
      firedAt.push(performance.now());
      if (firedAt.length < 5) timer.arm(1.5);
    });
    timer.arm(1.5);
    await sleep(80);
    expect(firedAt).toHaveLength(5);
    for (let i = 1; i < 5; i++) expect(firedAt[i]! - firedAt[i - 1]!).toBeGreaterThanOrEqual(1.5);
    timer.close();
  });

  it('refuses bad arguments with clear errors, and arming after close()', () => {
    expect(() => new (PreciseTimer as unknown as new (x: unknown) => unknown)(5)).toThrow(/callback must be a function/);
    const timer = new PreciseTimer(() => {});
    const arm = timer.arm.bind(timer) as (x: unknown) => void;
    expect(() => arm('5')).toThrow(TypeError);
    expect(() => arm(-1)).toThrow(/delayMs must be from 0 to 2147483647 \(got -1/);
    expect(() => arm(Number.NaN)).toThrow(RangeError);
    expect(() => arm(2 ** 31)).toThrow(RangeError);
    expect(timer.isArmed).toBe(false); // a refused arming changes nothing
    timer.close();
    timer.close(); // idempotent
    timer.disarm(); // as clearTimeout: never throws
    expect(timer.isClosed).toBe(true);
    expect(() => timer.arm(1)).toThrow(/arm\(\) after close\(\)/);
  });

  it('keeps the process alive while armed, and not once disarmed or never armed', () => {
    const armed = runChild(`const t = new addon.PreciseTimer(() => console.log('fired')); t.arm(200);`);
    expect(armed).toMatchObject({ status: 0, stdout: 'fired\n' });
    // were a disarmed or idle timer to hold the loop, these would run into spawnSync's timeout (status null)
    const disarmed = runChild(`const t = new addon.PreciseTimer(() => console.log('fired')); t.arm(600000); t.disarm(); console.log('done');`);
    expect(disarmed).toMatchObject({ status: 0, stdout: 'done\n' });
    const idle = runChild(`globalThis.t = new addon.PreciseTimer(() => {}); console.log('done');`);
    expect(idle).toMatchObject({ status: 0, stdout: 'done\n' });
  });

  it('fires even when nothing else holds the timer object', () => {
    const dropped = runChild(
      `new addon.PreciseTimer(() => console.log('fired')).arm(100);\n` +
        `setTimeout(() => gc(), 10);`,
      ['--expose-gc'],
    );
    expect(dropped).toMatchObject({ status: 0, stdout: 'fired\n' });
  });

  it('runs the microtasks its callback queues before the next macrotask', async () => {
    const seen: string[] = [];
    const timer = new PreciseTimer(() => {
      setImmediate(() => seen.push('immediate'));
      queueMicrotask(() => seen.push('microtask'));
      process.nextTick(() => seen.push('nextTick'));
      seen.push('callback');
    });
    timer.arm(1);
    await sleep(40);
    expect(seen).toEqual(['callback', 'nextTick', 'microtask', 'immediate']);
    timer.close();
  });

  it('reports a throwing callback as an uncaught exception, as a throwing setTimeout callback is', () => {
    const child = runChild(
      `process.on('uncaughtException', (e) => { console.log('caught ' + e.message); process.exit(0); });\n` +
        `new addon.PreciseTimer(() => { throw new Error('boom'); }).arm(1);`,
    );
    expect(child).toMatchObject({ status: 0, stdout: 'caught boom\n' });
  });

  it('goes with a terminated worker: armed timers in many workers leave no fd behind', async () => {
    const workerSource = `
      const { parentPort, workerData } = require('node:worker_threads');
      const addon = require(workerData.addonPath);
      const timers = Array.from({ length: 4 }, () => new addon.PreciseTimer(() => {}));
      for (const t of timers) t.arm(600000);
      parentPort.postMessage('armed');
    `;
    const runOne = (): Promise<void> =>
      new Promise((resolve, reject) => {
        const worker = new Worker(workerSource, { eval: true, workerData: { addonPath } });
        worker.once('error', reject);
        worker.once('message', () => {
          // armed timers hold the worker's loop: only terminate() ends it, and must close them
          worker.terminate().then(() => resolve(), reject);
        });
      });
    await runOne(); // the first worker's one-off costs (the addon's mapping) are not a leak
    const fdsBefore = readdirSync('/proc/self/fd').length;
    for (let i = 0; i < 20; i++) await runOne();
    await sleep(50);
    expect(readdirSync('/proc/self/fd').length).toBeLessThanOrEqual(fdsBefore);
  });
});
