/**
 * What an experiment (a paper reproduction or an analysis) hands to the report writer and the
 * notebooks: named tables, plotly figure specs and a markdown summary. Plain data; rendering
 * (SVG/PNG/HTML, notebook display) lives in kernel/.
 */
import type { ColumnTable } from 'arquero';

/** A plotly figure as data: traces and layout exactly as Plotly.newPlot takes them. */
export interface FigureSpec {
  /** File-safe name, e.g. 'task-weights' (written as <name>.svg). */
  readonly name: string;
  readonly data: readonly Record<string, unknown>[];
  readonly layout: Record<string, unknown>;
}

export type Scale = 'smoke' | 'full';

export interface ExperimentResult {
  /** File-safe experiment name, e.g. 'task-robust-cv' (written under results/<name>/). */
  readonly name: string;
  readonly title: string;
  readonly scale: Scale;
  /** Named tables, each written as <name>.csv. */
  readonly tables: Readonly<Record<string, ColumnTable>>;
  readonly figures: readonly FigureSpec[];
  /** Markdown: what was run, the deviations from the paper, and whether the claim held, as measured. */
  readonly summary: string;
  /** Seconds of wall time and the backend it ran on. */
  readonly seconds: number;
  readonly backend: string;
}
