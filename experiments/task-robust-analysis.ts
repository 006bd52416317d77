/**
 * The task-robust experiment's analysis, from per-(arm, seed) measurements to gates, paired comparisons and the
 * verdict. Plain numbers in, plain numbers out (no tensors), so every rule is unit-tested on hand-made rows.
 *
 * Metrics of one (arm, seed): a downstream task's score is its probe accuracy averaged over the label budgets;
 * `average` is the mean of the task scores; `worst` is the lowest task score (the paper's worst-case downstream
 * performance).
 *
 * Gates, computed before any verdict (a failed gate makes the verdict "not testable at this scale"):
 * - G1 pre-training helps: every pre-trained arm beats `untrained` by >= 3 points on `average` (mean over seeds).
 * - G2 the upstream tasks differ: under `average`, the spread of the task losses relative to their value at
 *   initialisation (the mean of a few minibatches before training), averaged over the last quarter of training, is >= 5 standard errors of that spread (from the
 *   per-step noise of the two extreme tasks); the median over seeds.
 * - G3 a downstream task depends on an upstream task: the specialist pre-trained on upstream task g alone beats
 *   the other specialists, on g's downstream task, by >= 2 points (mean over specialist seeds), for some g.
 */
import type { Comparison, Gate, Verdict } from './experiment-result.js';
import { pairedDifference, verdictOf } from './paired-statistics.js';

export interface Score {
  readonly task: string;
  readonly labelsPerClass: number | null;
  readonly accuracy: number;
}

/** One run's measurements. */
export interface ArmRun {
  readonly arm: string;
  readonly seed: number;
  readonly scores: readonly Score[];
}

/** Per-step task losses of a run (rows of pretrain/metrics.csv), and the losses at initialisation. */
export interface LossTrace {
  readonly losses: readonly (readonly number[])[];
  readonly initial: readonly number[];
}

export const G1_THRESHOLD = 0.03;
export const G2_THRESHOLD = 5;
export const G3_THRESHOLD = 0.02;

export function taskScore(run: ArmRun, task: string): number {
  const xs = run.scores.filter((s) => s.task === task).map((s) => s.accuracy);
  if (xs.length === 0) throw new Error(`no score for task ${task} in ${run.arm}, seed ${run.seed}`);
  return mean(xs);
}

export function averageScore(run: ArmRun, tasks: readonly string[]): number {
  return mean(tasks.map((t) => taskScore(run, t)));
}

export function worstScore(run: ArmRun, tasks: readonly string[]): number {
  return Math.min(...tasks.map((t) => taskScore(run, t)));
}

/** The runs of `arm` in seed order, one per seed of `seeds` (a missing one is an error). */
export function bySeed(runs: readonly ArmRun[], arm: string, seeds: readonly number[]): ArmRun[] {
  return seeds.map((seed) => {
    const r = runs.find((x) => x.arm === arm && x.seed === seed);
    if (!r) throw new Error(`no run of ${arm} with seed ${seed}`);
    return r;
  });
}

export function gateG1(runs: readonly ArmRun[], pretrainedArms: readonly string[], tasks: readonly string[], seeds: readonly number[]): Gate {
  const untrained = bySeed(runs, 'untrained', seeds).map((r) => averageScore(r, tasks));
  const gains = pretrainedArms.map((a) => mean(bySeed(runs, a, seeds).map((r, i) => averageScore(r, tasks) - untrained[i]!)));
  const value = Math.min(...gains);
  const weakest = pretrainedArms[gains.indexOf(value)]!;
  return {
    name: 'G1 pre-training helps',
    description: `every pre-trained arm beats the untrained encoder on the average downstream accuracy (weakest: ${weakest}, +${pp(value)} points)`,
    value,
    threshold: G1_THRESHOLD,
    passed: value >= G1_THRESHOLD,
  };
}

/** G2 on one run: z of the spread of last-quarter relative losses (k >= 2 tasks). */
export function taskSpread(trace: LossTrace): { spread: number; z: number; means: number[]; stepSd: number[] } {
  const rows = trace.losses;
  if (rows.length < 8) throw new Error(`G2 needs at least 8 steps of losses, got ${rows.length}`);
  const k = rows[0]!.length;
  const initial = trace.initial;
  const window = rows.slice(Math.floor((3 * rows.length) / 4));
  const rel = window.map((r) => r.map((l, i) => l / initial[i]!));
  const means = Array.from({ length: k }, (_, i) => mean(rel.map((r) => r[i]!)));
  const stepSd = Array.from({ length: k }, (_, i) => sd(rel.map((r) => r[i]!)));
  const hi = means.indexOf(Math.max(...means));
  const lo = means.indexOf(Math.min(...means));
  const spread = means[hi]! - means[lo]!;
  const se = Math.sqrt((stepSd[hi]! ** 2 + stepSd[lo]! ** 2) / window.length);
  return { spread, z: se > 0 ? spread / se : spread > 0 ? Infinity : 0, means, stepSd };
}

export function gateG2(traces: readonly LossTrace[]): Gate {
  const zs = traces.map((t) => taskSpread(t).z).sort((a, b) => a - b);
  const value = zs.length % 2 ? zs[(zs.length - 1) / 2]! : (zs[zs.length / 2 - 1]! + zs[zs.length / 2]!) / 2;
  return {
    name: 'G2 the upstream tasks differ',
    description: 'under average pre-training, the spread of the task losses (relative to initialisation, last quarter of training) in standard errors of its per-step noise (median over seeds)',
    value,
    threshold: G2_THRESHOLD,
    passed: value >= G2_THRESHOLD,
  };
}

/**
 * G3 from the specialists (arm names `specialist <g>`): for each upstream task g with a downstream task that
 * depends on it, the specialist's score on that task minus the other specialists' mean score on it.
 */
export function specialistAdvantages(runs: readonly ArmRun[], dependsOn: Readonly<Record<string, string>>, seeds: readonly number[]): { upstream: string; downstream: string; advantage: number }[] {
  const groups = Object.keys(dependsOn);
  return groups.map((g) => {
    const d = dependsOn[g]!;
    const own = bySeed(runs, `specialist ${g}`, seeds).map((r) => taskScore(r, d));
    const others = groups.filter((x) => x !== g).map((x) => bySeed(runs, `specialist ${x}`, seeds).map((r) => taskScore(r, d)));
    const advantage = mean(own.map((v, i) => v - mean(others.map((o) => o[i]!))));
    return { upstream: g, downstream: d, advantage };
  });
}

export function gateG3(advantages: readonly { upstream: string; downstream: string; advantage: number }[]): Gate {
  const best = advantages.reduce((a, b) => (b.advantage > a.advantage ? b : a));
  return {
    name: 'G3 a downstream task depends on an upstream task',
    description: `the specialist pre-trained on one upstream task alone beats the other specialists on that task's downstream task (best: ${best.upstream} -> ${best.downstream}, +${pp(best.advantage)} points)`,
    value: best.advantage,
    threshold: G3_THRESHOLD,
    passed: best.advantage >= G3_THRESHOLD,
  };
}

/** Paired comparisons of `methods` against `baselines` on the worst and the average task, over the same seeds. */
export function comparisons(runs: readonly ArmRun[], methods: readonly string[], baselines: readonly string[], tasks: readonly string[], seeds: readonly number[]): Comparison[] {
  const out: Comparison[] = [];
  for (const metric of ['worst task', 'average'] as const) {
    const f = metric === 'worst task' ? worstScore : averageScore;
    for (const method of methods) {
      for (const baseline of baselines) {
        if (method === baseline) continue;
        const d = pairedDifference(bySeed(runs, method, seeds).map((r) => f(r, tasks)), bySeed(runs, baseline, seeds).map((r) => f(r, tasks)));
        out.push({ method, baseline, metric, meanDiff: d.meanDiff, ci95: d.ci95, p: d.p, test: d.test, n: d.n });
      }
    }
  }
  return out;
}

/**
 * The verdict: "not testable at this scale (...)" when a gate failed; else the sign of the headline comparison's
 * interval (holds / reversed / no difference detected (CI [a, b])).
 */
export function taskRobustVerdict(claim: string, seeds: readonly number[], gates: readonly Gate[], all: readonly Comparison[], headline: { method: string; baseline: string; metric: string }): Verdict {
  const failed = gates.filter((g) => !g.passed);
  const head = all.find((c) => c.method === headline.method && c.baseline === headline.baseline && c.metric === headline.metric);
  if (!head) throw new Error(`no comparison ${headline.method} - ${headline.baseline} on ${headline.metric}`);
  const verdict = failed.length
    ? `not testable at this scale (${failed.map((g) => `${g.name.split(' ')[0]} failed: ${g.value.toFixed(3)} < ${g.threshold}`).join('; ')})`
    : verdictOf(head);
  return { claim, seeds, gates, comparisons: all, verdict };
}

/** Time-averaged weights over the last quarter of training, and how often the arg-max task changed. */
export function weightSummary(weights: readonly (readonly number[])[]): { lastQuarter: number[]; switches: number; switchesPer100: number } {
  if (weights.length === 0) return { lastQuarter: [], switches: 0, switchesPer100: 0 };
  const k = weights[0]!.length;
  const window = weights.slice(Math.floor((3 * weights.length) / 4));
  const lastQuarter = Array.from({ length: k }, (_, i) => mean(window.map((w) => w[i]!)));
  let switches = 0;
  let prev = argmax(weights[0]!);
  for (const w of weights.slice(1)) {
    const a = argmax(w);
    if (a !== prev) switches++;
    prev = a;
  }
  return { lastQuarter, switches, switchesPer100: (100 * switches) / Math.max(1, weights.length - 1) };
}

function argmax(xs: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < xs.length; i++) if (xs[i]! > xs[best]!) best = i;
  return best;
}

export function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

function sd(xs: readonly number[]): number {
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / Math.max(1, xs.length - 1));
}

function pp(x: number): string {
  return (100 * x).toFixed(1);
}
