/**
 * Static figure export: a plotly FigureSpec rendered to SVG or PNG by Plotly.toImage inside a
 * headless chromium driven by playwright-core. Nothing is fetched from the network: plotly comes
 * from node_modules (plotly.js-dist-min) and chromium is the system's (Debian `chromium`).
 *
 * One browser page is reused across figures (~2.6 s cold, ~50 ms per figure warm); call
 * closeFigureRenderer() when done, or the open browser keeps the process alive.
 * Where chromium is missing, figureHtml() gives a self-contained interactive HTML page instead.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { Browser, Page } from 'playwright-core';
import type { FigureSpec } from '../experiments/experiment-result.js';

const require = createRequire(import.meta.url);

/** Chromium flags that make it start headless in containers and CI, offline (measured in ENVIRONMENT.md). */
export const CHROMIUM_ARGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

const DEFAULT_WIDTH = 800;
const DEFAULT_HEIGHT = 500;

export type FigureFormat = 'svg' | 'png';

export class FigureError extends Error {
  readonly userError = true;
  constructor(message: string) {
    super(message);
    this.name = 'FigureError';
  }
}

/** Path of a usable chromium (ROBUSTLAB_CHROMIUM, else /usr/bin/chromium), or null when there is none. */
export function chromiumPath(): string | null {
  const candidates = [process.env.ROBUSTLAB_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'];
  return candidates.find((p): p is string => p !== undefined && p !== '' && existsSync(p)) ?? null;
}

function plotlyScriptPath(): string {
  return require.resolve('plotly.js-dist-min');
}

let session: Promise<{ browser: Browser; page: Page }> | null = null;

async function openSession(executablePath: string): Promise<{ browser: Browser; page: Page }> {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath, args: [...CHROMIUM_ARGS], headless: true });
  try {
    const page = await browser.newPage();
    await page.setContent('<!doctype html><html><head><meta charset="utf-8"></head><body><div id="plot"></div></body></html>');
    await page.addScriptTag({ path: plotlyScriptPath() });
    // Text is measured for the layout: let the fonts settle before the first figure.
    await page.evaluate(() => document.fonts.ready.then(() => undefined));
    return { browser, page };
  } catch (e) {
    await browser.close();
    throw e;
  }
}

function size(spec: FigureSpec): { width: number; height: number } {
  const w = spec.layout.width;
  const h = spec.layout.height;
  return {
    width: typeof w === 'number' && w > 0 ? w : DEFAULT_WIDTH,
    height: typeof h === 'number' && h > 0 ? h : DEFAULT_HEIGHT,
  };
}

/**
 * Renders one figure: SVG as a string, PNG as a Buffer. Throws FigureError when no chromium is
 * installed (use figureHtml() then, as writeReport and showFigure do).
 */
export async function renderFigure(spec: FigureSpec, options: { format: 'svg' }): Promise<string>;
export async function renderFigure(spec: FigureSpec, options: { format: 'png' }): Promise<Buffer>;
export async function renderFigure(spec: FigureSpec, options: { format: FigureFormat }): Promise<Buffer | string>;
export async function renderFigure(spec: FigureSpec, options: { format: FigureFormat }): Promise<Buffer | string> {
  const executablePath = chromiumPath();
  if (executablePath === null) {
    throw new FigureError('no headless chromium for static figures; install it (as root: bash scripts/setup-jupyter.sh) or set ROBUSTLAB_CHROMIUM');
  }
  session ??= openSession(executablePath);
  let page: Page;
  try {
    ({ page } = await session);
  } catch (e) {
    session = null;
    throw e;
  }
  const { width, height } = size(spec);
  const format = options.format;
  const dataUrl = await page.evaluate(
    async ({ data, layout, width, height, format }) => {
      const plotly = (globalThis as unknown as { Plotly: { toImage(fig: unknown, opts: unknown): Promise<string> } }).Plotly;
      return plotly.toImage({ data, layout }, { format, width, height });
    },
    { data: withTraceUids(spec), layout: spec.layout, width, height, format },
  );
  const comma = dataUrl.indexOf(',');
  const header = dataUrl.slice(0, comma);
  const body = dataUrl.slice(comma + 1);
  if (format === 'png') return Buffer.from(body, 'base64');
  return stableSvgIds(header.endsWith(';base64') ? Buffer.from(body, 'base64').toString('utf8') : decodeURIComponent(body), spec.name);
}

/**
 * The traces with a `uid` each (kept where the spec gives one): plotly otherwise draws a random uid
 * per trace into the SVG's class names, and the same figure would give different files.
 */
function withTraceUids(spec: FigureSpec): unknown[] {
  return spec.data.map((trace, i) => ('uid' in trace ? trace : { ...trace, uid: figureUid(`${spec.name}#${i}`) }));
}

/** Six hex digits that name a figure in ids: the same for the same figure name, different across names. */
export function figureUid(name: string): string {
  return createHash('sha256').update(name).digest('hex').slice(0, 6);
}

/**
 * Plotly names the SVG's clip paths and defs after a random per-render uid (`clip072d05xy`,
 * `defs-072d05`), so the same figure rendered twice differs. This replaces that uid with one derived
 * from the figure's name: identical renders give identical files, and two figures inlined in one page
 * keep distinct ids. (Trace class names get stable uids before rendering, withTraceUids.)
 */
export function stableSvgIds(svg: string, name: string): string {
  const uid = /<defs id="defs-([0-9a-z]+)"/.exec(svg)?.[1];
  if (uid === undefined) return svg;
  return svg.replace(new RegExp(`(clip|defs-|topdefs-|legend)${uid}`, 'g'), `$1${figureUid(name)}`);
}

/** Whether the shared browser is open (or opening). */
export function isFigureRendererOpen(): boolean {
  return session !== null;
}

/** Closes the shared browser (idempotent). */
export async function closeFigureRenderer(): Promise<void> {
  const s = session;
  session = null;
  if (s === null) return;
  try {
    await (await s).browser.close();
  } catch {
    // The browser never started: nothing to close.
  }
}

/**
 * The figure as an HTML fragment that draws it interactively, offline: plotly inlined (~4.6 MB),
 * a div with the given id (by default one derived from the figure's name, so output is reproducible),
 * and the Plotly.newPlot call.
 */
export async function figureEmbedHtml(spec: FigureSpec, divId = `robustlab-${spec.name}-${figureUid(spec.name)}`): Promise<string> {
  const plotly = await readFile(plotlyScriptPath(), 'utf8');
  // '</' inside JSON would close the script element early.
  const json = (v: unknown) => JSON.stringify(v).replaceAll('</', '<\\/');
  return [
    `<script>${plotly}</script>`,
    `<div id="${escapeHtml(divId)}"></div>`,
    `<script>Plotly.newPlot(${json(divId)}, ${json(spec.data)}, ${json(spec.layout)});</script>`,
  ].join('\n');
}

/** A self-contained HTML page for the figure (the fallback file when there is no chromium). */
export async function figureHtml(spec: FigureSpec): Promise<string> {
  return [
    '<!doctype html>',
    `<html><head><meta charset="utf-8"><title>${escapeHtml(spec.name)}</title></head><body>`,
    await figureEmbedHtml(spec, 'plot'),
    '</body></html>',
    '',
  ].join('\n');
}

export function escapeHtml(s: string): string {
  return s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
}
