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

/** A condition computed from the run that must hold before a verdict means anything (e.g. "pre-training helps"). */
export interface Gate {
  readonly name: string;
  /** What the gate checks, in one sentence. */
  readonly description: string;
  readonly value: number;
  readonly threshold: number;
  readonly passed: boolean;
}

/** One paired comparison: method minus baseline on a metric, over paired seeds or paired test points. */
export interface Comparison {
  readonly method: string;
  readonly baseline: string;
  readonly metric: string;
  /** Mean of the paired differences (method - baseline), as a fraction (0.01 = 1 point). */
  readonly meanDiff: number;
  /** 95% confidence interval of meanDiff. */
  readonly ci95: readonly [number, number];
  /** Two-sided p-value of the named test. */
  readonly p: number;
  /** The test and the library that computed it, e.g. 'Wilcoxon signed-rank (@stdlib/stats-wilcoxon)'. */
  readonly test: string;
  /** Number of pairs. */
  readonly n: number;
}

/** The machine-readable verdict of a claim (written as verdict.json beside the summary). */
export interface Verdict {
  /** The claim tested, in one sentence. */
  readonly claim: string;
  readonly seeds: readonly number[];
  readonly gates: readonly Gate[];
  readonly comparisons: readonly Comparison[];
  /** 'holds' | 'reversed' | 'no difference detected (CI [a, b])' | 'not testable at this scale (...)'. */
  readonly verdict: string;
}

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
  /** Further files of evidence, written under the experiment's folder (e.g. 'points/mixture-sigma-0.5.tsv'). */
  readonly attachments?: readonly { readonly path: string; readonly content: string }[];
  /** The claim's verdict with its gates and paired comparisons, for experiments that test a claim. */
  readonly verdict?: Verdict;
  /** Seconds of wall time and the backend it ran on. */
  readonly seconds: number;
  readonly backend: string;
}
