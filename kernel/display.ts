/**
 * Display helpers for notebooks: a Plan, an arquero table, a plotly figure, markdown. Inside a
 * tslab kernel they emit rich outputs that are saved into the notebook; anywhere else they print
 * plain text to the console, so the same cell runs in a script or a test.
 */
import type { ColumnTable } from 'arquero';
import type { PlanData, Stage } from '../dsl/plan-types.js';
import type { FigureSpec, Verdict } from '../experiments/experiment-result.js';
import { chromiumPath, escapeHtml, figureEmbedHtml, renderFigure } from './figure.js';
import { displayBundle, notebookApi } from './notebook-context.js';
import { verdictHtml, verdictMarkdown } from './verdict-view.js';

/** A figure read back from a results folder: its spec (data empty where none was recorded) and its SVG. */
export interface LoadedFigure extends FigureSpec {
  readonly svg?: string;
}

/** MIME type of a plotly figure as JSON; JupyterLab (with plotly's extension), VS Code and nteract draw it interactively. */
export const PLOTLY_MIME = 'application/vnd.plotly.v1+json';

/** What showPlan needs of a Plan (the dsl/ Plan class satisfies it). */
export interface Explainable {
  explain(): string;
  toJSON(): unknown;
}

/** Rows shown before a table is cut (the full table belongs in a CSV, see writeReport). */
const MAX_ROWS = 50;

export function showMarkdown(md: string): void {
  const nb = notebookApi();
  if (nb) nb.display.markdown(md);
  else console.log(md);
}

export function showTable(table: ColumnTable, options: { limit?: number } = {}): void {
  const limit = options.limit ?? MAX_ROWS;
  const more = table.numRows() - limit;
  const nb = notebookApi();
  if (nb) {
    const note = more > 0 ? `<p>… ${more} more rows of ${table.numRows()}</p>` : '';
    nb.display.html(table.toHTML({ limit }) + note);
  } else {
    console.log(table.toMarkdown({ limit }) + (more > 0 ? `… ${more} more rows of ${table.numRows()}\n` : ''));
  }
}

/** Plan stages as an HTML table (kind, main settings, FLOPs, peak memory), with explain() as text elsewhere. */
export function showPlan(plan: Explainable): void {
  const nb = notebookApi();
  if (!nb) {
    console.log(plan.explain());
    return;
  }
  nb.display.html(planHtml(plan.toJSON() as PlanData));
}

export function planHtml(data: PlanData): string {
  const head = `<p><b>Plan</b> <code>${escapeHtml(data.hash)}</code> · target ${escapeHtml(data.target)} · backend ${escapeHtml(data.backend)} · seed ${data.seed} · total ${formatFlops(data.totals.flops)}, peak ${formatBytes(data.totals.peakBytes)}</p>`;
  const rows = data.stages
    .map(
      (s, i) =>
        `<tr><td>${i + 1}</td><td><code>${s.kind}</code></td><td style="text-align:left">${escapeHtml(stageSettings(s))}</td>` +
        `<td style="text-align:right">${formatFlops(s.estimate.flops)}</td><td style="text-align:right">${formatBytes(s.estimate.peakBytes)}</td></tr>`,
    )
    .join('');
  return `${head}<table><thead><tr><th>#</th><th>stage</th><th style="text-align:left">settings</th><th>FLOPs</th><th>peak memory</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function stageSettings(s: Stage): string {
  const { kind: _kind, estimate: _estimate, ...rest } = s as Stage & Record<string, unknown>;
  return Object.entries(rest)
    .map(([k, v]) => `${k}=${typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)}`)
    .join(', ');
}

function formatFlops(f: number): string {
  const units = ['', 'k', 'M', 'G', 'T', 'P'];
  let i = 0;
  while (f >= 1000 && i < units.length - 1) (f /= 1000), i++;
  return `${f.toPrecision(3)} ${units[i]}FLOP`;
}

function formatBytes(b: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (b >= 1024 && i < units.length - 1) (b /= 1024), i++;
  return `${i === 0 ? b : b.toFixed(1)} ${units[i]}`;
}

/** The figure's title text, whether layout.title is a string or {text}. */
export function figureTitle(spec: FigureSpec): string {
  const t = spec.layout.title;
  if (typeof t === 'string') return t;
  if (typeof t === 'object' && t !== null && typeof (t as { text?: unknown }).text === 'string') return (t as { text: string }).text;
  return spec.name;
}

/**
 * In a notebook: one output holding the figure twice, as a static SVG (drawn by headless chromium,
 * or the SVG a results folder already has) and as plotly JSON (`application/vnd.plotly.v1+json`).
 * Frontends with a plotly renderer (JupyterLab with plotly's extension, VS Code, nteract) show it
 * interactive; every other viewer (GitHub, nbviewer, plain JupyterLab) shows the SVG. Nothing is
 * fetched and no script runs, so the saved output works in an untrusted notebook, offline, and is
 * byte-for-byte reproducible. Without chromium and without an SVG: interactive HTML with plotly
 * inlined (~5 MB). Elsewhere: one line naming it.
 */
export async function showFigure(spec: FigureSpec | LoadedFigure): Promise<void> {
  if (!notebookApi()) {
    console.log(`[figure ${spec.name}] ${figureTitle(spec)} (${spec.data.length} traces; writeReport saves it as SVG)`);
    return;
  }
  const interactive = spec.data.length > 0 ? { [PLOTLY_MIME]: { data: spec.data, layout: spec.layout } } : {};
  const text = { 'text/plain': `[figure ${spec.name}] ${figureTitle(spec)}` };
  const svg = 'svg' in spec && typeof spec.svg === 'string' ? spec.svg : chromiumPath() !== null ? await renderFigure(spec, { format: 'svg' }) : null;
  if (svg !== null) displayBundle({ 'image/svg+xml': svg, ...interactive, ...text });
  else displayBundle({ 'text/html': await figureEmbedHtml(spec), ...interactive, ...text });
}

/** A claim's verdict: HTML tables of its gates and paired comparisons in a notebook, markdown elsewhere. */
export function showVerdict(verdict: Verdict): void {
  const nb = notebookApi();
  if (nb) nb.display.html(verdictHtml(verdict));
  else console.log(`**Claim:** ${verdict.claim}\n${verdictMarkdown(verdict)}`);
}
