/**
 * A real redis-server per test file, on a free loopback port, with the append-only file on (so a restart
 * keeps the queue), and worker processes of the real CLI. Where redis-server is not installed the queue
 * tests skip with one message; under CI=true they fail instead, so they never vanish from CI silently.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { join } from 'node:path';
import { ROOT } from '../reliability/child-run.js';

/** True when redis-server runs here; false (with one line saying why) when it does not; throws under CI=true. */
export function redisServerAvailable(): boolean {
  const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (probe.status === 0) return true;
  const why = 'redis-server is not installed (apt-get install -y redis-server)';
  if (process.env['CI'] === 'true') throw new Error(`CI=true requires the queue tests to run, but ${why}`);
  process.stderr.write(`queue tests skipped: ${why}; under CI=true they fail instead\n`);
  return false;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** The test certificate for localhost (test/fixtures/queue), for a redis-server that speaks TLS. */
export const TLS_CERT = join(ROOT, 'test', 'fixtures', 'queue', 'tls-cert.pem');
const TLS_KEY = join(ROOT, 'test', 'fixtures', 'queue', 'tls-key.pem');

/** Resolves once the server answers PING (raw RESP over a socket: no client library in the way); any answer counts, NOAUTH included. */
async function ready(port: number, tls: boolean, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = tls ? tlsConnect({ port, host: '127.0.0.1', rejectUnauthorized: false }) : new Socket();
      s.setTimeout(500);
      s.once('error', () => resolve(false));
      s.once('timeout', () => (s.destroy(), resolve(false)));
      if (tls) s.once('secureConnect', () => s.write('PING\r\n'));
      else (s as Socket).connect(port, '127.0.0.1', () => s.write('PING\r\n'));
      s.once('data', (d) => {
        s.destroy();
        resolve(/^[+-]/.test(d.toString()));
      });
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`redis-server on port ${port} did not answer PING within ${timeoutMs} ms`);
}

export interface TestRedis {
  readonly url: string;
  readonly port: number;
  /** SIGTERM (Redis flushes its append-only file), wait for the exit, start again on the same port and folder. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** A redis-server on a free loopback port; with `secure`, TLS only (the fixture certificate) and a password. */
export async function startRedis(dir: string, secure?: { readonly password: string }): Promise<TestRedis> {
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const listen = secure
    ? ['--port', '0', '--tls-port', String(port), '--tls-cert-file', TLS_CERT, '--tls-key-file', TLS_KEY, '--tls-auth-clients', 'no', '--requirepass', secure.password]
    : ['--port', String(port)];
  let proc: ChildProcess;
  const launch = async () => {
    proc = spawn('redis-server', [...listen, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--dir', dir], { stdio: 'ignore' });
    await ready(port, secure !== undefined);
  };
  const stop = () =>
    new Promise<void>((resolve) => {
      if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
      proc.once('exit', () => resolve());
      proc.kill('SIGTERM');
    });
  await launch();
  return {
    url: secure ? `rediss://localhost:${port}` : `redis://127.0.0.1:${port}`,
    port,
    restart: async () => {
      await stop();
      await launch();
    },
    stop,
  };
}

export interface CliProcess {
  readonly child: ChildProcess;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** Resolves when a line matching `pattern` has been written. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** The real CLI (node + tsx running cli.ts) in a child process, on the given backend. */
export function cli(args: readonly string[], backend: string, env: NodeJS.ProcessEnv = {}): CliProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'cli.ts'), ...args], {
    cwd: ROOT,
    env: { ...process.env, ROBUSTLAB_BACKEND: backend, TF_CPP_MIN_LOG_LEVEL: '2', ROBUSTLAB_QUEUE_LOCK_MS: '5000', ROBUSTLAB_QUEUE_BACKOFF_MS: '300', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  const waiters: { pattern: RegExp; resolve: () => void }[] = [];
  const feed = (d: Buffer) => {
    text += d.toString();
    for (const w of [...waiters]) if (w.pattern.test(text)) (waiters.splice(waiters.indexOf(w), 1), w.resolve());
  };
  child.stdout!.on('data', feed);
  child.stderr!.on('data', feed);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return {
    child,
    output: () => text,
    exited,
    waitFor: (pattern, timeoutMs = 60_000) =>
      new Promise<void>((resolve, reject) => {
        if (pattern.test(text)) return resolve();
        const timer = setTimeout(() => reject(new Error(`no ${pattern} within ${timeoutMs} ms; output so far:\n${text}`)), timeoutMs);
        waiters.push({ pattern, resolve: () => (clearTimeout(timer), resolve()) });
        void exited.then(() => {
          if (!pattern.test(text)) (clearTimeout(timer), reject(new Error(`exited before ${pattern}; output:\n${text}`)));
        });
      }),
  };
}
