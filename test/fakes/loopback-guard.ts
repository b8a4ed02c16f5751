// Makes a test notice any TCP connection that would leave 127.0.0.1 (the Google auth library probes the metadata
// server at 169.254.169.254 when it lacks a project id; an SDK default URL would reach the internet): every
// net.Socket connect in this process is checked, and a non-loopback destination is recorded and refused.
import net from 'node:net';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '::ffff:127.0.0.1']);

export interface LoopbackGuard {
  /** Destinations that were refused ("host:port"). */
  readonly escapes: string[];
  restore(): void;
}

export function guardLoopbackOnly(): LoopbackGuard {
  const escapes: string[] = [];
  const original = net.Socket.prototype.connect;
  const patched = function (this: net.Socket, ...args: unknown[]): net.Socket {
    const first: unknown = args[0];
    const options = (Array.isArray(first) ? first[0] : typeof first === 'object' && first !== null ? first : { port: first, host: args[1] }) as
      { host?: unknown; port?: unknown; path?: unknown };
    const host = typeof options.host === 'string' ? options.host : undefined;
    if (options.path === undefined && host !== undefined && !LOOPBACK.has(host)) {
      escapes.push(`${host}:${String(options.port)}`);
      process.nextTick(() => this.destroy(new Error(`test guard: connection to ${host} refused (tests stay on 127.0.0.1)`)));
      return this;
    }
    return (original as (...a: unknown[]) => net.Socket).apply(this, args);
  };
  net.Socket.prototype.connect = patched as typeof original;
  return {
    escapes,
    restore() {
      net.Socket.prototype.connect = original;
    },
  };
}
