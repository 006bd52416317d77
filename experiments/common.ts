/**
 * What every paper experiment shares: its options, running a list of pipelines through the engine,
 * and small statistics helpers for the tables (mean and sample standard deviation over seeds).
 */
import { readFileSync } from 'node:fs';
import type { Plan } from '../dsl/index.js';
import type { RunResult } from '../dsl/plan-types.js';
import { EngineError } from '../engine/errors.js';
import { runPlan } from '../engine/run-plan.js';
import type { Scale } from './experiment-result.js';
import type { ProgressSink } from '../engine/progress.js';
import { runPaths } from '../engine/store/run-store.js';

export interface ExperimentOptions {
  readonly scale: Scale;
  /** Where run directories go (default runs/ or ROBUSTLAB_RUNS_DIR). */
  readonly runsDir?: string;
  /** Override the scale's seeds. */
  readonly seeds?: readonly number[];
  readonly onProgress?: ProgressSink;
  readonly quiet?: boolean;
  /** Run only the methods / model variants with these names (default: all). */
  readonly only?: readonly string[];
  /** Called before each run with its label and position, e.g. for a "run 3/12" line. */
  readonly onRun?: (label: string, index: number, total: number) => void;
  /** Called with each run's result (its stage times feed `reproduce`'s time breakdown). */
  readonly onRunResult?: (result: RunResult) => void;
}

export async function runAll(plans: readonly { label: string; plan: Plan }[], o: ExperimentOptions): Promise<RunResult[]> {
  const out: RunResult[] = [];
  for (const [i, { label, plan }] of plans.entries()) {
    o.onRun?.(label, i, plans.length);
    const result = await runPlan(plan.toJSON(), {
      ...(o.runsDir !== undefined ? { runsDir: o.runsDir } : {}),
      ...(o.onProgress ? { onProgress: o.onProgress } : {}),
      quiet: o.quiet ?? false,
    });
    o.onRunResult?.(result);
    out.push(result);
  }
  return out;
}

/** The items named in `only` (all when absent); an unknown name is a UsageError-like typed error. */
export function selectByName<T extends { readonly name: string }>(items: readonly T[], only: readonly string[] | undefined, what: string): T[] {
  if (!only) return [...items];
  const unknown = only.filter((n) => !items.some((i) => i.name === n));
  if (unknown.length) throw new EngineError(`unknown ${what} ${unknown.map((n) => `'${n}'`).join(', ')}; choose from ${items.map((i) => `'${i.name}'`).join(', ')}`);
  return items.filter((i) => only.includes(i.name));
}

export function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Sample standard deviation (n - 1); 0 for a single value. */
export function std(xs: readonly number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1));
}

export function pct(x: number): string {
  return (100 * x).toFixed(1);
}

/** "81.2 ± 0.4" (percent) over seeds. */
export function meanStd(xs: readonly number[]): string {
  return xs.length > 1 ? `${pct(mean(xs))} ± ${pct(std(xs))}` : pct(mean(xs));
}

/** Per-step task losses and weights of a finished run (pretrain/metrics.csv). */
export function readMetrics(result: RunResult): { step: number[]; columns: Record<string, number[]> } {
  const lines = readFileSync(runPaths(result.runDir).metrics, 'utf8').trim().split('\n');
  const header = lines[0]!.split(',');
  const columns: Record<string, number[]> = Object.fromEntries(header.map((h) => [h, [] as number[]]));
  for (const line of lines.slice(1)) line.split(',').forEach((v, i) => columns[header[i]!]!.push(Number(v)));
  return { step: columns['step']!, columns };
}

export function markdownTable(header: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

/** A run's per-step task losses and weights (pretrain/metrics.csv), as rows. */
export function metricRows(result: RunResult): { steps: number[]; losses: number[][]; weights: number[][] } {
  const m = readMetrics(result);
  const names = Object.keys(m.columns);
  const lossCols = names.filter((n) => n.startsWith('loss_')).map((n) => m.columns[n]!);
  const weightCols = names.filter((n) => n.startsWith('weight_')).map((n) => m.columns[n]!);
  return {
    steps: m.step,
    losses: m.step.map((_, i) => lossCols.map((c) => c[i]!)),
    weights: m.step.map((_, i) => weightCols.map((c) => c[i]!)),
  };
}
