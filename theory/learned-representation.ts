/**
 * Representations learned from finite upstream data by the engine's own pre-training loop.
 *
 * Upstream data: n_up samples per task from the linear model (linear-representation.ts), X_i [n_up, d] with
 * rows x ~ N(0, I_d) and y_i = X_i w_i + sigma eps, drawn in float64 on the host.
 * Model: a shared representation B [d, r] and one linear head a_i [r] per task. Task i's loss is its
 * empirical mean squared error on its n_up samples,
 *     L_i(B, a_i) = (1/n_up) ||y_i - X_i B a_i||^2 = q_i - 2 c_i^T B a_i + (B a_i)^T S_i (B a_i),
 *     S_i = X_i^T X_i / n_up,  c_i = X_i^T y_i / n_up,  q_i = y_i^T y_i / n_up,
 * evaluated from those sufficient statistics: the same number as the sum over the samples, at a cost per
 * step that does not grow with n_up.
 * Training: `pretrain()` (engine/pretrain/loop.ts), i.e. Adam on the task losses weighted by the engine's
 * `TaskWeighting`: average (eta = 0) or the paper's softmax-weighted minimax step. Every step uses all n_up
 * samples of every task (full-batch: the minibatch is the whole finite sample), so the only randomness is the
 * sample and the initialisation.
 * Limit: as n_up grows, S_i -> I, c_i -> w_i, q_i -> ||w_i||^2 + sigma^2, and min over a_i of L_i tends to the
 * population loss sigma^2 + ||(I - B B^T) w_i||^2 of span B (`upstreamLosses`), whose softmax-weighted
 * minimiser is `softmaxRepresentation`.
 */
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Weighting } from '../dsl/spec.js';
import { addParam, disposeParameters, glorot, param, type Parameters } from '../engine/models/parameters.js';
import { pretrain } from '../engine/pretrain/loop.js';
import type { Upstream } from '../engine/pretrain/upstream.js';
import { SeededRandom } from '../engine/random.js';
import { TheoryError } from './errors.js';
import { gram, orthonormalColumns, symmetricEigen } from './linear-algebra.js';
import type { RepresentationModel } from './linear-representation.js';
import { gaussianSource } from './random.js';

/** The sufficient statistics of n_up samples per upstream task (float64, host). */
export interface UpstreamSample {
  /** Samples per task; Infinity for the population statistics. */
  readonly samplesPerTask: number;
  /** S_i = X_i^T X_i / n_up, k matrices d x d, row-major. */
  readonly secondMoments: readonly Float64Array[];
  /** c_i = X_i^T y_i / n_up, k vectors of length d. */
  readonly crossMoments: readonly Float64Array[];
  /** q_i = y_i^T y_i / n_up. */
  readonly labelMoments: Float64Array;
}

/** Draws n_up samples per task (x ~ N(0, I_d), y = <w_i, x> + sigma eps) and keeps their sufficient statistics. */
export function drawUpstreamSample(model: RepresentationModel, samplesPerTask: number, seed: number): UpstreamSample {
  if (!(Number.isInteger(samplesPerTask) && samplesPerTask >= 1)) {
    throw new TheoryError(`drawUpstreamSample: samples per task must be an integer >= 1, got ${samplesPerTask}`);
  }
  const { d, noise } = model;
  const secondMoments: Float64Array[] = [];
  const crossMoments: Float64Array[] = [];
  const labelMoments = new Float64Array(model.upstream.length);
  const x = new Float64Array(d);
  for (const [task, { weights: w }] of model.upstream.entries()) {
    const rng = gaussianSource(seed, 100 + task);
    const s = new Float64Array(d * d);
    const c = new Float64Array(d);
    let q = 0;
    for (let n = 0; n < samplesPerTask; n++) {
      rng.fillNormal(x);
      let y = noise * rng.normal();
      for (let i = 0; i < d; i++) y += w[i]! * x[i]!;
      q += y * y;
      // Upper triangle only (mirrored below): this loop is the whole cost of drawing the sample.
      for (let i = 0; i < d; i++) {
        const xi = x[i]!;
        c[i] += xi * y;
        for (let j = i; j < d; j++) s[i * d + j] += xi * x[j]!;
      }
    }
    for (let i = 0; i < d; i++) {
      for (let j = i; j < d; j++) {
        s[i * d + j]! /= samplesPerTask;
        s[j * d + i] = s[i * d + j]!;
      }
      c[i]! /= samplesPerTask;
    }
    secondMoments.push(s);
    crossMoments.push(c);
    labelMoments[task] = q / samplesPerTask;
  }
  return { samplesPerTask, secondMoments, crossMoments, labelMoments };
}

/** The n_up -> infinity statistics: S_i = I, c_i = w_i, q_i = ||w_i||^2 + sigma^2. */
export function populationStatistics(model: RepresentationModel): UpstreamSample {
  const { d } = model;
  const identity = new Float64Array(d * d);
  for (let i = 0; i < d; i++) identity[i * d + i] = 1;
  return {
    samplesPerTask: Infinity,
    secondMoments: model.upstream.map(() => identity),
    crossMoments: model.upstream.map((t) => Float64Array.from(t.weights)),
    labelMoments: Float64Array.from(model.upstream, (t) => t.weights.reduce((s, v) => s + v * v, 0) + model.noise ** 2),
  };
}

/**
 * The upstream of `pretrain()` over one sample: every step's batch is the whole sample, and its task losses
 * are the k empirical mean squared errors of the heads on B^T x (from the sufficient statistics, on the device).
 */
export function representationUpstream(model: RepresentationModel, sample: UpstreamSample, params: Parameters): Upstream {
  const { d } = model;
  const k = model.upstream.length;
  const flat = (arrays: readonly Float64Array[], size: number) => {
    const out = new Float32Array(k * size);
    arrays.forEach((a, i) => out.set(a, i * size));
    return out;
  };
  const second = tf.keep(tf.tensor3d(flat(sample.secondMoments, d * d), [k, d, d]));
  const cross = tf.keep(tf.tensor2d(flat(sample.crossMoments, d), [k, d]));
  const labels = tf.keep(tf.tensor1d(Float32Array.from(sample.labelMoments)));
  const basis = param(params, 'basis');
  const heads = param(params, 'heads');
  return {
    k,
    taskNames: model.upstream.map((t) => t.name),
    taskSizes: model.upstream.map(() => sample.samplesPerTask),
    // The loss of the zero predictor (the task's mean label square), what 'excess' losses would subtract.
    references: Array.from(sample.labelMoments),
    draw: () => ({
      taskLosses: () =>
        tf.tidy(() => {
          const fits = tf.transpose(tf.matMul(basis, heads)); // [k, d]: row i is B a_i
          const secondTimesFit = tf.squeeze(tf.matMul(second, tf.expandDims(fits, 2)), [2]); // [k, d]: S_i B a_i
          const quadratic = tf.sum(tf.mul(fits, secondTimesFit), 1);
          const linear = tf.sum(tf.mul(fits, cross), 1);
          return tf.add(tf.sub(labels, tf.mul(linear, 2)), quadratic) as tf.Tensor1D;
        }),
      dispose: () => undefined,
    }),
    dispose: () => tf.dispose([second, cross, labels]),
  };
}

export interface TrainingSchedule {
  readonly steps: number;
  readonly lr: number;
}

export interface LearnedRepresentation {
  /** span of the trained B: d x r, orthonormal columns, row-major (float64). */
  readonly basis: Float64Array;
  readonly weighting: Weighting;
  readonly samplesPerTask: number;
  /** Empirical task losses at the last step. */
  readonly finalLosses: readonly number[];
  /** Task weights averaged over the last quarter of the steps (a single step's p is noise). */
  readonly lateWeights: readonly number[];
  /** max_i |L_i(last step) - L_i(step 3T/4)|: how far the losses still moved in the last quarter (0 when converged). */
  readonly lossDrift: number;
  readonly steps: number;
  readonly seconds: number;
}

/**
 * Trains B [d, r] and the k heads [r, k] on one sample with `pretrain()` and returns span B. Initialisation
 * (Glorot, from `seed`) does not depend on the weighting, so average and minimax runs on the same sample and
 * seed are paired. The loop's checkpoint and metrics go to a temporary folder that is removed afterwards.
 */
export async function learnRepresentation(
  model: RepresentationModel,
  sample: UpstreamSample,
  weighting: Weighting,
  schedule: TrainingSchedule,
  seed: number,
): Promise<LearnedRepresentation> {
  const { d, r } = model;
  const k = model.upstream.length;
  if (!(Number.isInteger(schedule.steps) && schedule.steps >= 1)) throw new TheoryError(`learnRepresentation: steps must be an integer >= 1, got ${schedule.steps}`);
  if (!(schedule.lr > 0 && Number.isFinite(schedule.lr))) throw new TheoryError(`learnRepresentation: lr must be a finite number > 0, got ${schedule.lr}`);
  if (!(weighting.eta >= 0 && Number.isFinite(weighting.eta))) throw new TheoryError(`learnRepresentation: eta must be a finite number >= 0, got ${weighting.eta}`);
  const rng = new SeededRandom(seed, 31);
  const params: Parameters = new Map();
  addParam(params, 'basis', glorot(rng, [d, r], d, r));
  addParam(params, 'heads', glorot(rng, [r, k], r, k));
  const upstream = representationUpstream(model, sample, params);
  const dir = mkdtempSync(join(tmpdir(), 'robustlab-learned-representation-'));
  try {
    const outcome = await pretrain({
      params,
      upstream,
      weighting,
      steps: schedule.steps,
      lr: schedule.lr,
      seed,
      checkpointPath: join(dir, 'checkpoint.bin'),
      checkpointEvery: schedule.steps,
      metricsPath: join(dir, 'metrics.csv'),
      logEvery: Math.min(schedule.steps, 250),
    });
    const raw = Float64Array.from(await param(params, 'basis').data());
    // A B with (numerically) dependent columns has no r-dimensional span to report.
    const spectrum = symmetricEigen(gram(raw, d, r), r).values;
    if (!(spectrum[r - 1]! > 1e-8 * spectrum[0]!)) throw new TheoryError(`learnRepresentation: the trained B has rank < r = ${r}; lower lr or raise steps`);
    const late = outcome.history.slice(Math.floor((outcome.history.length * 3) / 4));
    const quarter = late[0]!.losses;
    return {
      basis: orthonormalColumns(raw, d, r),
      weighting,
      samplesPerTask: sample.samplesPerTask,
      finalLosses: outcome.finalTaskLosses,
      lateWeights: Array.from({ length: k }, (_, i) => late.reduce((s, h) => s + h.weights[i]!, 0) / late.length),
      lossDrift: Math.max(...outcome.finalTaskLosses.map((l, i) => Math.abs(l - quarter[i]!))),
      steps: outcome.steps,
      seconds: outcome.seconds,
    };
  } finally {
    upstream.dispose();
    disposeParameters(params);
    rmSync(dir, { recursive: true, force: true });
  }
}
