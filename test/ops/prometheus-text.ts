// A small, strict parser of the Prometheus text exposition format (version 0.0.4), for the /metrics tests: it rejects
// what a Prometheus scraper would reject (bad names, bad label syntax or escapes, values that are not numbers, samples
// outside their family, a TYPE after samples or twice, histogram buckets that are not cumulative or miss +Inf), so a
// test that parses the body has checked the format, not just found a substring.

export type MetricKind = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface Sample {
  /** The sample's own name (for a histogram: x_bucket, x_sum or x_count). */
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  type: MetricKind;
  help: string;
  samples: Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const KINDS: readonly MetricKind[] = ['counter', 'gauge', 'histogram', 'summary', 'untyped'];

function parseValue(text: string, where: string): number {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (text === 'NaN') return NaN;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) throw new Error(`${where}: value ${JSON.stringify(text)} is not a number`);
  return Number(text);
}

/** Parses `{a="x",b="y"}` starting at text[start] === '{'; returns the labels and the index after '}'. */
function parseLabels(text: string, start: number, where: string): { labels: Record<string, string>; end: number } {
  const labels: Record<string, string> = {};
  let i = start + 1;
  for (;;) {
    if (text[i] === '}') return { labels, end: i + 1 };
    const eq = text.indexOf('=', i);
    if (eq === -1) throw new Error(`${where}: label without '='`);
    const name = text.slice(i, eq);
    if (!LABEL_NAME.test(name)) throw new Error(`${where}: bad label name ${JSON.stringify(name)}`);
    if (name in labels) throw new Error(`${where}: label ${name} repeated`);
    if (text[eq + 1] !== '"') throw new Error(`${where}: label ${name} value is not quoted`);
    let value = '';
    let j = eq + 2;
    for (;;) {
      const c = text[j];
      if (c === undefined) throw new Error(`${where}: unterminated label value`);
      if (c === '"') break;
      if (c === '\\') {
        const next = text[j + 1];
        if (next === '\\') value += '\\';
        else if (next === '"') value += '"';
        else if (next === 'n') value += '\n';
        else throw new Error(`${where}: bad escape \\${next ?? ''} in label ${name}`);
        j += 2;
        continue;
      }
      if (c === '\n') throw new Error(`${where}: raw newline in label value`);
      value += c;
      j++;
    }
    labels[name] = value;
    i = j + 1;
    if (text[i] === ',') i++;
    else if (text[i] !== '}') throw new Error(`${where}: expected ',' or '}' after label ${name}`);
  }
}

function familyOf(sampleName: string, families: Map<string, Family>): Family | undefined {
  const exact = families.get(sampleName);
  if (exact) return exact;
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (!sampleName.endsWith(suffix)) continue;
    const family = families.get(sampleName.slice(0, -suffix.length));
    if (family && (family.type === 'histogram' || (family.type === 'summary' && suffix !== '_bucket'))) return family;
  }
  return undefined;
}

/** Parses a whole exposition; throws an Error naming the line on the first violation. */
export function parsePrometheusText(body: string): Map<string, Family> {
  if (body.length > 0 && !body.endsWith('\n')) throw new Error('the body must end with a newline');
  const families = new Map<string, Family>();
  const seenSeries = new Set<string>();
  const lines = body.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!;
    const where = `line ${n + 1} ${JSON.stringify(line.slice(0, 80))}`;
    if (line.trim().length === 0) continue;
    if (line.startsWith('#')) {
      const match = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (!match) continue; // a plain comment
      const [, keyword, name = '', rest = ''] = match;
      if (!METRIC_NAME.test(name)) throw new Error(`${where}: bad metric name`);
      let family = families.get(name);
      if (keyword === 'TYPE') {
        if (!(KINDS as readonly string[]).includes(rest)) throw new Error(`${where}: unknown type ${rest}`);
        if (family && family.samples.length > 0) throw new Error(`${where}: TYPE after samples of ${name}`);
        if (family && family.type !== 'untyped') throw new Error(`${where}: second TYPE for ${name}`);
        if (family) family.type = rest as MetricKind;
        else families.set(name, { name, type: rest as MetricKind, help: '', samples: [] });
      } else {
        if (/\\[^\\n]/.test(rest)) throw new Error(`${where}: bad escape in HELP`);
        if (!family) {
          family = { name, type: 'untyped', help: '', samples: [] };
          families.set(name, family);
        }
        family.help = rest;
      }
      continue;
    }
    const nameMatch = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line);
    if (!nameMatch) throw new Error(`${where}: a sample must start with a metric name`);
    const sampleName = nameMatch[0];
    let i = sampleName.length;
    let labels: Record<string, string> = {};
    if (line[i] === '{') {
      const parsed = parseLabels(line, i, where);
      labels = parsed.labels;
      i = parsed.end;
    }
    if (line[i] !== ' ') throw new Error(`${where}: expected a space before the value`);
    const fields = line.slice(i + 1).split(' ');
    if (fields.length < 1 || fields.length > 2 || fields.some((f) => f.length === 0)) throw new Error(`${where}: expected "value [timestamp]"`);
    const value = parseValue(fields[0]!, where);
    if (fields[1] !== undefined && !/^-?\d+$/.test(fields[1])) throw new Error(`${where}: bad timestamp`);
    const family = familyOf(sampleName, families);
    if (!family) throw new Error(`${where}: sample ${sampleName} outside any declared family`);
    const seriesKey = `${sampleName}${JSON.stringify(Object.entries(labels).sort())}`;
    if (seenSeries.has(seriesKey)) throw new Error(`${where}: duplicate series`);
    seenSeries.add(seriesKey);
    if (family.type === 'counter' && !(value >= 0)) throw new Error(`${where}: a counter must be >= 0`);
    family.samples.push({ name: sampleName, labels, value });
  }
  for (const family of families.values()) if (family.type === 'histogram') checkHistogram(family);
  return families;
}

/** Per label set: buckets cumulative in increasing `le`, a +Inf bucket equal to _count, and a _sum. */
function checkHistogram(family: Family): void {
  const series = new Map<string, { buckets: Array<[number, number]>; count?: number; hasSum: boolean }>();
  const keyOf = (labels: Record<string, string>): string =>
    JSON.stringify(Object.entries(labels).filter(([k]) => k !== 'le').sort());
  for (const sample of family.samples) {
    const key = keyOf(sample.labels);
    let s = series.get(key);
    if (!s) {
      s = { buckets: [], hasSum: false };
      series.set(key, s);
    }
    if (sample.name === `${family.name}_bucket`) {
      const le = sample.labels['le'];
      if (le === undefined) throw new Error(`${family.name}: bucket without le`);
      s.buckets.push([parseValue(le, `${family.name} le`), sample.value]);
    } else if (sample.name === `${family.name}_count`) {
      s.count = sample.value;
    } else if (sample.name === `${family.name}_sum`) {
      s.hasSum = true;
    } else {
      throw new Error(`${family.name}: unexpected histogram sample ${sample.name}`);
    }
  }
  for (const [key, s] of series) {
    for (let b = 1; b < s.buckets.length; b++) {
      const [lePrev, countPrev] = s.buckets[b - 1]!;
      const [le, count] = s.buckets[b]!;
      if (!(le > lePrev)) throw new Error(`${family.name}${key}: buckets not in increasing le`);
      if (count < countPrev) throw new Error(`${family.name}${key}: buckets not cumulative`);
    }
    const last = s.buckets[s.buckets.length - 1];
    if (!last || last[0] !== Infinity) throw new Error(`${family.name}${key}: no +Inf bucket`);
    if (s.count !== last[1]) throw new Error(`${family.name}${key}: _count ${s.count} differs from the +Inf bucket ${last[1]}`);
    if (!s.hasSum) throw new Error(`${family.name}${key}: no _sum`);
  }
}

/** The value of one series (labels must match exactly, `le` aside for non-buckets); undefined when absent. */
export function sampleValue(families: Map<string, Family>, sampleName: string, labels: Record<string, string> = {}): number | undefined {
  const family = familyOf(sampleName, families);
  const wanted = JSON.stringify(Object.entries(labels).sort());
  const hit = family?.samples.find((s) => s.name === sampleName && JSON.stringify(Object.entries(s.labels).sort()) === wanted);
  return hit?.value;
}
