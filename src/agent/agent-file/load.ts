// Reads the agent file (AGENT_FILE) once at start-up: YAML (.yaml, .yml) or JSON (.json) by its extension, at most
// MAX_AGENT_FILE_BYTES, checked against the schema. Every problem comes back at once, each naming the file and the
// field (`AGENT_FILE agents/desk.yaml: tools[1].url: must be an http:// or https:// URL`), or the line and column of a
// file that does not parse, so that a bad file stops the start with one message like the configuration's.
// `instructionsFile` is read relative to the agent file's folder, so the two can move together.
import { readFileSync, statSync } from 'node:fs';
import { dirname, extname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { MAX_INSTRUCTIONS_CHARS, checkAgentFile, formatFieldPath, type AgentFileInput } from './schema.js';

/** An agent file is a page of settings and a prompt: anything larger is a mistake (or an attack on the start-up). */
export const MAX_AGENT_FILE_BYTES = 256 * 1024;
const MAX_INSTRUCTIONS_FILE_BYTES = 4 * MAX_INSTRUCTIONS_CHARS; // UTF-8: up to 4 bytes a character

/** The file's settings, with instructionsFile already read into `instructions`. */
export type AgentFileContents = Omit<AgentFileInput, 'instructionsFile'>;

export interface LoadedAgentFile {
  /** undefined when there were problems. */
  contents: AgentFileContents | undefined;
  /** Each one starts with `AGENT_FILE <path>: `. */
  problems: string[];
}

function readBounded(path: string, maxBytes: number): { text: string } | { problem: string } {
  try {
    const stat = statSync(path);
    if (!stat.isFile()) return { problem: 'is not a regular file' };
    const size = stat.size;
    if (size > maxBytes) return { problem: `is ${size} bytes, larger than the ${maxBytes} bytes allowed` };
    return { text: readFileSync(path, 'utf8') };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return { problem: `cannot be read (${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a folder' : (code ?? String(error))})` };
  }
}

/** Line and column (1-based) of a character offset. */
function lineColumnAt(text: string, offset: number): string {
  const before = text.slice(0, Math.max(0, offset));
  const line = before.split('\n').length;
  const column = offset - before.lastIndexOf('\n');
  return `line ${line}, column ${column}`;
}

function parseText(text: string, format: 'yaml' | 'json'): { value: unknown } | { problem: string } {
  if (format === 'json') {
    try {
      return { value: JSON.parse(text) as unknown };
    } catch (error) {
      const message = (error as Error).message;
      const position = /at position (\d+)/.exec(message);
      const where = position !== null ? lineColumnAt(text, Number(position[1])) : 'end of file';
      return { problem: `is not valid JSON at ${where}: ${message.replace(/ in JSON at position \d+.*$/, '')}` };
    }
  }
  // yaml's defaults refuse duplicate keys and cap alias expansion (a "billion laughs" file cannot blow up the start)
  const document = parseDocument(text);
  const first = document.errors[0];
  if (first !== undefined) {
    const at = first.linePos?.[0];
    const where = at !== undefined ? `line ${at.line}, column ${at.col}` : 'an unknown place';
    return { problem: `is not valid YAML at ${where}: ${first.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}` };
  }
  try {
    return { value: document.toJS({ maxAliasCount: 100 }) as unknown };
  } catch (error) {
    return { problem: `is not usable YAML: ${(error as Error).message.split('\n')[0]}` };
  }
}

/** Reads, parses and checks the agent file at `path` (relative paths from the working directory). Never throws. */
export function loadAgentFile(path: string): LoadedAgentFile {
  const prefix = `AGENT_FILE ${path}: `;
  const fail = (problem: string): LoadedAgentFile => ({ contents: undefined, problems: [prefix + problem] });
  const extension = extname(path).toLowerCase();
  const format = extension === '.json' ? 'json' : extension === '.yaml' || extension === '.yml' ? 'yaml' : undefined;
  if (format === undefined) return fail('must end in .yaml, .yml or .json (that says how to read it)');
  const read = readBounded(path, MAX_AGENT_FILE_BYTES);
  if ('problem' in read) return fail(read.problem);
  const parsed = parseText(read.text, format);
  if ('problem' in parsed) return fail(parsed.problem);
  // an empty YAML file is an agent with every default
  const result = checkAgentFile(parsed.value ?? {});
  if (result.data === undefined) {
    return {
      contents: undefined,
      problems: result.issues.map((issue) => {
        const field = formatFieldPath(issue.path);
        return `${prefix}${field !== '' ? `${field}: ` : ''}${issue.message}`;
      }),
    };
  }
  const { instructionsFile, ...contents } = result.data;
  if (instructionsFile !== undefined) {
    const instructionsPath = resolve(dirname(path), instructionsFile);
    const instructions = readBounded(instructionsPath, MAX_INSTRUCTIONS_FILE_BYTES);
    if ('problem' in instructions) return fail(`instructionsFile: ${instructionsPath} ${instructions.problem}`);
    const text = instructions.text.trim();
    if (text.length === 0) return fail(`instructionsFile: ${instructionsPath} is empty`);
    if (text.length > MAX_INSTRUCTIONS_CHARS) return fail(`instructionsFile: ${instructionsPath} must be at most ${MAX_INSTRUCTIONS_CHARS} characters`);
    contents.instructions = text;
  }
  return { contents, problems: [] };
}
