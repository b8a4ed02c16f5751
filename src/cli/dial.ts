// `npm run dial -- +9725... [--from +1...] [--amd]`: places a call through a running server's control API and prints
// its CallSid (AICRMD_URL, CONTROL_API_KEY).
import { callControlApi, controlClientOptionsFromEnv, ControlApiError } from './control-client.js';

async function main(argv: string[]): Promise<number> {
  const to = argv.find((a) => !a.startsWith('--'));
  if (to === undefined || argv.includes('--help')) {
    process.stdout.write('usage: npm run dial -- <to: +E.164 or sip:...> [--from +E.164] [--amd]\n');
    return to === undefined ? 2 : 0;
  }
  const fromIndex = argv.indexOf('--from');
  const from = fromIndex >= 0 ? argv[fromIndex + 1] : undefined;
  const body = { to, ...(from !== undefined ? { from } : {}), ...(argv.includes('--amd') ? { detectMachine: true } : {}) };
  const { callSid } = await callControlApi<{ callSid: string }>(controlClientOptionsFromEnv(), 'POST', '/api/calls', body);
  process.stdout.write(`${callSid}\n`);
  return 0;
}

main(process.argv.slice(2)).then((code) => process.exit(code), (error: unknown) => {
  process.stderr.write(`dial: ${error instanceof ControlApiError ? `${error.code}: ${error.message}` : error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
