/**
 * Paper 1 (Wang et al., NeurIPS 2023) as a test of its claim: does minimax pre-training over k upstream tasks
 * improve the worst downstream task, against the field's baseline (standard pre-training on the pooled upstream
 * data in its natural proportions)?
 *
 * Arms, at equal compute (same model, steps and examples per step; seed s gives every arm the same
 * initialisation, data order and probe split):
 * - natural: pooled upstream data in its natural proportions (the paper's baseline);
 * - average: equal task weights (minimax with eta = 0);
 * - minimax (paper): softmax-weighted gradient descent on the raw task losses;
 * - minimax: the same on losses relative to their value at initialisation, smoothed by an EMA (the DSL's
 *   default minimax(), chosen by the committed pilot in results/task-robust-pilots/);
 * - Group DRO (Sagawa et al.), on the same relative losses;
 * - controls: the same encoder untrained, probed the same way; and for images a probe on the raw pixels.
 * Specialists (one upstream task only) are the G3 pilot: which downstream task depends on which upstream task.
 * The setting makes the mechanism possible: images, an upstream pool where one label group (tops) is 6%;
 * text, the part-of-speech groups in their natural (unequal) proportions. The gates and the verdict are
 * computed in task-robust-analysis.ts; the tables and figures in task-robust-report.ts.
 */
import { pretrain } from '../dsl/index.js';
import type { RunResult } from '../dsl/plan-types.js';
import type { PosGroup } from '../datasets/catalog.js';
import { backendReport } from '../engine/backend/selection.js';
import type { ExperimentResult, Scale } from './experiment-result.js';
import { metricRows, runAll, selectByName, type ExperimentOptions } from './common.js';
import { comparisons, gateG1, gateG2, gateG3, specialistAdvantages, taskRobustVerdict, type ArmRun } from './task-robust-analysis.js';
import { taskRobustReport } from './task-robust-report.js';
import { TASK_ROBUST_CV, TASK_ROBUST_NLP, type Arm, type ArmPlan, type ScaleConfig, type Setting } from './task-robust-setting.js';

export { TASK_ROBUST_CV, TASK_ROBUST_NLP, type Arm, type ArmPlan, type ScaleConfig, type Setting };

function base(s: Setting, c: ScaleConfig, seed: number, extra: { steps?: number; batchSize?: number; maskRatio?: number; groupShares?: readonly number[]; posGroups?: readonly PosGroup[] }) {
  return pretrain({
    dataset: s.dataset,
    steps: extra.steps ?? c.steps,
    batchSize: extra.batchSize ?? c.batchSize,
    width: c.width,
    depth: c.depth,
    lr: c.lr,
    seed,
    maskRatio: extra.maskRatio ?? s.maskRatio.tasks,
    ...(s.vocabSize !== null ? { vocabSize: s.vocabSize } : {}),
    ...(extra.groupShares ?? s.groupShares ? { groupShares: extra.groupShares ?? s.groupShares } : {}),
    ...(extra.posGroups ? { posGroups: extra.posGroups } : {}),
  });
}

/** Pre-training split into the setting's k upstream tasks, before the weighting. */
export function upstreamTasks(s: Setting, c: ScaleConfig, seed: number) {
  return base(s, c, seed, {}).splitTasks(s.k, { by: s.by });
}

/** The arms, controls and specialists of a setting, in table order. */
export function arms(s: Setting): Arm[] {
  const list: Arm[] = [
    { name: 'natural', role: 'pretrained', build: (s, c, seed) => base(s, c, seed, { batchSize: s.k * c.batchSize, maskRatio: s.maskRatio.natural }) },
    { name: 'average', role: 'pretrained', build: (s, c, seed) => upstreamTasks(s, c, seed).minimax(0) },
    { name: 'minimax (paper)', role: 'pretrained', build: (s, c, seed) => upstreamTasks(s, c, seed).minimax(s.minimax.paper.eta, { losses: 'raw', ema: 0 }) },
    { name: 'minimax', role: 'pretrained', build: (s, c, seed) => upstreamTasks(s, c, seed).minimax(s.minimax.robust.eta, { losses: s.minimax.robust.losses, ema: s.minimax.robust.ema }) },
    { name: 'Group DRO', role: 'pretrained', build: (s, c, seed) => upstreamTasks(s, c, seed).minimax(s.minimax.groupDro.eta, { method: 'group-dro', losses: 'relative', ema: 0 }) },
    { name: 'untrained', role: 'control', build: (s, c, seed) => base(s, c, seed, { steps: 0 }) },
  ];
  if (s.dataset === 'fashionMnist') list.push({ name: 'raw input', role: 'control', build: (s, _c, seed) => pretrain({ dataset: s.dataset, model: 'raw-pixels', seed }) });
  s.upstream.forEach((g, i) => {
    if (s.dependsOn[g] === undefined) return;
    list.push({
      name: `specialist ${g}`,
      role: 'specialist',
      build: (s, c, seed) =>
        s.dataset === 'fashionMnist'
          ? base(s, c, seed, { batchSize: s.k * c.batchSize, groupShares: s.upstream.map((_, j) => (j === i ? 1 : 0)) })
          : base(s, c, seed, { batchSize: s.k * c.batchSize, posGroups: [g as PosGroup] }),
    });
  });
  return list;
}

/** Every (arm, seed) plan of a scale: the arms and controls on every seed, the specialists on the pilot's seeds. */
export function taskRobustPlans(s: Setting, scale: Scale, seeds?: readonly number[], only?: readonly string[]): ArmPlan[] {
  const c = s.scales[scale];
  const out: ArmPlan[] = [];
  const cut = new Set(c.cut?.arms ?? []);
  for (const arm of selectByName(arms(s), only, 'arm').filter((a) => !cut.has(a.name))) {
    for (const seed of arm.role === 'specialist' ? c.specialistSeeds : (seeds ?? c.seeds)) {
      const plan = arm
        .build(s, c, seed)
        .finetune([...s.tasks], { mode: 'probe', labelsPerClass: [...c.labelsPerClass], steps: c.probeSteps, lr: 1e-2, batchSize: 64 })
        .evaluate({ maxExamples: c.maxTest })
        .compile({ target: 'cpu' });
      out.push({ label: `${arm.name}, seed ${seed}`, arm, seed, plan });
    }
  }
  return out;
}

export async function taskRobust(s: Setting, o: ExperimentOptions): Promise<ExperimentResult> {
  const plans = taskRobustPlans(s, o.scale, o.seeds, o.only);
  const results = await runAll(plans, o);
  const runs: ArmRun[] = plans.map((p, i) => ({ arm: p.arm.name, seed: p.seed, scores: results[i]!.evaluate!.tasks }));
  const seeds = [...new Set(plans.filter((p) => p.arm.role !== 'specialist').map((p) => p.seed))];
  const names = new Set(plans.map((p) => p.arm.name));
  const pretrained = arms(s).filter((a) => a.role === 'pretrained' && names.has(a.name)).map((a) => a.name);
  const traces = plans.flatMap((p, i) => (p.arm.name === 'average' ? [{ losses: metricRows(results[i]!).losses, initial: results[i]!.pretrain!.initialTaskLosses! }] : []));
  const specialistSeeds = s.scales[o.scale].specialistSeeds;
  const advantages = Object.keys(s.dependsOn).every((g) => names.has(`specialist ${g}`)) ? specialistAdvantages(runs, s.dependsOn, specialistSeeds) : null;
  const complete = names.has('untrained') && names.has('natural') && names.has('average') && names.has('minimax') && advantages !== null && seeds.length >= 2;
  const verdict = complete
    ? taskRobustVerdict(
        'Minimax pre-training over the upstream tasks improves the worst downstream task (Wang et al., NeurIPS 2023).',
        seeds,
        [gateG1(runs, pretrained, s.tasks, seeds), gateG2(traces), gateG3(advantages)],
        comparisons(runs, pretrained.filter((a) => a.startsWith('minimax') || a === 'Group DRO'), ['natural', 'average'], s.tasks, seeds),
        { method: 'minimax', baseline: 'natural', metric: 'worst task' },
      )
    : undefined;
  const report = taskRobustReport(s, o.scale, plans, results, runs, seeds, verdict, advantages);
  return {
    name: s.name,
    title: s.title,
    scale: o.scale,
    tables: report.tables,
    figures: report.figures,
    summary: report.summary,
    ...(verdict ? { verdict } : {}),
    // Compute time of the runs (stored with each run, so a report regenerated from finished runs keeps it).
    seconds: results.reduce((sum, r) => sum + r.seconds, 0),
    backend: backendReport()?.name ?? results[0]?.backend ?? 'unknown',
  };
}

export const taskRobustCv = (o: ExperimentOptions) => taskRobust(TASK_ROBUST_CV, o);
export const taskRobustNlp = (o: ExperimentOptions) => taskRobust(TASK_ROBUST_NLP, o);
