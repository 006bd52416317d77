/**
 * The sample-complexity claim of task-robust pre-training, in the linear representation model
 * (theory/linear-representation.ts), with representations learned from finite upstream data.
 *
 * Claim (learned): n_up samples per upstream task; B is learned by the engine's `pretrain()` loop, average
 * (eta = 0) vs softmax-weighted minimax (theory/learned-representation.ts); the worst downstream task's
 * excess risk vs n on the learned B, and the n needed to reach a target, over repetitions (each a fresh
 * upstream sample and initialisation, shared by both pre-trainings) and a sweep of n_up. The population
 * representations (n_up -> infinity) are overlaid as the limit.
 * Estimator check (separate): on the population representations, the Monte-Carlo downstream fit against the
 * closed form of its expected excess risk (theory/downstream-excess-risk.ts). It verifies the downstream
 * estimator, not the claim.
 */
import normalQuantile from '@stdlib/stats-base-dists-normal-quantile';
import tQuantile from '@stdlib/stats-base-dists-t-quantile';
import wilcoxon from '@stdlib/stats-wilcoxon';
import { table } from 'arquero';
import type { Weighting } from '../dsl/spec.js';
import { initBackend } from '../engine/backend/selection.js';
import type { Comparison, ExperimentResult, FigureSpec, Gate, Scale, Verdict } from './experiment-result.js';
import { expectedExcessRisk, samplesToReach, simulateExcessRisk, type SimulatedRisk } from '../theory/downstream-excess-risk.js';
import { TheoryError } from '../theory/errors.js';
import { drawUpstreamSample, learnRepresentation, type TrainingSchedule } from '../theory/learned-representation.js';
import {
  angleToPopulation,
  averageRepresentation,
  linearRepresentationModel,
  minimaxRepresentation,
  outsideSpan,
  softmaxRepresentation,
  upstreamLosses,
  type RepresentationModel,
} from '../theory/linear-representation.js';
import { gaussianSource } from '../theory/random.js';

/** Downstream target: excess risk 0.25 on unit-norm tasks (the zero predictor has excess risk 1). */
export const TARGET_EXCESS_RISK = 0.25;
/** Softmax temperature of minimax pre-training: log(k)/eta <= 0.05 for the k <= 9 tasks here. */
export const MINIMAX_ETA = 50;
/**
 * Adam on full batches, with a small rate so the run follows the gradient flow of F_eta: on the minimax runs at
 * n_up >= 2560 of the full scale that ended far from the population limit at lr 0.02 (1000 steps), lr 0.01
 * (2000 steps) still ended there in 5 of 21 and lr 0.005 (4000 steps) in 1 of 21; F_eta has spurious stationary
 * points that larger Adam steps fall into. Each run's residual movement is reported as `loss_drift`.
 */
export const TRAINING: TrainingSchedule = { steps: 4000, lr: 0.005 };
/** A run whose task losses still move by more than this over its last quarter has not converged. */
export const DRIFT_TOLERANCE = 1e-3;
/** The downstream budget of the paired comparison: the worst task's expected excess risk at n = 64 samples. */
export const REFERENCE_N = 64;

export const PRETRAININGS = ['average', 'minimax'] as const;
export type Pretraining = (typeof PRETRAININGS)[number];

export function weightingOf(pretraining: Pretraining): Weighting {
  return pretraining === 'average' ? { method: 'average', eta: 0, ema: 0, losses: 'raw' } : { method: 'softmax', eta: MINIMAX_ETA, ema: 0, losses: 'raw' };
}

/** How B was learned, as written in the tables. */
export function learnedBy(pretraining: Pretraining): string {
  const w = weightingOf(pretraining);
  return `engine pretrain(): weighting ${w.method} (eta ${w.eta}, ema ${w.ema}), Adam lr ${TRAINING.lr}, ${TRAINING.steps} full-batch steps`;
}

export interface ModelConfig {
  readonly d: number;
  readonly r: number;
  readonly signalRatio: number;
}

export interface SampleComplexitySettings {
  /** Configurations whose representation is learned from finite samples; the first is the one the claim's verdict reads. */
  readonly learned: readonly ModelConfig[];
  /** n_up values of the sweep, ascending. */
  readonly upstreamSamples: readonly number[];
  /** Repetitions per (configuration, n_up): a fresh sample and initialisation, shared by both pre-trainings. */
  readonly repetitions: number;
  /** Downstream sample sizes of the learned curves. */
  readonly ns: readonly number[];
  /** Downstream fits simulated per repetition and n. */
  readonly trialsPerRepetition: number;
  /** Configurations of the estimator check (population representations). */
  readonly estimatorGrid: readonly ModelConfig[];
  readonly estimatorNs: readonly number[];
  readonly estimatorTrials: number;
}

export const SETTINGS: Readonly<Record<Scale, SampleComplexitySettings>> = {
  smoke: {
    learned: [{ d: 20, r: 5, signalRatio: 1.5 }],
    upstreamSamples: [40, 640, 10240],
    repetitions: 2,
    ns: [16, 32, 64, 128, 256, 512, 1024],
    trialsPerRepetition: 20,
    estimatorGrid: [0.5, 3].map((signalRatio) => ({ d: 20, r: 3, signalRatio })),
    estimatorNs: [16, 32, 64, 128],
    estimatorTrials: 400,
  },
  full: {
    learned: [
      { d: 20, r: 5, signalRatio: 1.5 },
      { d: 60, r: 5, signalRatio: 1.5 },
      { d: 20, r: 3, signalRatio: 3 },
    ],
    upstreamSamples: [10, 40, 160, 640, 2560, 10240],
    repetitions: 10,
    ns: [16, 32, 64, 128, 256, 512, 1024],
    trialsPerRepetition: 40,
    estimatorGrid: [20, 60].flatMap((d) => [3, 5].flatMap((r) => [0.5, 2, 3].map((signalRatio) => ({ d, r, signalRatio })))),
    estimatorNs: [16, 24, 32, 48, 64, 96, 128],
    estimatorTrials: 400,
  },
};

const degrees = (radians: number) => (radians * 180) / Math.PI;

/** The downstream task with the largest bias, hence the largest expected excess risk at every n. */
function worstDownstream(model: RepresentationModel, basis: Float64Array): { task: string; weights: Float64Array; bias: number } {
  const biases = model.downstream.map((t) => outsideSpan(basis, model.d, model.r, t.weights));
  const worst = biases.indexOf(Math.max(...biases));
  return { task: model.downstream[worst]!.name, weights: model.downstream[worst]!.weights, bias: biases[worst]! };
}

// ---------------------------------------------------------------------------------------------------------
// Population representations and the estimator check.

export interface PopulationRepresentation {
  readonly pretraining: Pretraining | 'minimax (eigenspace-restricted)';
  readonly basis: Float64Array;
  readonly semanticWeight: number;
  readonly worstUpstreamLoss: number;
  readonly worstTask: string;
  readonly worstBias: number;
  readonly samplesToTarget: number;
}

export interface PopulationOutcome {
  readonly config: ModelConfig;
  /** Average (top-r eigenspace of M(uniform)), minimax (softmax limit at MINIMAX_ETA) and the eigenspace-restricted minimax. */
  readonly representations: readonly PopulationRepresentation[];
  /** Lower bound on min over all B of the worst upstream loss (the eigenspace search's dual). */
  readonly minimaxDual: number;
  /** ||(I - B B^T) M(p) B||_F of the softmax limit: 0 at an exact stationary point. */
  readonly stationarity: number;
  readonly samplesWithoutRepresentation: number;
}

/** The population representations of one model: the limits of both pre-trainings as n_up grows. */
export function populationRepresentations(model: RepresentationModel): PopulationOutcome {
  const { noise, r } = model;
  const k = model.upstream.length;
  const soft = softmaxRepresentation(model, MINIMAX_ETA);
  const eigen = minimaxRepresentation(model);
  const describe = (pretraining: PopulationRepresentation['pretraining'], basis: Float64Array, semanticWeight: number): PopulationRepresentation => {
    const worst = worstDownstream(model, basis);
    return {
      pretraining,
      basis,
      semanticWeight,
      worstUpstreamLoss: Math.max(...upstreamLosses(model, basis)),
      worstTask: worst.task,
      worstBias: worst.bias,
      samplesToTarget: samplesToReach(worst.bias, noise, r, TARGET_EXCESS_RISK),
    };
  };
  return {
    config: { d: model.d, r: model.r, signalRatio: model.signalRatio },
    representations: [
      describe('average', averageRepresentation(model), 1 / k),
      describe('minimax', soft.basis, soft.weights[k - 1]!),
      describe('minimax (eigenspace-restricted)', eigen.basis, eigen.weights[k - 1]!),
    ],
    minimaxDual: eigen.dual,
    stationarity: soft.stationarity,
    samplesWithoutRepresentation: samplesToReach(0, noise, model.d, TARGET_EXCESS_RISK),
  };
}

export interface EstimatorPoint {
  readonly pretraining: Pretraining;
  readonly task: string;
  readonly n: number;
  readonly closedForm: number;
  readonly simulated: SimulatedRisk;
}

/**
 * Monte-Carlo downstream fits on the population representations of both pre-trainings against the closed form
 * bias + (sigma^2 + bias) r/(n - r - 1), for the worst downstream task of each.
 */
export function estimatorCheck(model: RepresentationModel, population: PopulationOutcome, ns: readonly number[], trials: number, seed: number): EstimatorPoint[] {
  return PRETRAININGS.flatMap((pretraining, index) => {
    const rep = population.representations.find((p) => p.pretraining === pretraining)!;
    const worst = worstDownstream(model, rep.basis);
    const rng = gaussianSource(seed, 1000 + index);
    return ns.map((n) => ({
      pretraining,
      task: worst.task,
      n,
      closedForm: expectedExcessRisk(worst.bias, model.noise, model.r, n),
      simulated: simulateExcessRisk(rep.basis, model.d, model.r, worst.weights, model.noise, n, trials, rng),
    }));
  });
}

// ---------------------------------------------------------------------------------------------------------
// Representations learned from finite upstream data.

export interface LearnedRun {
  readonly upstreamSamples: number;
  readonly repetition: number;
  /** Seed of the upstream sample and of the initialisation (the same for both pre-trainings: paired). */
  readonly seed: number;
  readonly pretraining: Pretraining;
  /** Largest principal angle (radians) to the population representation of the same pre-training. */
  readonly angle: number;
  /** Weight of the semantic task averaged over the last quarter of training (1/k for average). */
  readonly semanticWeight: number;
  readonly worstEmpiricalLoss: number;
  /** max_i of the population loss sigma^2 + ||(I - B B^T) w_i||^2 at the learned B. */
  readonly worstPopulationLoss: number;
  readonly lossDrift: number;
  readonly worstTask: string;
  readonly worstBias: number;
  readonly samplesToTarget: number;
  /** Per downstream n: the exact expectation at this B, and the mean of `trials` simulated fits. */
  readonly curve: readonly { n: number; closedForm: number; simulated: number }[];
}

/** Trains both pre-trainings on `repetitions` fresh samples of n_up per task, for every n_up of the sweep. */
export async function learnedSweep(
  model: RepresentationModel,
  population: PopulationOutcome,
  settings: Pick<SampleComplexitySettings, 'upstreamSamples' | 'repetitions' | 'ns' | 'trialsPerRepetition'>,
  seed: number,
): Promise<LearnedRun[]> {
  const { d, r, noise } = model;
  const runs: LearnedRun[] = [];
  for (const [u, upstreamSamples] of settings.upstreamSamples.entries()) {
    for (let repetition = 0; repetition < settings.repetitions; repetition++) {
      const runSeed = seed * 10_000 + u * 100 + repetition;
      const sample = drawUpstreamSample(model, upstreamSamples, runSeed);
      for (const [index, pretraining] of PRETRAININGS.entries()) {
        const learned = await learnRepresentation(model, sample, weightingOf(pretraining), TRAINING, runSeed);
        const worst = worstDownstream(model, learned.basis);
        const rng = gaussianSource(runSeed, 2000 + index);
        runs.push({
          upstreamSamples,
          repetition,
          seed: runSeed,
          pretraining,
          angle: angleToPopulation(model, learned.basis, population.representations.find((p) => p.pretraining === pretraining)!.basis),
          semanticWeight: learned.lateWeights[learned.lateWeights.length - 1]!,
          worstEmpiricalLoss: Math.max(...learned.finalLosses),
          worstPopulationLoss: Math.max(...upstreamLosses(model, learned.basis)),
          lossDrift: learned.lossDrift,
          worstTask: worst.task,
          worstBias: worst.bias,
          samplesToTarget: samplesToReach(worst.bias, noise, r, TARGET_EXCESS_RISK),
          curve: settings.ns.map((n) => ({
            n,
            closedForm: expectedExcessRisk(worst.bias, noise, r, n),
            simulated: simulateExcessRisk(learned.basis, d, r, worst.weights, noise, n, settings.trialsPerRepetition, rng).mean,
          })),
        });
      }
    }
  }
  return runs;
}

// ---------------------------------------------------------------------------------------------------------
// Statistics over repetitions.

function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Standard error of the mean (sample standard deviation / sqrt(count)); NaN for fewer than two values. */
function standardError(xs: readonly number[]): number {
  if (xs.length < 2) return NaN;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1) / xs.length);
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export interface SamplesToTarget {
  readonly repetitions: number;
  readonly reaching: number;
  /** Mean and standard error over repetitions when every repetition reaches the target, else Infinity and NaN. */
  readonly mean: number;
  readonly standardError: number;
  /** Median over repetitions (Infinity when half or more never reach it). */
  readonly median: number;
}

export function samplesToTargetOver(values: readonly number[]): SamplesToTarget {
  const reaching = values.filter(Number.isFinite).length;
  const all = reaching === values.length;
  return { repetitions: values.length, reaching, mean: all ? mean(values) : Infinity, standardError: all ? standardError(values) : NaN, median: median(values) };
}

/** Paired comparison of minimax - average on per-repetition values: t interval (@stdlib t quantile) and Wilcoxon signed-rank p. */
export function pairedComparison(metric: string, minimax: readonly number[], average: readonly number[]): Comparison {
  if (minimax.length !== average.length || minimax.length < 2) throw new TheoryError(`pairedComparison: need two equal lists of >= 2 paired values, got ${minimax.length} and ${average.length}`);
  const diffs = minimax.map((v, i) => v - average[i]!);
  const m = mean(diffs);
  const half = tQuantile(0.975, diffs.length - 1) * standardError(diffs);
  // All-zero differences leave nothing to rank; the two pre-trainings are then identical on this metric.
  const p = diffs.every((x) => x === 0) ? 1 : wilcoxon(diffs).pValue;
  return {
    method: 'minimax',
    baseline: 'average',
    metric,
    meanDiff: m,
    ci95: [m - half, m + half],
    p,
    test: 'Wilcoxon signed-rank (@stdlib/stats-wilcoxon); t interval (@stdlib/stats-base-dists-t-quantile)',
    n: diffs.length,
  };
}

// ---------------------------------------------------------------------------------------------------------
// The analysis.

export interface SampleComplexityOptions {
  readonly scale: Scale;
  readonly seed: number;
  /** Replaces parts of the scale's settings (tests, notebooks). */
  readonly settings?: Partial<SampleComplexitySettings>;
}

function checkSettings(s: SampleComplexitySettings): void {
  const ascending = s.upstreamSamples.every((v, i) => Number.isInteger(v) && v >= 1 && (i === 0 || v > s.upstreamSamples[i - 1]!));
  if (s.upstreamSamples.length < 1 || !ascending) throw new TheoryError(`sampleComplexity: upstreamSamples must be ascending integers >= 1, got [${s.upstreamSamples.join(', ')}]`);
  if (!(Number.isInteger(s.repetitions) && s.repetitions >= 2)) throw new TheoryError(`sampleComplexity: repetitions must be an integer >= 2 (a standard error needs two), got ${s.repetitions}`);
  if (s.learned.length < 1) throw new TheoryError('sampleComplexity: learned needs at least one configuration');
  if (!s.ns.includes(REFERENCE_N)) throw new TheoryError(`sampleComplexity: ns must include the reference n = ${REFERENCE_N}, got [${s.ns.join(', ')}]`);
  for (const c of [...s.learned, ...s.estimatorGrid]) {
    const small = [...s.ns, ...s.estimatorNs].filter((n) => n <= c.r + 2);
    if (small.length) throw new TheoryError(`sampleComplexity: downstream n must exceed r + 2 = ${c.r + 2} (the expected excess risk is infinite below), got ${small.join(', ')}`);
  }
}

export async function sampleComplexity(options: SampleComplexityOptions): Promise<ExperimentResult> {
  const started = performance.now();
  const s: SampleComplexitySettings = { ...SETTINGS[options.scale], ...options.settings };
  checkSettings(s);
  // The tensors are a few hundred numbers, where the pure-JS backend's cost per op is below a native call's.
  const backend = await initBackend('cpu');

  // Estimator check: population representations of the grid.
  const grid = s.estimatorGrid.map((c, i) => {
    const model = linearRepresentationModel({ ...c, seed: options.seed + i });
    const population = populationRepresentations(model);
    return { config: c, population, points: estimatorCheck(model, population, s.estimatorNs, s.estimatorTrials, options.seed + i) };
  });

  // Claim: representations learned from finite samples.
  const learned: { config: ModelConfig; model: RepresentationModel; population: PopulationOutcome; runs: LearnedRun[] }[] = [];
  for (const [i, c] of s.learned.entries()) {
    const model = linearRepresentationModel({ ...c, seed: options.seed + 100 + i });
    const population = populationRepresentations(model);
    learned.push({ config: c, model, population, runs: await learnedSweep(model, population, s, options.seed + 100 + i) });
  }

  const label = (c: ModelConfig) => `d=${c.d}, r=${c.r}, rho=${c.signalRatio}`;
  const pop = (o: PopulationOutcome, p: PopulationRepresentation['pretraining']) => o.representations.find((x) => x.pretraining === p)!;
  const runsOf = (cell: (typeof learned)[number], nUp: number, p: Pretraining) => cell.runs.filter((x) => x.upstreamSamples === nUp && x.pretraining === p);
  const riskAt = (run: LearnedRun, n: number) => run.curve.find((c) => c.n === n)!.closedForm;

  // ---- tables
  const runRows = learned.flatMap((cell) => cell.runs.map((run) => ({ cell, run })));
  const learnedRepresentations = table({
    d: runRows.map((x) => x.cell.config.d),
    r: runRows.map((x) => x.cell.config.r),
    signal_ratio: runRows.map((x) => x.cell.config.signalRatio),
    upstream_samples: runRows.map((x) => x.run.upstreamSamples),
    pretraining: runRows.map((x) => x.run.pretraining),
    learned_by: runRows.map((x) => learnedBy(x.run.pretraining)),
    repetition: runRows.map((x) => x.run.repetition),
    seed: runRows.map((x) => x.run.seed),
    principal_angle_deg: runRows.map((x) => degrees(x.run.angle)),
    semantic_weight: runRows.map((x) => x.run.semanticWeight),
    worst_upstream_loss_empirical: runRows.map((x) => x.run.worstEmpiricalLoss),
    worst_upstream_loss_population: runRows.map((x) => x.run.worstPopulationLoss),
    loss_drift: runRows.map((x) => x.run.lossDrift),
    worst_downstream_task: runRows.map((x) => x.run.worstTask),
    worst_bias: runRows.map((x) => x.run.worstBias),
    samples_to_target: runRows.map((x) => x.run.samplesToTarget),
  });

  const groups = learned.flatMap((cell) => s.upstreamSamples.flatMap((nUp) => PRETRAININGS.map((p) => ({ cell, nUp, p, runs: runsOf(cell, nUp, p) }))));
  const summaries = groups.map((g) => ({
    ...g,
    samples: samplesToTargetOver(g.runs.map((x) => x.samplesToTarget)),
    angle: g.runs.map((x) => degrees(x.angle)),
    bias: g.runs.map((x) => x.worstBias),
    population: pop(g.cell.population, g.p),
  }));
  const samplesToTarget = table({
    d: summaries.map((x) => x.cell.config.d),
    r: summaries.map((x) => x.cell.config.r),
    signal_ratio: summaries.map((x) => x.cell.config.signalRatio),
    upstream_samples: summaries.map((x) => x.nUp),
    pretraining: summaries.map((x) => x.p),
    learned_by: summaries.map((x) => learnedBy(x.p)),
    target: summaries.map(() => TARGET_EXCESS_RISK),
    repetitions: summaries.map((x) => x.samples.repetitions),
    repetitions_reaching_target: summaries.map((x) => x.samples.reaching),
    n_mean: summaries.map((x) => x.samples.mean),
    n_standard_error: summaries.map((x) => x.samples.standardError),
    n_median: summaries.map((x) => x.samples.median),
    n_population: summaries.map((x) => x.population.samplesToTarget),
    n_without_representation: summaries.map((x) => x.cell.population.samplesWithoutRepresentation),
    worst_bias_mean: summaries.map((x) => mean(x.bias)),
    worst_bias_standard_error: summaries.map((x) => standardError(x.bias)),
    worst_bias_population: summaries.map((x) => x.population.worstBias),
    principal_angle_deg_mean: summaries.map((x) => mean(x.angle)),
    principal_angle_deg_standard_error: summaries.map((x) => standardError(x.angle)),
  });

  const curveRows = summaries.flatMap((x) =>
    s.ns.map((n) => {
      const simulated = x.runs.map((run) => run.curve.find((c) => c.n === n)!.simulated);
      return { x, n, simulated, closed: x.runs.map((run) => riskAt(run, n)) };
    }),
  );
  const learnedExcessRisk = table({
    d: curveRows.map((c) => c.x.cell.config.d),
    r: curveRows.map((c) => c.x.cell.config.r),
    signal_ratio: curveRows.map((c) => c.x.cell.config.signalRatio),
    upstream_samples: curveRows.map((c) => c.x.nUp),
    pretraining: curveRows.map((c) => c.x.p),
    n: curveRows.map((c) => c.n),
    simulated_mean: curveRows.map((c) => mean(c.simulated)),
    standard_error: curveRows.map((c) => standardError(c.simulated)),
    closed_form_mean: curveRows.map((c) => mean(c.closed)),
    closed_form_standard_error: curveRows.map((c) => standardError(c.closed)),
    population_closed_form: curveRows.map((c) => expectedExcessRisk(c.x.population.worstBias, c.x.cell.model.noise, c.x.cell.config.r, c.n)),
    repetitions: curveRows.map((c) => c.simulated.length),
    trials_per_repetition: curveRows.map(() => s.trialsPerRepetition),
  });

  const popRows = [...grid.map((g) => ({ source: 'estimator check', population: g.population })), ...learned.map((l) => ({ source: 'learned sweep (limit)', population: l.population }))].flatMap((g) =>
    g.population.representations.map((rep) => ({ g, rep })),
  );
  const populationTable = table({
    used_in: popRows.map((x) => x.g.source),
    d: popRows.map((x) => x.g.population.config.d),
    r: popRows.map((x) => x.g.population.config.r),
    signal_ratio: popRows.map((x) => x.g.population.config.signalRatio),
    pretraining: popRows.map((x) => x.rep.pretraining),
    semantic_weight: popRows.map((x) => x.rep.semanticWeight),
    worst_upstream_loss: popRows.map((x) => x.rep.worstUpstreamLoss),
    minimax_dual_bound: popRows.map((x) => x.g.population.minimaxDual),
    worst_downstream_task: popRows.map((x) => x.rep.worstTask),
    worst_bias: popRows.map((x) => x.rep.worstBias),
    samples_to_target: popRows.map((x) => x.rep.samplesToTarget),
    n_without_representation: popRows.map((x) => x.g.population.samplesWithoutRepresentation),
  });

  const zScore = (p: EstimatorPoint) => (p.simulated.mean - p.closedForm) / p.simulated.standardError;
  const checkRows = grid.flatMap((g) => g.points.map((p) => ({ g, p })));
  const estimatorTable = table({
    d: checkRows.map((x) => x.g.config.d),
    r: checkRows.map((x) => x.g.config.r),
    signal_ratio: checkRows.map((x) => x.g.config.signalRatio),
    pretraining: checkRows.map((x) => `${x.p.pretraining} (population)`),
    task: checkRows.map((x) => x.p.task),
    n: checkRows.map((x) => x.p.n),
    simulated_mean: checkRows.map((x) => x.p.simulated.mean),
    standard_error: checkRows.map((x) => x.p.simulated.standardError),
    trials: checkRows.map((x) => x.p.simulated.trials),
    closed_form: checkRows.map((x) => x.p.closedForm),
    z_score: checkRows.map((x) => zScore(x.p)),
  });

  // ---- estimator check statistics: many points at once, so the per-point threshold is Bonferroni-corrected
  // (if the closed form is exact, all |z| stay below it with probability about 95%).
  const zs = checkRows.map((x) => zScore(x.p));
  const maxZ = Math.max(...zs.map(Math.abs));
  const meanZ2 = zs.reduce((a, z) => a + z * z, 0) / zs.length;
  const zThreshold = normalQuantile(1 - 0.025 / zs.length, 0, 1);

  // ---- claim statistics (the first learned configuration)
  const main = learned[0]!;
  const comparisons = s.upstreamSamples.map((nUp) =>
    pairedComparison(
      `worst downstream task's expected excess risk at n = ${REFERENCE_N} (${label(main.config)}, n_up = ${nUp})`,
      runsOf(main, nUp, 'minimax').map((x) => riskAt(x, REFERENCE_N)),
      runsOf(main, nUp, 'average').map((x) => riskAt(x, REFERENCE_N)),
    ),
  );
  const largest = s.upstreamSamples[s.upstreamSamples.length - 1]!;
  const maxDrift = Math.max(...main.runs.filter((x) => x.upstreamSamples === largest).map((x) => x.lossDrift));
  const moving = learned.flatMap((l) => l.runs.filter((x) => x.lossDrift > DRIFT_TOLERANCE));
  // Minimax runs that ended far from the population limit at the larger n_up: a different stationary point of F_eta.
  const astray = learned.flatMap((l) => {
    const limit = pop(l.population, 'minimax').worstUpstreamLoss;
    return l.runs.filter((x) => x.pretraining === 'minimax' && x.upstreamSamples >= 640 && degrees(x.angle) > 30).map((x) => ({ l, x, limit }));
  });
  const minimaxLarge = learned.flatMap((l) => l.runs.filter((x) => x.pretraining === 'minimax' && x.upstreamSamples >= 640));
  const nearAngle = Math.max(...PRETRAININGS.map((p) => mean(runsOf(main, largest, p).map((x) => degrees(x.angle)))));
  const gates: Gate[] = [
    {
      name: 'estimator check',
      description: 'the simulated downstream excess risk matches its closed form at every checked point (largest |z| under the family-wise 95% threshold)',
      value: maxZ,
      threshold: zThreshold,
      passed: maxZ <= zThreshold,
    },
    {
      name: 'upstream training converged',
      description: `largest change of any task loss over the last quarter of training, over the runs the verdict reads (${label(main.config)}, n_up = ${largest})`,
      value: maxDrift,
      threshold: DRIFT_TOLERANCE,
      passed: maxDrift <= DRIFT_TOLERANCE,
    },
    {
      name: 'under-served task',
      description: `in the population, average pre-training leaves the worst downstream task a bias of at least the target ${TARGET_EXCESS_RISK} (${label(main.config)})`,
      value: pop(main.population, 'average').worstBias,
      threshold: TARGET_EXCESS_RISK,
      passed: pop(main.population, 'average').worstBias >= TARGET_EXCESS_RISK,
    },
    {
      name: 'near population',
      description: `at the largest n_up = ${largest}, the mean principal angle (degrees) of both learned representations to their population limits`,
      value: nearAngle,
      threshold: 10,
      passed: nearAngle <= 10,
    },
  ];
  const final = comparisons[comparisons.length - 1]!;
  const failed = gates.filter((g) => !g.passed).map((g) => g.name);
  const verdictText =
    s.repetitions < 8
      ? `not testable at this scale (${s.repetitions} paired repetitions; a verdict needs >= 8)`
      : failed.length
        ? `not testable at this scale (gate failed: ${failed.join(', ')})`
        : final.ci95[1] < 0
          ? 'holds'
          : final.ci95[0] > 0
            ? 'reversed'
            : `no difference detected (CI [${final.ci95[0].toFixed(3)}, ${final.ci95[1].toFixed(3)}])`;
  const verdict: Verdict = {
    claim:
      `With B learned from n_up = ${largest} samples per upstream task, minimax (softmax, eta ${MINIMAX_ETA}) pre-training gives the hardest downstream task a lower expected excess risk ` +
      `at n = ${REFERENCE_N} than average pre-training (${label(main.config)}); a lower risk at every n means fewer samples to any target.`,
    seeds: main.runs.filter((x) => x.upstreamSamples === largest && x.pretraining === 'average').map((x) => x.seed),
    gates,
    comparisons,
    verdict: verdictText,
  };

  // ---- figures
  const nStr = (n: number) => (Number.isFinite(n) ? String(n) : 'never');
  const shownUps = [...new Set([s.upstreamSamples[0]!, s.upstreamSamples[Math.floor((s.upstreamSamples.length - 1) / 2)]!, largest])];
  const mainCurves = curveRows.filter((c) => c.x.cell === main);
  const ns = s.ns;
  const figures: FigureSpec[] = [
    {
      name: 'learned-risk-vs-n',
      data: [
        ...PRETRAININGS.flatMap((p) =>
          shownUps.map((nUp) => {
            const pts = mainCurves.filter((c) => c.x.p === p && c.x.nUp === nUp);
            return {
              type: 'scatter',
              mode: 'lines+markers',
              name: `${p}, n_up = ${nUp}: simulated (±2 s.e. over ${s.repetitions} repetitions)`,
              x: pts.map((c) => c.n),
              y: pts.map((c) => mean(c.simulated)),
              error_y: { type: 'data', array: pts.map((c) => 2 * standardError(c.simulated)), visible: true },
            };
          }),
        ),
        ...PRETRAININGS.map((p) => ({
          type: 'scatter',
          mode: 'lines',
          line: { dash: 'dash' },
          name: `${p}: population B, closed form (the n_up -> infinity limit)`,
          x: ns,
          y: ns.map((n) => expectedExcessRisk(pop(main.population, p).worstBias, main.model.noise, main.config.r, n)),
        })),
        {
          type: 'scatter',
          mode: 'lines',
          line: { dash: 'dot' },
          name: 'no representation: closed form',
          x: ns.filter((n) => n > main.config.d + 1),
          y: ns.filter((n) => n > main.config.d + 1).map((n) => expectedExcessRisk(0, main.model.noise, main.config.d, n)),
        },
        { type: 'scatter', mode: 'lines', line: { dash: 'dashdot' }, name: `target ${TARGET_EXCESS_RISK}`, x: [ns[0], ns[ns.length - 1]], y: [TARGET_EXCESS_RISK, TARGET_EXCESS_RISK] },
      ],
      layout: {
        title: { text: `Claim: worst downstream task on B learned from n_up samples per task (${label(main.config)})` },
        xaxis: { title: { text: 'downstream samples n (log)' }, type: 'log' },
        yaxis: { title: { text: 'excess risk of the worst downstream task (squared-error units, log)' }, type: 'log' },
      },
    },
    {
      name: 'risk-at-reference-n-vs-upstream-samples',
      data: [
        ...learned.flatMap((cell) =>
          PRETRAININGS.map((p) => {
            const xs = summaries.filter((x) => x.cell === cell && x.p === p);
            const risks = xs.map((x) => x.runs.map((run) => riskAt(run, REFERENCE_N)));
            return {
              type: 'scatter',
              mode: 'lines+markers',
              name: `${p} (${label(cell.config)}): learned B, mean ±2 s.e.`,
              x: xs.map((x) => x.nUp),
              y: risks.map(mean),
              error_y: { type: 'data', array: risks.map((v) => 2 * standardError(v)), visible: true },
            };
          }),
        ),
        ...learned.flatMap((cell) =>
          PRETRAININGS.map((p) => ({
            type: 'scatter',
            mode: 'lines',
            line: { dash: 'dash' },
            name: `${p} (${label(cell.config)}): population B`,
            x: [s.upstreamSamples[0], largest],
            y: [0, 1].map(() => expectedExcessRisk(pop(cell.population, p).worstBias, cell.model.noise, cell.config.r, REFERENCE_N)),
          })),
        ),
        { type: 'scatter', mode: 'lines', line: { dash: 'dashdot' }, name: `target ${TARGET_EXCESS_RISK}`, x: [s.upstreamSamples[0], largest], y: [TARGET_EXCESS_RISK, TARGET_EXCESS_RISK] },
      ],
      layout: {
        title: { text: `Claim: worst downstream task's expected excess risk at n = ${REFERENCE_N} vs upstream samples` },
        xaxis: { title: { text: 'upstream samples per task n_up (log)' }, type: 'log' },
        yaxis: { title: { text: `expected excess risk at n = ${REFERENCE_N} (squared-error units, log)` }, type: 'log' },
      },
    },
    {
      name: 'samples-to-target-vs-upstream-samples',
      data: [
        ...learned.flatMap((cell) =>
          PRETRAININGS.map((p) => {
            const xs = summaries.filter((x) => x.cell === cell && x.p === p);
            return {
              type: 'scatter',
              mode: 'lines+markers',
              name: `${p} (${label(cell.config)}): learned B, mean ±2 s.e.`,
              x: xs.map((x) => x.nUp),
              y: xs.map((x) => (Number.isFinite(x.samples.mean) ? x.samples.mean : null)),
              error_y: { type: 'data', array: xs.map((x) => (Number.isFinite(x.samples.mean) ? 2 * x.samples.standardError : null)), visible: true },
            };
          }),
        ),
        ...learned.flatMap((cell) =>
          PRETRAININGS.filter((p) => Number.isFinite(pop(cell.population, p).samplesToTarget)).map((p) => ({
            type: 'scatter',
            mode: 'lines',
            line: { dash: 'dash' },
            name: `${p} (${label(cell.config)}): population B`,
            x: [s.upstreamSamples[0], largest],
            y: [0, 1].map(() => pop(cell.population, p).samplesToTarget),
          })),
        ),
        ...[...new Set(learned.map((cell) => cell.config.d))].map((d) => ({
          type: 'scatter',
          mode: 'lines',
          line: { dash: 'dot' },
          name: `no representation (d = ${d})`,
          x: [s.upstreamSamples[0], largest],
          y: [0, 1].map(() => samplesToReach(0, main.model.noise, d, TARGET_EXCESS_RISK)),
        })),
      ],
      layout: {
        title: { text: `Claim: downstream samples to reach excess risk ${TARGET_EXCESS_RISK} on the worst task (no point: some repetition never reaches it)` },
        xaxis: { title: { text: 'upstream samples per task n_up (log)' }, type: 'log' },
        yaxis: { title: { text: 'downstream samples n (log)' }, type: 'log' },
      },
    },
    {
      name: 'principal-angle-vs-upstream-samples',
      data: learned.flatMap((cell) =>
        PRETRAININGS.map((p) => {
          const xs = summaries.filter((x) => x.cell === cell && x.p === p);
          return {
            type: 'scatter',
            mode: 'lines+markers',
            name: `${p} (${label(cell.config)})`,
            x: xs.map((x) => x.nUp),
            y: xs.map((x) => mean(x.angle)),
            error_y: { type: 'data', array: xs.map((x) => 2 * standardError(x.angle)), visible: true },
          };
        }),
      ),
      layout: {
        title: { text: 'Learned B vs its population limit: largest principal angle (mean ±2 s.e.)' },
        xaxis: { title: { text: 'upstream samples per task n_up (log)' }, type: 'log' },
        yaxis: { title: { text: 'largest principal angle (degrees, log)' }, type: 'log' },
      },
    },
  ];
  const shown = [...grid].reverse().find((g) => g.config.signalRatio > 1) ?? grid[0]!;
  figures.push({
    name: 'estimator-check',
    data: [
      ...PRETRAININGS.flatMap((p) => {
        const pts = shown.points.filter((x) => x.pretraining === p);
        return [
          {
            type: 'scatter',
            mode: 'markers',
            name: `${p} (population B): simulated (±2 s.e.)`,
            x: pts.map((x) => x.n),
            y: pts.map((x) => x.simulated.mean),
            error_y: { type: 'data', array: pts.map((x) => 2 * x.simulated.standardError), visible: true },
          },
          { type: 'scatter', mode: 'lines', name: `${p} (population B): closed form (${pts[0]!.task})`, x: pts.map((x) => x.n), y: pts.map((x) => x.closedForm) },
        ];
      }),
    ],
    layout: {
      title: { text: `Estimator check, not the claim: simulated vs closed-form excess risk (${label(shown.config)}, population B)` },
      xaxis: { title: { text: 'downstream samples n (log)' }, type: 'log' },
      yaxis: { title: { text: 'expected excess risk (squared-error units, log)' }, type: 'log' },
    },
  });

  // ---- summary
  const f3 = (x: number) => x.toFixed(3);
  const pm = (xs: readonly number[], digits: number) => `${mean(xs).toFixed(digits)} ± ${standardError(xs).toFixed(digits)}`;
  const nCell = (x: (typeof summaries)[number]) =>
    x.samples.reaching === x.samples.repetitions
      ? `${x.samples.mean.toFixed(1)} ± ${x.samples.standardError.toFixed(1)}`
      : x.samples.reaching === 0
        ? `never (0/${x.samples.repetitions})`
        : `median ${nStr(x.samples.median)} (${x.samples.reaching}/${x.samples.repetitions} reach)`;
  const claimLines = learned.flatMap((cell) => {
    const rows = s.upstreamSamples.map((nUp) => {
      const [a, m] = PRETRAININGS.map((p) => summaries.find((x) => x.cell === cell && x.nUp === nUp && x.p === p)!);
      return `| ${label(cell.config)} | ${nUp} | ${pm(a!.angle, 1)} / ${pm(m!.angle, 1)} | ${pm(a!.bias, 3)} / ${pm(m!.bias, 3)} | ${nCell(a!)} | ${nCell(m!)} |`;
    });
    const [pa, pmm] = PRETRAININGS.map((p) => pop(cell.population, p));
    rows.push(`| ${label(cell.config)} | population | 0 / 0 | ${f3(pa!.worstBias)} / ${f3(pmm!.worstBias)} | ${nStr(pa!.samplesToTarget)} | ${nStr(pmm!.samplesToTarget)} |`);
    return rows;
  });
  const convergence = learned.flatMap((cell) =>
    PRETRAININGS.map((p) => {
      const first = summaries.find((x) => x.cell === cell && x.p === p && x.nUp === s.upstreamSamples[0])!;
      const last = summaries.find((x) => x.cell === cell && x.p === p && x.nUp === largest)!;
      return `${p} ${mean(first.angle).toFixed(1)}° -> ${mean(last.angle).toFixed(1)}°`;
    }).join(', ') + ` (${label(cell.config)})`,
  );
  const reachStatement = learned.map((cell) => {
    const of = (p: Pretraining) => summaries.filter((x) => x.cell === cell && x.p === p);
    const mmAll = of('minimax').filter((x) => x.samples.reaching === x.samples.repetitions).map((x) => x.nUp);
    const avgAny = of('average').filter((x) => x.samples.reaching > 0).map((x) => x.nUp);
    const pm_ = pop(cell.population, 'minimax');
    // The smallest n_up from which the mean worst bias stays within 0.02 of its population value.
    const closeFrom = (p: Pretraining) => {
      const xs = of(p);
      const i = xs.findIndex((_, j) => xs.slice(j).every((x) => Math.abs(mean(x.bias) - x.population.worstBias) <= 0.02));
      return i < 0 ? 'at no n_up' : `from n_up = ${xs[i]!.nUp}`;
    };
    return (
      `${label(cell.config)}: the worst downstream bias is within 0.02 of the population value ${closeFrom('average')} (average) and ${closeFrom('minimax')} (minimax); ` +
      `average pre-training reaches the target in ${avgAny.length ? `some repetitions at n_up = ${avgAny.join(', ')}` : 'no repetition at any n_up'} ` +
      `(population: ${nStr(pop(cell.population, 'average').samplesToTarget)}); minimax ${mmAll.length ? `reaches it in every repetition at n_up = ${mmAll.join(', ')}` : 'does not reach it in every repetition at any n_up'} ` +
      `(population: ${nStr(pm_.samplesToTarget)}, worst bias ${f3(pm_.worstBias)}).`
    );
  });
  const compLines = comparisons.map(
    (c, i) => `| ${s.upstreamSamples[i]} | ${c.meanDiff.toFixed(3)} | [${c.ci95[0].toFixed(3)}, ${c.ci95[1].toFixed(3)}] | ${c.p.toPrecision(2)} | ${c.n} |`,
  );
  const limitLines = learned.map((cell) => {
    const mm = pop(cell.population, 'minimax');
    const eig = pop(cell.population, 'minimax (eigenspace-restricted)');
    const k = cell.model.upstream.length;
    return (
      `| ${label(cell.config)} | ${f3(mm.worstUpstreamLoss)} | ${f3(cell.population.minimaxDual)} to ${f3(cell.population.minimaxDual + Math.log(k) / MINIMAX_ETA)} | ${mm.worstTask} (${f3(mm.worstBias)}) | ${nStr(mm.samplesToTarget)} | ` +
      `${f3(eig.worstUpstreamLoss)} | ${eig.worstTask} (${f3(eig.worstBias)}) | ${nStr(eig.samplesToTarget)} | ${degrees(angleToPopulation(cell.model, eig.basis, mm.basis)).toFixed(1)} |`
    );
  });
  const gridAdvantage = grid.filter((g) => pop(g.population, 'minimax').samplesToTarget < pop(g.population, 'average').samplesToTarget).map((g) => label(g.config));
  const worse = grid.filter((g) => pop(g.population, 'minimax').samplesToTarget > pop(g.population, 'average').samplesToTarget);
  const gridWorse = worse.map((g) => label(g.config));
  const gridSame = grid.length - gridAdvantage.length - worse.length;
  const worseWhy = worse.every((g) => g.config.signalRatio < 1) ? ': with rho < 1 average keeps the semantic direction and minimax trades part of it for the nuisance' : '';
  const summary = [
    `## Sample complexity of the hardest downstream task, from representations learned on finite upstream data (${options.scale}, seed ${options.seed})`,
    '',
    'Model: x ~ N(0, I_d); 2(r-1) pattern tasks w = u_j +- h u_r (core pattern directions with signal 1, a nuisance direction shared with loading h), ' +
      'one semantic task w = 0.5 u_{r+1}; signal ratio rho = pooled nuisance variance / semantic variance. Label noise sigma = 0.5 upstream and downstream.',
    `Upstream: n_up samples per task; B [d, r] and one head per task trained by the engine's pretrain() loop on the empirical squared errors, every step on the whole sample: ` +
      `average (weighting average, eta 0) vs minimax (softmax-weighted, eta ${MINIMAX_ETA}, no EMA), Adam lr ${TRAINING.lr}, ${TRAINING.steps} steps, tfjs ${backend.name} backend (float32). ` +
      `n_up in {${s.upstreamSamples.join(', ')}}; ${s.repetitions} repetitions per n_up, each a fresh sample and initialisation shared by both pre-trainings (paired).`,
    `Downstream: unit-norm tasks (each pattern direction and the semantic one), least-squares head on B^T x; the worst task is the one with the largest bias ||(I - B B^T) v||^2 under that B. ` +
      `Its expected excess risk is bias + (sigma^2 + bias) r/(n - r - 1) (checked below); n to reach the target ${TARGET_EXCESS_RISK} is computed per repetition.`,
    '',
    '### Claim: representations learned from n_up samples per task',
    '',
    '| configuration | n_up | principal angle to population (deg), average / minimax | worst bias, average / minimax | n to target, average | n to target, minimax |',
    '|---|---|---|---|---|---|',
    ...claimLines,
    '',
    '(mean ± standard error over repetitions; n to target: mean ± s.e. when every repetition reaches it.)',
    '',
    `- Learned B -> population B (largest principal angle, mean, smallest to largest n_up): ${convergence.join('; ')}.`,
    ...reachStatement.map((x) => `- ${x}`),
    `- Minimax runs at n_up >= 640 that ended more than 30° from the population limit: ${astray.length} of ${minimaxLarge.length}` +
      (astray.length
        ? ` (${astray.map((a) => `${label(a.l.config)}, n_up ${a.x.upstreamSamples}, repetition ${a.x.repetition}: worst population loss ${f3(a.x.worstPopulationLoss)} vs ${f3(a.limit)} at the limit`).join('; ')}): ` +
          'stationary points of F_eta other than its minimum, which the softmax-weighted descent can end in.'
        : '.'),
    `- Runs still moving at the end (a task loss changed by more than ${DRIFT_TOLERANCE} over the last quarter): ${moving.length} of ${runRows.length}` +
      (moving.length ? `, at n_up = ${[...new Set(moving.map((x) => x.upstreamSamples))].sort((a, b) => a - b).join(', ')}.` : '.'),
    `- Paired comparison, minimax - average, worst task's expected excess risk at n = ${REFERENCE_N} (${label(main.config)}):`,
    '',
    '| n_up | mean difference | 95% CI (t) | Wilcoxon p | pairs |',
    '|---|---|---|---|---|',
    ...compLines,
    '',
    `Gates: ${gates.map((g) => `${g.name} ${g.passed ? 'passed' : 'FAILED'} (${g.value.toPrecision(3)} vs ${g.threshold.toPrecision(3)})`).join('; ')}.`,
    `**Verdict (${label(main.config)}, n_up = ${largest}): ${verdictText}.**`,
    '',
    '### The population limit is not the eigenspace of the previous analysis',
    '',
    `As n_up grows the minimax run converges to the minimiser of F_eta = (1/eta) log sum_i exp(eta L_i) over subspaces (float64 softmax-weighted descent on the population losses; largest remaining gradient ${Math.max(...learned.map((l) => l.population.stationarity)).toExponential(1)}). ` +
      'Where the nuisance and the semantic direction compete for the last dimension it takes a mixture of both (balancing the pattern and semantic losses), not the pure semantic direction that the previous analysis ' +
      '(top-r eigenspace of sum_i p_i w_i w_i^T) assumed. That analysis therefore built minimax\'s downstream advantage in; the learned runs converge to the mixture:',
    '',
    '| configuration | worst upstream loss, softmax limit | bracket [dual, dual + log(k)/eta] | its worst task (bias) | n to target | eigenspace minimax: worst upstream loss | its worst task (bias) | n to target | angle between the two (deg) |',
    '|---|---|---|---|---|---|---|---|---|',
    ...limitLines,
    '',
    '### Estimator check (verifies the downstream estimator, not the claim)',
    '',
    `Simulated vs closed-form downstream excess risk on the population representations: ${checkRows.length} points (${grid.length} configurations x 2 pre-trainings x n grid, ${s.estimatorTrials} trials each): ` +
      `largest |simulated - closed form| = ${maxZ.toFixed(2)} standard errors, mean squared z = ${meanZ2.toFixed(2)} (1 if the closed form is exact); ` +
      `${maxZ <= zThreshold ? `all within the family-wise 95% threshold ${zThreshold.toFixed(2)}: the closed form held` : `some beyond the family-wise 95% threshold ${zThreshold.toFixed(2)}: NOT held`}. ` +
      `On these population representations minimax needs fewer samples than average in ${gridAdvantage.length} of ${grid.length} configurations` +
      `${gridAdvantage.length ? ` (${gridAdvantage.join('; ')})` : ''} and more in ${gridWorse.length}${gridWorse.length ? ` (${gridWorse.join('; ')}${worseWhy})` : ''}; in the other ${gridSame} both need the same n or neither reaches the target.`,
  ].join('\n');

  return {
    name: 'theory-sample-complexity',
    title: 'Sample complexity of the worst downstream task: average vs task-robust pre-training, learned from finite upstream data',
    scale: options.scale,
    tables: {
      'samples-to-target': samplesToTarget,
      'learned-representations': learnedRepresentations,
      'learned-excess-risk': learnedExcessRisk,
      'population-representations': populationTable,
      'estimator-check': estimatorTable,
    },
    figures,
    summary,
    verdict,
    seconds: (performance.now() - started) / 1000,
    backend: `cpu (float64 JavaScript); pre-training on tfjs ${backend.name} (float32)`,
  };
}
