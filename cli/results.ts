/**
 * `robustlab results [--port N] [--dir DIR]`: the results page on http://127.0.0.1:N/ — every
 * experiment's verdict, gates, tables and figures, with links to the CSVs and summaries. The page is
 * generated from the folders on each request (what results/index.html holds when it is up to date),
 * and the server answers on the loopback interface only, with the files under the results folder only.
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { extname, join, relative, resolve, sep } from 'node:path';
import { projectRoot } from '../engine/project-root.js';
import { resultsPageHtml } from '../kernel/results-page.js';
import { parseFlags, UsageError, type Command } from './command.js';

const usage = `robustlab results [--port N] [--dir DIR]
  --port N   port on 127.0.0.1 (default 8765; 0 picks a free one)
  --dir DIR  results folder to show (default <project>/results; e.g. results/smoke for smoke runs)`;

const DEFAULT_PORT = 8765;
const HOST = '127.0.0.1';

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.csv': 'text/csv; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.md': 'text/markdown; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

export interface ResultsServer {
  readonly url: string;
  readonly server: Server;
  close(): Promise<void>;
}

/** The file under `dir` that a request path names, or null when it names none (or lies outside `dir`). */
export function resolveRequestPath(dir: string, urlPath: string): string | null {
  let path: string;
  try {
    path = decodeURIComponent(urlPath.split('?')[0]!.split('#')[0]!);
  } catch {
    return null;
  }
  if (path.includes('\0')) return null;
  const file = resolve(dir, `.${path.startsWith('/') ? path : `/${path}`}`);
  const rel = relative(dir, file);
  if (rel.startsWith('..') || rel.split(sep).some((p) => p.startsWith('.'))) return null;
  return file;
}

/** Starts the server; resolves once it listens. */
export function startResultsServer(options: { dir: string; port?: number }): Promise<ResultsServer> {
  const dir = resolve(options.dir);
  const server = createServer((req, res) => {
    const send = (status: number, body: string, type = 'text/plain; charset=utf-8') => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'only GET and HEAD\n');
    const path = (req.url ?? '/').split('?')[0]!;
    if (path === '/' || path === '/index.html') {
      try {
        return send(200, resultsPageHtml(dir), TYPES['.html']);
      } catch (e) {
        return send(500, `${(e as Error).message}\n`);
      }
    }
    const file = resolveRequestPath(dir, path);
    if (file === null) return send(404, 'not found\n');
    if (!existsSync(file) || !statSync(file).isFile()) return send(404, 'not found\n');
    res.writeHead(200, { 'content-type': TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream', 'cache-control': 'no-store' });
    if (req.method === 'HEAD') return res.end();
    createReadStream(file).pipe(res);
  });
  return new Promise((resolvePromise, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EADDRINUSE') reject(new UsageError(`port ${options.port} on ${HOST} is in use; pass --port N (0 picks a free one)`));
      else if (e.code === 'EACCES') reject(new UsageError(`port ${options.port} needs privileges; pass --port N above 1023 (0 picks a free one)`));
      else reject(e);
    });
    server.listen(options.port ?? DEFAULT_PORT, HOST, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : options.port;
      resolvePromise({
        url: `http://${HOST}:${port}/`,
        server,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}

export const resultsCommand: Command = {
  name: 'results',
  summary: 'serve the results page (verdicts, gates, tables, figures) on 127.0.0.1',
  usage,
  async run(argv) {
    const { flags, positionals } = parseFlags(argv, { port: 'number', dir: 'string' });
    if (positionals.length > 0) throw new UsageError(`results takes no arguments, got '${positionals.join(' ')}'; usage: ${usage.split('\n')[0]}`);
    const port = (flags.port as number | undefined) ?? DEFAULT_PORT;
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be an integer in [0, 65535], got ${port}`);
    const dir = resolve((flags.dir as string | undefined) ?? join(projectRoot(), 'results'));
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`no results folder at ${dir}; robustlab reproduce writes one`);
    resultsPageHtml(dir); // a broken result.json is a one-line error now, not a 500 later
    const s = await startResultsServer({ dir, port });
    process.stdout.write(`results page for ${dir} at ${s.url} (127.0.0.1 only; Ctrl-C stops it)\n`);
    await new Promise<void>((done) => {
      const stop = () => void s.close().then(done);
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    return 0;
  },
};
