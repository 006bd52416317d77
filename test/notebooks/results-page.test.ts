/**
 * The results page in a real browser (Debian's chromium through playwright-core): served by
 * `robustlab results` and opened as the committed results/index.html from file://, it loads, every
 * figure renders (each SVG image decoded at a nonzero size), every CSV link answers, the console has
 * no errors and nothing is requested from anywhere but the local server or the file system.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../engine/project-root.js';
import { CHROMIUM_ARGS, chromiumPath } from '../../kernel/figure.js';
import { listResultFolders } from '../../kernel/results.js';

const root = projectRoot();
const results = join(root, 'results');
let browser: Browser;
let server: ChildProcess | undefined;

beforeAll(async () => {
  const executablePath = chromiumPath();
  expect(executablePath, 'no headless chromium: run `bash scripts/setup-jupyter.sh` as root').not.toBeNull();
  const { chromium } = await import('playwright-core');
  browser = await chromium.launch({ executablePath: executablePath!, args: [...CHROMIUM_ARGS], headless: true });
});
afterAll(async () => {
  server?.kill('SIGTERM');
  await browser?.close();
});

function serve(): Promise<string> {
  server = spawn(process.execPath, ['--import', 'tsx', join(root, 'cli.ts'), 'results', '--port', '0'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  return new Promise((resolve, reject) => {
    server!.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
      const url = /at (http:\/\/127\.0\.0\.1:\d+\/) /.exec(stdout)?.[1];
      if (url) resolve(url);
    });
    server!.stderr!.on('data', (d: Buffer) => void (stderr += d.toString()));
    server!.on('exit', (code) => reject(new Error(`robustlab results exited (${code}): ${stderr}`)));
  });
}

interface Visit {
  readonly errors: string[];
  readonly requests: URL[];
  readonly images: { src: string; complete: boolean; width: number; height: number }[];
  readonly page: Page;
}

/** Opens `url` and records console errors, page errors, failed requests and every request made. */
async function visit(url: string): Promise<Visit> {
  const page = await browser.newPage();
  const errors: string[] = [];
  const requests: URL[] = [];
  page.on('console', (m) => m.type() === 'error' && errors.push(`console: ${m.text()}`));
  page.on('pageerror', (e) => errors.push(`page: ${e.message}`));
  page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
  page.on('response', (r) => r.status() >= 400 && errors.push(`HTTP ${r.status()}: ${r.url()}`));
  page.on('request', (r) => requests.push(new URL(r.url())));
  const response = await page.goto(url, { waitUntil: 'load' });
  expect(response === null || response.ok(), url).toBe(true);
  const images = await page.$$eval('img', (imgs) => imgs.map((i) => ({ src: i.currentSrc, complete: i.complete, width: i.naturalWidth, height: i.naturalHeight })));
  return { errors, requests, images, page };
}

const folders = listResultFolders(results);
const svgFigures = folders.flatMap((f) => f.meta.figures.filter((x) => x.endsWith('.svg')).map((x) => `${f.folder}/${x}`));

describe('the results page in chromium', () => {
  it('has figures to show (the committed results have SVG figures)', () => {
    expect(svgFigures.length).toBeGreaterThanOrEqual(10);
  });

  it('served by `robustlab results`: loads, renders every figure, links every CSV, no console errors, only 127.0.0.1', async () => {
    const url = await serve();
    const v = await visit(url);
    expect(await v.page.title()).toBe('robustlab results');
    expect(v.images.map((i) => new URL(i.src).pathname.slice(1)).sort()).toEqual([...svgFigures].sort());
    for (const img of v.images) {
      expect(img.complete, img.src).toBe(true);
      expect(img.width, img.src).toBeGreaterThan(0);
      expect(img.height, img.src).toBeGreaterThan(0);
    }
    for (const f of folders) {
      expect(await v.page.locator(`#result-${f.folder} h2`).textContent()).toBe(f.meta.title);
      expect(await v.page.locator(`#result-${f.folder} .verdict`).first().textContent()).toContain(f.verdict ? f.verdict.verdict : 'none recorded');
    }
    const csvLinks = await v.page.$$eval('a[href$=".csv"]', (as) => [...new Set(as.map((a) => (a as HTMLAnchorElement).href))]);
    expect(csvLinks.length).toBe(folders.reduce((n, f) => n + f.meta.tables.length, 0));
    for (const href of csvLinks) {
      const r = await v.page.request.get(href);
      expect(r.status(), href).toBe(200);
    }
    expect(v.errors).toEqual([]);
    const origin = new URL(url);
    expect(v.requests.filter((r) => r.host !== origin.host).map(String)).toEqual([]);
    await v.page.close();
  });

  it('the committed results/index.html from file://: every figure renders, no console errors, no network', async () => {
    const v = await visit(pathToFileURL(join(results, 'index.html')).href);
    expect(v.images.length).toBe(svgFigures.length);
    for (const img of v.images) expect([img.complete, img.width > 0, img.height > 0], img.src).toEqual([true, true, true]);
    expect(v.errors).toEqual([]);
    expect(v.requests.filter((r) => r.protocol !== 'file:' && r.protocol !== 'data:').map(String)).toEqual([]);
    await v.page.close();
  });
});
