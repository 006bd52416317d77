/**
 * Where the queue's Redis is, and a first connection that fails with one line saying what to do.
 *
 * A URL is `redis://[:password@]host[:port][/db]` or `rediss://...` (TLS, checked against the system's
 * certificate authorities; NODE_EXTRA_CA_CERTS adds a private one). Without a --redis / --queue flag the
 * URL comes from REDIS_URL, else redis://127.0.0.1:6379 (loopback: nothing leaves the machine). A
 * password belongs in REDIS_URL rather than on a command line (where `ps` shows it): a flag's URL that
 * names the same host and port without a password takes REDIS_URL's. Shown URLs never include it.
 */
import type { ConnectionOptions } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import { QueueError } from './errors.js';

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

export interface RedisTarget {
  /** The URL without its password, for messages. */
  readonly shown: string;
  /** ioredis options (BullMQ takes them as its `connection`). */
  readonly options: RedisOptions;
  /** Whether the server is on this machine's loopback interface. */
  readonly loopback: boolean;
}

interface Parsed {
  readonly tls: boolean;
  readonly host: string;
  readonly port: number;
  readonly db: number;
  readonly username: string;
  readonly password: string;
}

function parse(url: string, where: string): Parsed {
  const bad = (why: string): never => {
    throw new QueueError(`${where} must be a Redis URL like redis://127.0.0.1:6379 or rediss://host:6380 (${why}), got '${redact(url)}'`);
  };
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return bad('not a URL');
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') bad(`the scheme is ${u.protocol.replace(/:$/, '')}, not redis or rediss`);
  if (u.hostname === '') bad('no host');
  const port = u.port === '' ? 6379 : Number(u.port);
  if (!(Number.isInteger(port) && port > 0 && port < 65536)) bad('bad port');
  const path = u.pathname.replace(/^\//, '');
  const db = path === '' ? 0 : Number(path);
  if (!(Number.isInteger(db) && db >= 0 && db < 16)) bad(`the database '/${path}' is not a number from 0 to 15`);
  if (u.search !== '' || u.hash !== '') bad('query strings and fragments are not supported');
  return {
    tls: u.protocol === 'rediss:',
    host: u.hostname.replace(/^\[(.*)\]$/, '$1'),
    port,
    db,
    username: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
  };
}

/** The URL with any password replaced by ***. */
export function redact(url: string): string {
  return url.replace(/^(rediss?:\/\/)([^@/]*)@/, (_m, scheme: string, auth: string) => `${scheme}${auth.includes(':') ? `${auth.split(':')[0]}:***` : auth}@`);
}

/**
 * The Redis a command talks to: the flag's URL, else REDIS_URL, else redis://127.0.0.1:6379; `flagName`
 * names the flag in errors (--redis or --queue).
 */
export function resolveRedis(flag: string | undefined, flagName: string, env: NodeJS.ProcessEnv = process.env): RedisTarget {
  const fromEnv = env['REDIS_URL'];
  const envParsed = fromEnv !== undefined && fromEnv !== '' ? parse(fromEnv, 'REDIS_URL') : undefined;
  let p: Parsed;
  if (flag !== undefined) {
    p = parse(flag, flagName);
    if (p.password === '' && envParsed && envParsed.password !== '' && envParsed.host === p.host && envParsed.port === p.port) {
      p = { ...p, username: p.username || envParsed.username, password: envParsed.password };
    }
  } else p = envParsed ?? parse(DEFAULT_REDIS_URL, 'the default URL');
  const loopback = p.host === 'localhost' || p.host === '::1' || /^127\./.test(p.host);
  return {
    shown: `${p.tls ? 'rediss' : 'redis'}://${p.username ? `${p.username}@` : ''}${p.host.includes(':') ? `[${p.host}]` : p.host}:${p.port}${p.db ? `/${p.db}` : ''}`,
    loopback,
    options: {
      host: p.host,
      port: p.port,
      db: p.db,
      ...(p.username ? { username: p.username } : {}),
      ...(p.password ? { password: p.password } : {}),
      ...(p.tls ? { tls: { servername: p.host } } : {}),
      // Reconnect for as long as it takes (a Redis restarted mid-run), at most every 2 s.
      retryStrategy: (times: number) => Math.min(200 * times, 2000),
    },
  };
}

/** A warning worth one line, or null: a Redis off this machine without a password or TLS. */
export function exposureWarning(target: RedisTarget): string | null {
  if (target.loopback) return null;
  const missing = [target.options.password ? null : 'no password', target.options.tls ? null : 'no TLS'].filter((x) => x !== null);
  return missing.length ? `warning: Redis at ${target.shown} has ${missing.join(' and ')}; anyone who reaches it can read the store and enqueue jobs (see the README's scale-out section)` : null;
}

/**
 * Connects once and PINGs, failing fast with a QueueError that says what to do (start Redis, fix the
 * URL, set the password). BullMQ itself would retry forever without a word.
 */
export async function checkRedis(target: RedisTarget, timeoutMs = 5000): Promise<void> {
  const client = new Redis({ ...target.options, lazyConnect: true, connectTimeout: timeoutMs, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  let cause = '';
  client.on('error', (e: Error) => {
    cause = e.message; // the socket's reason (ECONNREFUSED, a TLS failure): better than "Connection is closed"
  });
  try {
    await client.connect();
    await client.ping();
  } catch (e) {
    const why = (/closed/i.test((e as Error).message) && cause ? cause : (e as Error).message).split('\n')[0]!;
    if (/NOAUTH|WRONGPASS|invalid password|invalid username/i.test(why)) {
      throw new QueueError(`Redis at ${target.shown} refused the credentials (${why}); put the right ones in REDIS_URL, e.g. REDIS_URL=redis://:PASSWORD@host:port`);
    }
    throw new QueueError(`cannot reach Redis at ${target.shown} (${why}); start it (redis-server --bind 127.0.0.1 --appendonly yes) or pass the right URL`);
  } finally {
    client.disconnect();
  }
}

/** A long-lived client that rides out a Redis restart (commands wait until it is back). */
export function openRedis(target: RedisTarget): Redis {
  const client = new Redis({ ...target.options, maxRetriesPerRequest: null });
  client.on('error', () => {
    // ioredis reconnects by itself; the callers report what they could not do.
  });
  return client;
}

/** BullMQ's connection options for the target (BullMQ opens its own ioredis clients from them). */
export function bullConnection(target: RedisTarget): ConnectionOptions {
  return { ...target.options, maxRetriesPerRequest: null } as ConnectionOptions;
}
