/** CPU time and memory of a process or of the calling thread, from Linux /proc (clock ticks are 100 Hz on Linux). */
import { readFileSync, readdirSync } from 'node:fs';

const TICK_MS = 10;

function cpuMsFromStat(text: string): number {
  // Fields after the command name (which may hold spaces) start after the last ')'. utime=14, stime=15 (1-based).
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  return (utime + stime) * TICK_MS;
}

/** utime + stime of the whole process (all its threads), ms. NaN if it is gone. */
export function processCpuMs(pid: number): number {
  try {
    return cpuMsFromStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return Number.NaN;
  }
}

/** CPU of the calling thread (a worker thread reads its own), ms. */
export function threadCpuMs(): number {
  try {
    return cpuMsFromStat(readFileSync('/proc/thread-self/stat', 'utf8'));
  } catch {
    return Number.NaN;
  }
}

/** Resident set size in bytes (VmRSS), NaN if unavailable. */
export function processRssBytes(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/**
 * CPU ms per thread: where a process spends its time. Keyed "main" for the process's first thread, otherwise
 * "<comm>:<tid>" (Node leaves worker threads named "node"; libuv's pool threads and V8's are named).
 */
export function threadCpuByName(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  let tids: string[] = [];
  try { tids = readdirSync(`/proc/${pid}/task`); } catch { return out; }
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const name = Number(tid) === pid ? 'main' : `${comm}:${tid}`;
      out[name] = (out[name] ?? 0) + cpuMsFromStat(stat);
    } catch { /* thread ended */ }
  }
  return out;
}

/** Busy and total CPU time of the whole machine (all cores), ms, from the first line of /proc/stat. */
export function machineCpuMs(): { busyMs: number; totalMs: number } {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
    const idle = (v[3] ?? 0) + (v[4] ?? 0);
    return { busyMs: (total - idle) * TICK_MS, totalMs: total * TICK_MS };
  } catch {
    return { busyMs: Number.NaN, totalMs: Number.NaN };
  }
}
