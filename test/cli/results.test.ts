/**
 * `robustlab results`: the results page and the files under results/, served on 127.0.0.1 only, and
 * nothing outside the results folder. The CLI runs as a real process; the browser check of the page
 * (figures render, no console errors) is test/notebooks/results-page.test.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveRequestPath, resultsCommand, startResultsServer } from '../../cli/results.js';
import { isUserError } from '../../cli/command.js';
import { projectRoot } from '../../engine/project-root.js';
import { listResultFolders } from '../../kernel/results.js';
import { ROOT } from '../reliability/child-run.js';

const results = join(projectRoot(), 'results');
const children: ChildProcess[] = [];
afterAll(() => children.forEach((c) => c.kill('SIGTERM')));

/** Starts the CLI and resolves with the URL it prints (or rejects with its stderr when it exits). */
function serve(args: string[]): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'cli.ts'), 'results', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stdout = '';
  let stderr = '';
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
      const url = /at (http:\/\/127\.0\.0\.1:\d+\/) /.exec(stdout)?.[1];
      if (url) resolve({ url, child });
    });
    child.stderr!.on('data', (d: Buffer) => void (stderr += d.toString()));
    child.on('exit', (code) => reject(Object.assign(new Error(stderr), { code })));
  });
}

/** A raw GET (no URL normalisation, unlike fetch), so '..' reaches the server as sent. */
function rawGet(url: string, path: string, method = 'GET'): Promise<{ status: number; type: string; body: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path, method }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => void (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, type: String(res.headers['content-type']), body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('robustlab results (a real process)', () => {
  it('serves the page with every folder, the CSVs and SVGs byte for byte, and refuses everything outside results/', async () => {
    const { url } = await serve(['--port', '0']);
    const page = await rawGet(url, '/');
    expect(page.status).toBe(200);
    expect(page.type).toBe('text/html; charset=utf-8');
    const folders = listResultFolders(results);
    for (const f of folders) expect(page.body).toContain(`<section id="result-${f.folder}">`);

    const f = folders.find((x) => x.meta.figures.length > 0)!;
    const svg = await rawGet(url, `/${f.folder}/${f.meta.figures[0]}`);
    expect([svg.status, svg.type]).toEqual([200, 'image/svg+xml']);
    expect(svg.body).toBe(readFileSync(join(f.dir, f.meta.figures[0]!), 'utf8'));
    const csv = await rawGet(url, `/${f.folder}/${f.meta.tables[0]}`);
    expect([csv.status, csv.type, csv.body]).toEqual([200, 'text/csv; charset=utf-8', readFileSync(join(f.dir, f.meta.tables[0]!), 'utf8')]);

    for (const path of ['/../package.json', '/..%2fpackage.json', '/%2e%2e/%2e%2e/etc/passwd', '/.hidden', `/${f.folder}/../../README.md`, '/no-such-file.csv', `/${f.folder}`]) {
      expect((await rawGet(url, path)).status, path).toBe(404);
    }
    expect((await rawGet(url, '/', 'POST')).status).toBe(405);
    const head = await rawGet(url, '/', 'HEAD');
    expect([head.status, head.body]).toEqual([200, '']);
  });

  it('listens on the loopback interface only', async () => {
    const { url } = await serve(['--port', '0']);
    const port = Number(new URL(url).port);
    const external = Object.values(networkInterfaces())
      .flat()
      .filter((a) => a !== undefined && a.family === 'IPv4' && !a.internal)
      .map((a) => a!.address);
    for (const address of external) {
      await expect(
        new Promise((resolve, reject) => {
          const req = request({ host: address, port, path: '/' }, resolve);
          req.on('error', reject);
          req.end();
        }),
        address,
      ).rejects.toThrow(/ECONNREFUSED/);
    }
    const s = await startResultsServer({ dir: results, port: 0 });
    expect(s.server.address()).toMatchObject({ address: '127.0.0.1' });
    await s.close();
  });

  it('a port in use, a bad port or a missing folder is one line on stderr and exit 2', async () => {
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const port = (busy.address() as { port: number }).port;
    const outcomes = await Promise.all(
      [['--port', String(port)], ['--port', '70000'], ['--dir', join(results, 'no-such-folder')], ['extra']].map((args) =>
        serve(args).then(
          () => ({ code: 0, message: 'served' }),
          (e: Error & { code: number }) => ({ code: e.code, message: e.message.trimEnd() }),
        ),
      ),
    );
    busy.close();
    expect(outcomes).toEqual([
      { code: 2, message: `robustlab results: port ${port} on 127.0.0.1 is in use; pass --port N (0 picks a free one)` },
      { code: 2, message: 'robustlab results: --port must be an integer in [0, 65535], got 70000' },
      { code: 2, message: `robustlab results: no results folder at ${join(results, 'no-such-folder')}; robustlab reproduce writes one` },
      { code: 2, message: "robustlab results takes no arguments, got 'extra'; usage: robustlab results [--port N] [--dir DIR]" },
    ]);
    const thrown = await resultsCommand.run(['--port', 'x']).catch((e: unknown) => e);
    expect(isUserError(thrown)).toBe(true);
  });
});

describe('resolveRequestPath', () => {
  it('maps a URL path to a file inside the folder, and nothing else', () => {
    expect(resolveRequestPath('/r', '/certified/cost.csv')).toBe('/r/certified/cost.csv');
    expect(resolveRequestPath('/r', '/certified/a%20b.csv?x=1')).toBe('/r/certified/a b.csv');
    for (const p of ['/../x', '/a/../../x', '/%2e%2e/x', '/.git/config', '/a/.hidden', '/%00', '/%E0%A4%A']) expect(resolveRequestPath('/r', p), p).toBeNull();
  });
});
