/**
 * Display helpers for notebooks: a Plan, an arquero table, a plotly figure, markdown. Inside a
 * tslab kernel they emit rich outputs that are saved into the notebook; anywhere else they print
 * plain text to the console, so the same cell runs in a script or a test.
 */
import type { ColumnTable } from 'arquero';
import type { PlanData, Stage } from '../dsl/plan-types.js';
import type { FigureSpec } from '../experiments/experiment-result.js';
import { chromiumPath, escapeHtml, figureEmbedHtml, renderFigure } from './figure.js';
import { notebookApi } from './notebook-context.js';

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
 * In a notebook: a static SVG when a headless chromium is present (small, saved with the
 * notebook), else interactive plotly HTML (~5 MB per figure). Elsewhere: one line naming it.
 */
export async function showFigure(spec: FigureSpec): Promise<void> {
  const nb = notebookApi();
  if (!nb) {
    console.log(`[figure ${spec.name}] ${figureTitle(spec)} (${spec.data.length} traces; writeReport saves it as SVG)`);
    return;
  }
  if (chromiumPath() !== null) {
    nb.display.svg(await renderFigure(spec, { format: 'svg' }));
    return;
  }
  // A unique id so several figures in one notebook do not draw into the same div.
  nb.display.html(await figureEmbedHtml(spec, `robustlab-${spec.name}-${Math.random().toString(36).slice(2, 8)}`));
}
