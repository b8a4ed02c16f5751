// bench/load's --ours-node-args (a profiler for one alternating step of ours): parsed into Node options, refused when
// it is not options or has no alternating run to go to.
import { describe, expect, it } from 'vitest';
import { parseLoadArgs } from '../../bench/load/run.js';

describe('bench/load --ours-node-args', () => {
  it('splits the options on spaces and leaves them out by default', () => {
    expect(parseLoadArgs(['--alternate', '1']).oursNodeArgs).toEqual([]);
    expect(parseLoadArgs(['--alternate', '1', '--ours-node-args', '--perf-prof  --perf-prof-unwinding-info']).oursNodeArgs)
      .toEqual(['--perf-prof', '--perf-prof-unwinding-info']);
  });

  it('refuses words that are not options, and options without --alternate', () => {
    expect(() => parseLoadArgs(['--alternate', '1', '--ours-node-args', '--trace-gc rm'])).toThrow(/Node options only/);
    expect(() => parseLoadArgs(['--ours-node-args', '--trace-gc'])).toThrow(/needs --alternate/);
  });
});
