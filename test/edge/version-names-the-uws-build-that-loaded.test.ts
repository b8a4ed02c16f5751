// On a supported Node and glibc a native uWebSockets.js binary loads, and it is the build the loader's table expects
// here (trufflesuite on Node 20 with glibc 2.36, btc-vision on Node 20-25 with glibc 2.38+): were the table wrong, the
// second build (or the JS fallback) would have loaded instead. The start log and /version name the package and version.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { currentUwsHost, orderUwsBuilds } from '../../src/edge/uws-loader.js';
import { TEST_SESSION_MODULE, getJson, startServer, type RunningServer } from '../helpers/server.js';

let server: RunningServer;

beforeAll(async () => {
  server = await startServer({ env: { EDGE_THREADS: '1', EDGE_SESSION_MODULE: TEST_SESSION_MODULE } });
});
afterAll(async () => {
  await server?.stop();
});

it('loads the native build expected for this Node and glibc, and names it in the start log and /version', async () => {
  const host = currentUwsHost();
  const expected = orderUwsBuilds(host)[0]!;
  const buildLabel = new RegExp(`^${expected.npmName.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}@\\d+\\.\\d+\\.\\d+`);

  const start = await server.waitForLog((line) => line['event'] === 'SERVER_START');
  const where = `Node ${process.version}, glibc ${host.glibcVersion ?? 'none'}`;
  expect(start, where).toMatchObject({ engine: 'native', engineBuild: expect.stringMatching(buildLabel) });
  expect(start).not.toHaveProperty('engineBuildsNotLoaded'); // the first build tried loaded

  const { status, body } = await getJson(`${server.baseUrl}/version`);
  expect(status).toBe(200);
  expect(body).toMatchObject({ engine: 'native', engineBuild: start['engineBuild'], isMediaSocketOn: true });
  // the frame clocks' timer: the precise one on Linux (src/audio/precise-timer.ts)
  expect(body).toMatchObject({ clockTimer: process.platform === 'linux' ? 'timerfd' : 'setTimeout' });
  expect(server.logs().some((line) => line['event'] === 'ENGINE_FALLBACK')).toBe(false);
});
