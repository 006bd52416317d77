/**
 * The pilots that chose the task-robust experiment's setting, as committed results (seeds 100 and 101, disjoint
 * from the experiment's seeds 0-7, so the choice does not reuse the evidence it is judged on):
 * - downstream tasks: the pre-trained encoder (average weighting) against the untrained one on every candidate
 *   task; a task is kept when pre-training gains at least 3 points on it (averaged over the label budgets);
 * - the minimax variant: softmax weights of raw losses (the paper; no EMA), of losses relative to their value at
 *   initialisation, and of losses in excess of a per-task reference (both with an EMA of 0.9), each at two etas
 *   around the scale of its losses; the variant with the best worst-task score becomes the setting's minimax arm,
 *   the best raw eta its paper arm. The DSL's default loss normalisation is the family that wins across both
 *   settings (relative: +0.9 points on images, a tie within 0.1 point on text).
 */
import * as aq from 'arquero';
import { backendReport } from '../engine/backend/selection.js';
import { markdownTable, pct, runAll, type ExperimentOptions } from './common.js';
import type { ExperimentResult, FigureSpec, Scale } from './experiment-result.js';
import { averageScore, mean, taskScore, worstScore, type ArmRun } from './task-robust-analysis.js';
import { arms, upstreamTasks } from './task-robust.js';
import { TASK_ROBUST_CV, TASK_ROBUST_NLP, type Pretraining, type Setting } from './task-robust-setting.js';

export const PILOT_SEEDS: Readonly<Record<Scale, readonly number[]>> = { smoke: [100], full: [100, 101] };

/** Candidate downstream tasks of each setting (the experiment keeps those pre-training helps). */
export const CANDIDATE_TASKS: Readonly<Record<Setting['name'], readonly string[]>> = {
  'task-robust-cv': ['fashion-tops', 'fashion-footwear', 'fashion-other', 'mnist-digits'],
  'task-robust-nlp': ['brown-tense', 'brown-fiction', 'brown-genre', 'imdb-sentiment', 'brown-noun-form', 'brown-verb-form', 'brown-adjective-degree', 'brown-adverb-kind'],
};

/** The minimax variants tried, with their etas per setting. */
export const VARIANTS: Readonly<Record<Setting['name'], readonly { losses: 'raw' | 'relative' | 'excess'; eta: number; ema: number }[]>> = {
  'task-robust-cv': [
    { losses: 'raw', eta: 100, ema: 0 }, { losses: 'raw', eta: 300, ema: 0 },
    { losses: 'relative', eta: 30, ema: 0.9 }, { losses: 'relative', eta: 100, ema: 0.9 },
    { losses: 'excess', eta: 30, ema: 0.9 }, { losses: 'excess', eta: 100, ema: 0.9 },
  ],
  'task-robust-nlp': [
    { losses: 'raw', eta: 1, ema: 0 }, { losses: 'raw', eta: 3, ema: 0 },
    { losses: 'relative', eta: 10, ema: 0.9 }, { losses: 'relative', eta: 30, ema: 0.9 },
    { losses: 'excess', eta: 2, ema: 0.9 }, { losses: 'excess', eta: 6, ema: 0.9 },
  ],
};

const variantName = (v: { losses: string; eta: number; ema: number }) => `minimax ${v.losses} eta=${v.eta}${v.ema ? ` ema=${v.ema}` : ''}`;

export async function taskRobustPilots(o: ExperimentOptions): Promise<ExperimentResult> {
  const seeds = o.seeds ?? PILOT_SEEDS[o.scale];
  const taskRows: Record<string, unknown>[] = [];
  const variantRows: Record<string, unknown>[] = [];
  const perSeed: Record<string, unknown>[] = [];
  const summary: string[] = [];
  const figures: FigureSpec[] = [];
  let seconds = 0;
  for (const s of [TASK_ROBUST_CV, TASK_ROBUST_NLP]) {
    const c = s.scales[o.scale];
    const candidates = CANDIDATE_TASKS[s.name];
    const byName = Object.fromEntries(arms(s).map((a) => [a.name, a]));
    const finish = (p: Pretraining, tasks: readonly string[]) =>
      p.finetune([...tasks], { mode: 'probe', labelsPerClass: [...c.labelsPerClass], steps: c.probeSteps, lr: 1e-2, batchSize: 64 }).evaluate({ maxExamples: c.maxTest }).compile({ target: 'cpu' });
    const plans = [
      ...seeds.flatMap((seed) => ['untrained', 'average'].map((arm) => ({ label: `${s.name}: ${arm}, seed ${seed}`, arm, seed, plan: finish(byName[arm]!.build(s, c, seed), candidates) }))),
      ...seeds.flatMap((seed) =>
        VARIANTS[s.name].map((v) => ({ label: `${s.name}: ${variantName(v)}, seed ${seed}`, arm: variantName(v), seed, plan: finish(upstreamTasks(s, c, seed).minimax(v.eta, { losses: v.losses, ema: v.ema }), candidates) })),
      ),
    ];
    const results = await runAll(plans, o);
    seconds += results.reduce((a, r) => a + r.seconds, 0);
    const runs: ArmRun[] = plans.map((p, i) => ({ arm: p.arm, seed: p.seed, scores: results[i]!.evaluate!.tasks }));
    for (const r of runs) for (const x of r.scores) perSeed.push({ setting: s.name, arm: r.arm, seed: r.seed, task: x.task, labels_per_class: x.labelsPerClass, accuracy: x.accuracy });
    const of = (arm: string) => runs.filter((r) => r.arm === arm);
    const gains = candidates.map((t) => ({ task: t, gain: mean(of('average').map((r, i) => taskScore(r, t) - taskScore(of('untrained')[i]!, t))) }));
    const kept = gains.filter((g) => g.gain >= 0.03).map((g) => g.task);
    for (const g of gains) taskRows.push({ setting: s.name, task: g.task, untrained: mean(of('untrained').map((r) => taskScore(r, g.task))), average: mean(of('average').map((r) => taskScore(r, g.task))), gain: g.gain, kept: kept.includes(g.task) });
    const scored = VARIANTS[s.name].map((v) => ({ v, worst: mean(of(variantName(v)).map((r) => worstScore(r, kept))), average: mean(of(variantName(v)).map((r) => averageScore(r, kept))) }));
    for (const x of scored) variantRows.push({ setting: s.name, variant: variantName(x.v), losses: x.v.losses, eta: x.v.eta, ema: x.v.ema, worst: x.worst, average: x.average });
    const bestRaw = scored.filter((x) => x.v.losses === 'raw').reduce((a, b) => (b.worst > a.worst ? b : a));
    const bestNormalised = scored.filter((x) => x.v.losses !== 'raw').reduce((a, b) => (b.worst > a.worst ? b : a));
    const averageWorst = mean(of('average').map((r) => worstScore(r, kept)));
    summary.push(
      `### ${s.title}`,
      '',
      `Downstream tasks kept (average pre-training beats the untrained encoder by >= 3 points): ${kept.join(', ') || 'none'}.`,
      '',
      markdownTable(['task', 'untrained', 'average', 'gain (pts)'], gains.map((g) => [g.task, pct(mean(of('untrained').map((r) => taskScore(r, g.task)))), pct(mean(of('average').map((r) => taskScore(r, g.task)))), pct(g.gain)])),
      '',
      `Minimax variants on the kept tasks (worst-task score; average pre-training: ${pct(averageWorst)}%): best raw-loss variant ${variantName(bestRaw.v)} (${pct(bestRaw.worst)}%), best normalised ${variantName(bestNormalised.v)} (${pct(bestNormalised.worst)}%).`,
      '',
      markdownTable(['variant', 'worst task', 'average'], scored.map((x) => [variantName(x.v), pct(x.worst), pct(x.average)])),
      '',
    );
    figures.push({
      name: `${s.name}-variants`,
      data: [{ type: 'bar', x: scored.map((x) => variantName(x.v)), y: scored.map((x) => 100 * x.worst), name: 'worst task' }, { type: 'bar', x: scored.map((x) => variantName(x.v)), y: scored.map((x) => 100 * x.average), name: 'average' }],
      layout: { title: { text: `Pilot: minimax variants (${s.name}, seeds ${seeds.join(', ')}; average pre-training's worst task ${pct(averageWorst)}%)` }, barmode: 'group', yaxis: { title: { text: 'probe accuracy (%)' } }, margin: { b: 160 } },
    });
  }
  return {
    name: 'task-robust-pilots',
    title: 'Task-robust pre-training: the pilots that chose the downstream tasks and the minimax variant',
    scale: o.scale,
    tables: { tasks: aq.from(taskRows), variants: aq.from(variantRows), 'per-seed': aq.from(perSeed) },
    figures,
    summary: [
      `Pilot seeds ${seeds.join(', ')} (the experiment uses seeds 0-7). Each task's score is its probe accuracy averaged over the label budgets.`,
      '',
      ...summary,
    ].join('\n'),
    seconds,
    backend: backendReport()?.name ?? 'unknown',
  };
}
