/**
 * `plan.explain()`: the plan as a person reads it before spending compute — a header (hash,
 * target, backend, budget, model, totals) and one table row per stage with its key parameters,
 * estimated GFLOPs and peak memory.
 */
import { DATASETS } from '../datasets/catalog.js';
import { formatBytes } from './compile.js';
import type { PlanData, Stage } from './plan-types.js';

export function explainPlan(plan: PlanData): string {
  const p = plan.spec.pretrain;
  const pretrain = plan.stages.find((s) => s.kind === 'pretrain');
  const peakStage = plan.stages.reduce((a, s) => (s.estimate.peakBytes > a.estimate.peakBytes ? s : a));
  const header = [
    `Plan ${plan.hash}  target ${plan.target}  backend ${plan.backend}  ${plan.dtype}  memory budget ${formatBytes(plan.memoryBudgetBytes)}`,
    `Data ${p.dataset} (${DATASETS[p.dataset].modality})  model ${p.model} width ${p.width} depth ${p.depth}` +
      (pretrain?.kind === 'pretrain' ? `  ${group(pretrain.parameters)} parameters` : '') +
      `  seed ${plan.seed}`,
    `Total ${gflop(plan.totals.flops)} GFLOP  peak ${formatBytes(plan.totals.peakBytes)} (stage ${peakStage.kind})`,
    '',
  ];
  const rows = plan.stages.map((s) => [s.kind, describe(s), gflop(s.estimate.flops), megabytes(s.estimate.peakBytes)]);
  return [...header, ...table(['stage', 'parameters', 'GFLOP', 'peak MB'], rows)].join('\n');
}

function describe(s: Stage): string {
  switch (s.kind) {
    case 'load-data':
      return `${s.dataset}${s.vocabSize !== null ? ` (vocabulary ${s.vocabSize})` : ''}${s.groupShares !== null ? ` (label groups' shares ${s.groupShares.map(short).join('/')})` : ''}${s.downstream.length > 0 ? `; downstream ${s.downstream.join(', ')}` : ''}`;
    case 'split-tasks': {
      const tasks = s.by === 'none' ? 'one task (no split)' : `k ${s.k} by ${s.by}`;
      const noise = s.sigmas.length > 0 ? `; noise sigmas ${s.sigmas.join('/')} weights ${s.mixtureWeights.map(short).join('/')}` : '';
      return tasks + noise;
    }
    case 'pretrain': {
      const w = s.weighting;
      const weighting = w.method === 'average' ? 'average' : `${w.method} eta ${w.eta}, ${w.losses} losses${w.ema > 0 ? `, ema ${w.ema}` : ''}`;
      if (s.steps === 0) return 'none: the encoder keeps its random initialisation';
      return `${s.steps} steps x ${s.batchSize}/task, adam lr ${s.lr}${s.lrSchedule === 'cosine' ? ' (cosine)' : ''}, mask ${s.maskRatio}, ${weighting}, checkpoint every ${s.checkpointEvery}`;
    }
    case 'finetune':
      return `${s.tasks.join(', ')}; ${s.mode}, ${s.steps} steps x ${s.batchSize}, lr ${s.lr}, noise ${s.noise.join('/')}${s.maxExamples === null ? '' : `, ${s.maxExamples} examples`}${s.labelsPerClass === null ? '' : `, ${s.labelsPerClass.join('/')} labels per class`}`;
    case 'evaluate':
      return `${s.tasks.join(', ')}; ${s.maxExamples === null ? 'all' : s.maxExamples} examples, batch ${s.batchSize}`;
    case 'certify':
      return `${s.task}; sigmas ${s.sigmas.join('/')}, n0 ${s.n0}, n ${s.n}, alpha ${s.alpha}${s.sequential ? ' (sequential: stops early)' : ''}, ${s.points} points, batch ${s.batchSize}, noise on device`;
  }
}

function table(head: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  // Text columns left-aligned, number columns right-aligned.
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
}

function gflop(flops: number): string {
  const g = flops / 1e9;
  return g.toLocaleString('en-US', { minimumFractionDigits: g < 10 ? 3 : 1, maximumFractionDigits: g < 10 ? 3 : 1 });
}

function megabytes(bytes: number): string {
  return (bytes / 1e6).toLocaleString('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1 });
}

function group(n: number): string {
  return n.toLocaleString('en-US');
}

function short(x: number): string {
  return Number(x.toPrecision(3)).toString();
}
