// The control API as a program sees it: `npm run dial` and `npm run calls` talk to a running server through it.
// The server's URL and key come from AICRMD_URL (default http://127.0.0.1:8080) and CONTROL_API_KEY; an API error
// becomes a ControlApiError carrying the server's stable code.

export class ControlApiError extends Error {
  override readonly name = 'ControlApiError';
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

export interface ControlClientOptions {
  baseUrl: string;
  apiKey: string;
  timeoutMs?: number;
}

export function controlClientOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): ControlClientOptions {
  const apiKey = env['CONTROL_API_KEY']?.trim();
  if (apiKey === undefined || apiKey.length === 0) throw new Error('CONTROL_API_KEY is not set: the control API needs its Bearer token');
  return { baseUrl: (env['AICRMD_URL']?.trim() || 'http://127.0.0.1:8080').replace(/\/+$/, ''), apiKey };
}

export async function callControlApi<T>(options: ControlClientOptions, method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${options.baseUrl}${path}`, {
    method,
    headers: { Authorization: `Bearer ${options.apiKey}`, ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    signal: AbortSignal.timeout(options.timeoutMs ?? 15_000),
  });
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text.length > 0 ? JSON.parse(text) : {};
  } catch {
    throw new ControlApiError(response.status, 'not-json', `the server answered ${response.status} with something that is not JSON`);
  }
  if (!response.ok) {
    const error = (parsed as { error?: { code?: string; message?: string } }).error;
    throw new ControlApiError(response.status, error?.code ?? 'http-error', error?.message ?? `HTTP ${response.status}`);
  }
  return parsed as T;
}
