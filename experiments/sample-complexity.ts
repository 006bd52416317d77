/**
 * The sample-complexity advantage of task-robust pre-training, in the linear representation model
 * (linear-representation.ts): the worst downstream task's excess risk vs the number n of downstream
 * samples for average and minimax pre-training, simulated and in closed form (downstream-excess-risk.ts),
 * and the n needed to reach a target error, over a grid of (d, r, signal ratio).
 */
import normalQuantile from '@stdlib/stats-base-dists-normal-quantile';
import { table } from 'arquero';
import type { ExperimentResult, FigureSpec, Scale } from './experiment-result.js';
import { expectedExcessRisk, samplesToReach, simulateExcessRisk, type SimulatedRisk } from '../theory/downstream-excess-risk.js';
import {
  averageRepresentation,
  linearRepresentationModel,
  minimaxRepresentation,
  outsideSpan,
  upstreamLosses,
  type RepresentationModel,
} from '../theory/linear-representation.js';
import { gaussianSource } from '../theory/random.js';

/** Downstream target: excess risk 0.25 on unit-norm tasks (the zero predictor has excess risk 1). */
export const TARGET_EXCESS_RISK = 0.25;

export interface PretrainingOutcome {
  readonly pretraining: 'average' | 'minimax';
  readonly basis: Float64Array;
  readonly worstUpstreamLoss: number;
  /** Weight of the semantic task (uniform 1/k for average). */
  readonly semanticWeight: number;
  /** The downstream task with the largest bias (hence the largest excess risk at every n). */
  readonly worstTask: string;
  readonly worstBias: number;
  readonly samplesToTarget: number;
  readonly curve: readonly { n: number; closedForm: number; simulated: SimulatedRisk }[];
}

export interface ConfigOutcome {
  readonly d: number;
  readonly r: number;
  readonly signalRatio: number;
  readonly minimaxDual: number;
  readonly outcomes: readonly PretrainingOutcome[];
  /** n for a d-dimensional head without any representation: sigma^2 d/(n - d - 1) <= target. */
  readonly samplesWithoutRepresentation: number;
}

/** One (d, r, signal ratio) cell: both pre-trainings, their worst downstream task, simulated vs closed form. */
export function sampleComplexityCell(
  model: RepresentationModel,
  ns: readonly number[],
  trials: number,
  seed: number,
): ConfigOutcome {
  const { d, r, noise } = model;
  const minimax = minimaxRepresentation(model);
  const semantic = model.upstream.length - 1;
  const candidates = [
    { pretraining: 'average' as const, basis: averageRepresentation(model), semanticWeight: 1 / model.upstream.length },
    { pretraining: 'minimax' as const, basis: minimax.basis, semanticWeight: minimax.weights[semantic]! },
  ];
  const outcomes = candidates.map((c, index) => {
    const biases = model.downstream.map((t) => outsideSpan(c.basis, d, r, t.weights));
    const worst = biases.indexOf(Math.max(...biases));
    const task = model.downstream[worst]!;
    const rng = gaussianSource(seed, 1000 + index);
    return {
      ...c,
      worstUpstreamLoss: Math.max(...upstreamLosses(model, c.basis)),
      worstTask: task.name,
      worstBias: biases[worst]!,
      samplesToTarget: samplesToReach(biases[worst]!, noise, r, TARGET_EXCESS_RISK),
      curve: ns.map((n) => ({
        n,
        closedForm: expectedExcessRisk(biases[worst]!, noise, r, n),
        simulated: simulateExcessRisk(c.basis, d, r, task.weights, noise, n, trials, rng),
      })),
    };
  });
  return {
    d,
    r,
    signalRatio: model.signalRatio,
    minimaxDual: minimax.dual,
    outcomes,
    samplesWithoutRepresentation: samplesToReach(0, noise, d, TARGET_EXCESS_RISK),
  };
}

export function sampleComplexity(options: { scale: Scale; seed: number }): ExperimentResult {
  const started = performance.now();
  const smoke = options.scale === 'smoke';
  const grid = smoke
    ? [{ d: 20, r: 3 }].flatMap((g) => [0.5, 3].map((signalRatio) => ({ ...g, signalRatio })))
    : [20, 60].flatMap((d) => [3, 5].flatMap((r) => [0.5, 2, 3].map((signalRatio) => ({ d, r, signalRatio }))));
  const allNs = smoke ? [16, 32, 64, 128] : [16, 24, 32, 48, 64, 96, 128];
  const trials = smoke ? 200 : 400;
  const cells = grid.map((g, i) =>
    sampleComplexityCell(
      linearRepresentationModel({ ...g, seed: options.seed + i }),
      allNs.filter((n) => n >= g.r + 8),
      trials,
      options.seed + i,
    ),
  );
  const label = (c: ConfigOutcome) => `d=${c.d}, r=${c.r}, rho=${c.signalRatio}`;
  const zScore = (p: { closedForm: number; simulated: SimulatedRisk }) => (p.simulated.mean - p.closedForm) / p.simulated.standardError;

  const representations = table({
    d: cells.flatMap((c) => c.outcomes.map(() => c.d)),
    r: cells.flatMap((c) => c.outcomes.map(() => c.r)),
    signal_ratio: cells.flatMap((c) => c.outcomes.map(() => c.signalRatio)),
    pretraining: cells.flatMap((c) => c.outcomes.map((o) => o.pretraining)),
    semantic_weight: cells.flatMap((c) => c.outcomes.map((o) => o.semanticWeight)),
    worst_upstream_loss: cells.flatMap((c) => c.outcomes.map((o) => o.worstUpstreamLoss)),
    minimax_dual_bound: cells.flatMap((c) => c.outcomes.map(() => c.minimaxDual)),
    worst_downstream_task: cells.flatMap((c) => c.outcomes.map((o) => o.worstTask)),
    worst_bias: cells.flatMap((c) => c.outcomes.map((o) => o.worstBias)),
  });
  const rows = cells.flatMap((c) => c.outcomes.flatMap((o) => o.curve.map((p) => ({ c, o, p }))));
  const excessRisk = table({
    d: rows.map((x) => x.c.d),
    r: rows.map((x) => x.c.r),
    signal_ratio: rows.map((x) => x.c.signalRatio),
    pretraining: rows.map((x) => x.o.pretraining),
    task: rows.map((x) => x.o.worstTask),
    n: rows.map((x) => x.p.n),
    simulated_mean: rows.map((x) => x.p.simulated.mean),
    standard_error: rows.map((x) => x.p.simulated.standardError),
    trials: rows.map((x) => x.p.simulated.trials),
    closed_form: rows.map((x) => x.p.closedForm),
    z_score: rows.map((x) => zScore(x.p)),
  });
  const outcome = (c: ConfigOutcome, which: 'average' | 'minimax') => c.outcomes.find((o) => o.pretraining === which)!;
  const samples = table({
    d: cells.map((c) => c.d),
    r: cells.map((c) => c.r),
    signal_ratio: cells.map((c) => c.signalRatio),
    target: cells.map(() => TARGET_EXCESS_RISK),
    n_average: cells.map((c) => outcome(c, 'average').samplesToTarget),
    n_minimax: cells.map((c) => outcome(c, 'minimax').samplesToTarget),
    n_without_representation: cells.map((c) => c.samplesWithoutRepresentation),
  });

  const shown = [...cells].reverse().find((c) => c.signalRatio > 1) ?? cells[0]!;
  const ns = outcome(shown, 'average').curve.map((p) => p.n);
  const figures: FigureSpec[] = [
    {
      name: 'worst-downstream-risk-vs-n',
      data: [
        ...shown.outcomes.flatMap((o) => [
          {
            type: 'scatter',
            mode: 'markers',
            name: `${o.pretraining}: simulated (±2 s.e.)`,
            x: o.curve.map((p) => p.n),
            y: o.curve.map((p) => p.simulated.mean),
            error_y: { type: 'data', array: o.curve.map((p) => 2 * p.simulated.standardError), visible: true },
          },
          { type: 'scatter', mode: 'lines', name: `${o.pretraining}: closed form (${o.worstTask})`, x: ns, y: o.curve.map((p) => p.closedForm) },
        ]),
        {
          type: 'scatter',
          mode: 'lines',
          line: { dash: 'dot' },
          name: 'no representation: closed form',
          x: ns.filter((n) => n > shown.d + 1),
          y: ns.filter((n) => n > shown.d + 1).map((n) => expectedExcessRisk(0, 0.5, shown.d, n)),
        },
        { type: 'scatter', mode: 'lines', line: { dash: 'dash' }, name: `target ${TARGET_EXCESS_RISK}`, x: [ns[0], ns[ns.length - 1]], y: [TARGET_EXCESS_RISK, TARGET_EXCESS_RISK] },
      ],
      layout: {
        title: { text: `Worst downstream task: excess risk vs n (${label(shown)})` },
        xaxis: { title: { text: 'downstream samples n (log)' }, type: 'log' },
        yaxis: { title: { text: 'expected excess risk (squared-error units, log)' }, type: 'log' },
      },
    },
    {
      name: 'samples-to-target',
      data: [
        { key: 'average', pick: (c: ConfigOutcome) => outcome(c, 'average').samplesToTarget },
        { key: 'minimax', pick: (c: ConfigOutcome) => outcome(c, 'minimax').samplesToTarget },
        { key: 'no representation', pick: (c: ConfigOutcome) => c.samplesWithoutRepresentation },
      ].map((t) => ({
        type: 'bar',
        name: t.key,
        x: cells.map(label),
        y: cells.map((c) => (Number.isFinite(t.pick(c)) ? t.pick(c) : null)),
      })),
      layout: {
        title: { text: `Downstream samples to reach excess risk ${TARGET_EXCESS_RISK} on the worst task (no bar: never)` },
        barmode: 'group',
        xaxis: { title: { text: 'configuration (dimension d, representation size r, signal ratio rho)' } },
        yaxis: { title: { text: 'samples n (log)' }, type: 'log' },
      },
    },
  ];

  // Many (n, configuration) points are compared at once, so the per-point threshold is Bonferroni-corrected:
  // if the closed form is exact, all |z| stay below it with probability about 95%.
  const zs = rows.map((x) => zScore(x.p));
  const maxZ = Math.max(...zs.map(Math.abs));
  const meanZ2 = zs.reduce((s, z) => s + z * z, 0) / zs.length;
  const threshold = normalQuantile(1 - 0.025 / zs.length, 0, 1);
  const nStr = (n: number) => (Number.isFinite(n) ? String(n) : 'never');
  const lines = cells.map((c) => {
    const avg = outcome(c, 'average');
    const mm = outcome(c, 'minimax');
    return (
      `| ${c.d} | ${c.r} | ${c.signalRatio} | ${avg.worstTask} (${avg.worstBias.toFixed(3)}) | ${mm.worstTask} (${mm.worstBias.toFixed(3)}) | ` +
      `${avg.worstUpstreamLoss.toFixed(3)} / ${mm.worstUpstreamLoss.toFixed(3)} (dual ${c.minimaxDual.toFixed(3)}) | ${nStr(avg.samplesToTarget)} | ${nStr(mm.samplesToTarget)} | ${nStr(c.samplesWithoutRepresentation)} |`
    );
  });
  const advantage = cells.filter((c) => outcome(c, 'minimax').samplesToTarget < outcome(c, 'average').samplesToTarget);
  const summary = [
    `## Sample complexity of the worst downstream task (${options.scale}, seed ${options.seed})`,
    '',
    'Model: x ~ N(0, I_d); 2(r-1) pattern tasks w = u_j +- h u_r (core pattern directions with signal 1, a nuisance direction shared with loading h), ' +
      'one semantic task w = 0.5 u_{r+1}; signal ratio rho = pooled nuisance variance / semantic variance. ' +
      'Pre-training picks the top-r eigenspace of sum_i p_i w_i w_i^T: p uniform (average) or p from exponentiated-gradient ascent on the dual of min_B max_i loss_i(B) (minimax). ' +
      `Downstream: unit-norm tasks (each pattern direction and the semantic one), label noise sigma = 0.5, least-squares head on B^T x; ` +
      `expected excess risk = bias + (sigma^2 + bias) r/(n - r - 1) exactly for Gaussian design (the bias acts as extra noise; bias + sigma^2 r/n is its large-n approximation). Target: ${TARGET_EXCESS_RISK}.`,
    '',
    '| d | r | rho | average: worst task (bias) | minimax: worst task (bias) | worst upstream loss avg / minimax | n to target, average | n, minimax | n, no representation |',
    '|---|---|---|---|---|---|---|---|---|',
    ...lines,
    '',
    `Simulation vs closed form: ${rows.length} points (${cells.length} configurations x 2 pre-trainings x n grid, ${trials} trials each): ` +
      `largest |simulated - closed form| = ${maxZ.toFixed(2)} standard errors, mean squared z = ${meanZ2.toFixed(2)} (1 if the closed form is exact); ` +
      `${maxZ <= threshold ? `all within the family-wise 95% threshold ${threshold.toFixed(2)}: the closed form held` : `some beyond the family-wise 95% threshold ${threshold.toFixed(2)}: NOT held`}.`,
    `Claim "fewer samples for the hardest downstream task in some cases": minimax needs fewer samples than average in ${advantage.length} of ${cells.length} configurations ` +
      `(${advantage.map(label).join('; ') || 'none'}); there average pre-training drops the semantic direction and never reaches the target, while minimax needs about r + 1 + (sigma^2 + bias) r/(target - bias) samples, ` +
      'fewer than the d + 1 + sigma^2 d / target of a head without representation. Where rho < 1 the two pre-trainings pick the same space and need the same n.',
  ].join('\n');

  return {
    name: 'theory-sample-complexity',
    title: 'Sample complexity of the worst downstream task: average vs task-robust pre-training',
    scale: options.scale,
    tables: { representations, 'excess-risk': excessRisk, 'samples-to-target': samples },
    figures,
    summary,
    seconds: (performance.now() - started) / 1000,
    backend: 'cpu (float64 JavaScript)',
  };
}
