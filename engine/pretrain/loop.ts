/**
 * The pre-training loop: each step draws one minibatch per upstream task, weights the k task losses
 * (average / softmax minimax / Group DRO) and takes one Adam step. Task losses and weights are kept on
 * the device and read back in blocks of `logEvery` steps (one transfer per block, not per step), which
 * is also when they are checked for NaN/Inf. A checkpoint (parameters, optimizer, RNG, weighting state,
 * history) is written atomically every `checkpointEvery` steps; a resumed run continues from it and ends
 * with exactly the metrics of an uninterrupted run on the same backend.
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync } from 'node:fs';
import { Adam } from '../models/adam.js';
import { writeFileAtomic } from '../store/atomic-file.js';
import { loadCheckpoint, saveCheckpoint } from '../store/checkpoint.js';
import { EngineError } from '../errors.js';
import { loadParameters, saveParameters, type Parameters } from '../models/parameters.js';
import { RateMeter, type ProgressSink } from '../progress.js';
import { SeededRandom } from '../random.js';
import type { Weighting } from '../../dsl/spec.js';
import { keepState, TaskWeighting, type SavedWeightingState, type WeightingState } from './minimax.js';
import type { Upstream } from './upstream.js';

export interface PretrainOptions {
  readonly params: Parameters;
  readonly upstream: Upstream;
  readonly weighting: Weighting;
  readonly steps: number;
  readonly lr: number;
  /** Multiplier of lr at step t (1-based); default constant. */
  readonly lrSchedule?: (t: number) => number;
  readonly seed: number;
  readonly checkpointPath: string;
  readonly checkpointEvery: number;
  readonly metricsPath: string;
  readonly logEvery?: number;
  readonly onProgress?: ProgressSink;
  /** Stop after this step (tests of kill-and-resume); the checkpoint is left as a killed run would. */
  readonly stopAfter?: number;
}

export interface StepRecord {
  readonly step: number;
  readonly losses: readonly number[];
  readonly weights: readonly number[];
}

export interface PretrainOutcome {
  readonly steps: number;
  readonly seconds: number;
  readonly taskNames: readonly string[];
  readonly history: readonly StepRecord[];
  readonly finalTaskLosses: readonly number[];
  readonly finalWeights: readonly number[];
  /** The task losses at initialisation (mean of INITIAL_LOSS_BATCHES minibatches); null with one task. */
  readonly initialTaskLosses: readonly number[] | null;
  readonly resumedFrom: number;
}

interface CheckpointMeta {
  step: number;
  adamStep: number;
  rng: number[];
  weightingState: SavedWeightingState | null;
  initialTaskLosses: number[] | null;
  history: StepRecord[];
  seconds: number;
}

export async function pretrain(o: PretrainOptions): Promise<PretrainOutcome> {
  const logEvery = o.logEvery ?? 10;
  const names = [...o.params.keys()];
  const adam = new Adam(o.params, names, { lr: o.lr, ...(o.lrSchedule ? { schedule: o.lrSchedule } : {}) });
  const weighting = new TaskWeighting(o.upstream.k, o.weighting, o.upstream.references);
  let rng = new SeededRandom(o.seed, 7);
  let step = 0;
  let history: StepRecord[] = [];
  let secondsBefore = 0;
  let initialTaskLosses: number[] | null = null;
  if (existsSync(o.checkpointPath)) {
    try {
      const ck = loadCheckpoint<CheckpointMeta>(o.checkpointPath);
      loadParameters(o.params, ck.tensors);
      adam.load(ck.tensors, ck.meta.adamStep);
      weighting.loadState(ck.meta.weightingState);
      rng = SeededRandom.fromState(ck.meta.rng);
      step = ck.meta.step;
      history = ck.meta.history;
      secondsBefore = ck.meta.seconds;
      initialTaskLosses = ck.meta.initialTaskLosses ?? null;
    } catch (e) {
      // A corrupt checkpoint is the caller's error to report; the optimizer's state must not leak with it.
      adam.dispose();
      weighting.dispose();
      throw e;
    }
  }
  if (step === 0 && o.upstream.k >= 2 && o.steps > 0) initialTaskLosses = await lossesAtInitialisation(o.upstream, o.seed);
  if (initialTaskLosses) weighting.setInitial(initialTaskLosses);
  const resumedFrom = step;
  const meter = new RateMeter(step, o.steps);
  let pending: { step: number; losses: tf.Tensor1D; weights: tf.Tensor1D }[] = [];

  const flush = async (): Promise<void> => {
    if (pending.length === 0) return;
    const block = pending;
    pending = [];
    const stacked = tf.tidy(() => [tf.stack(block.map((b) => b.losses)), tf.stack(block.map((b) => b.weights))]);
    tf.dispose(block.flatMap((b) => [b.losses, b.weights]));
    const [lossData, weightData] = await Promise.all(stacked.map((t) => t.data())).finally(() => tf.dispose(stacked));
    const k = o.upstream.k;
    block.forEach((b, i) => {
      const losses = Array.from(lossData.subarray(i * k, (i + 1) * k));
      const bad = losses.findIndex((v) => !Number.isFinite(v));
      if (bad >= 0) {
        throw new EngineError(
          `pre-training diverged: loss of task '${o.upstream.taskNames[bad]}' is ${losses[bad]} at step ${b.step}; ` +
            `the last good checkpoint is kept — lower the learning rate or eta and run again`,
        );
      }
      history.push({ step: b.step, losses, weights: Array.from(weightData.subarray(i * k, (i + 1) * k)) });
    });
  };

  const checkpoint = async (): Promise<void> => {
    await flush();
    const adamState = await adam.save();
    const tensors = [...(await saveParameters(o.params)), ...adamState.tensors];
    const meta: CheckpointMeta = {
      step,
      adamStep: adamState.step,
      rng: rng.state(),
      weightingState: await weighting.saveState(),
      initialTaskLosses,
      history,
      seconds: secondsBefore + meter.at(step).seconds,
    };
    saveCheckpoint(o.checkpointPath, tensors, meta);
    writeFileAtomic(o.metricsPath, metricsCsv(o.upstream.taskNames, history));
  };

  try {
    while (step < o.steps) {
      const batch = o.upstream.draw(step, rng);
      let kept: { losses: tf.Tensor1D; weights: tf.Tensor1D; next: WeightingState | null } | null = null;
      try {
        const cost = adam.minimize(() => {
          const losses = batch.taskLosses();
          const obj = weighting.objective(losses);
          kept = { losses: tf.keep(losses), weights: tf.keep(obj.weights), next: keepState(obj.next) };
          return obj.total;
        });
        cost.dispose();
      } finally {
        batch.dispose();
      }
      const { losses, weights, next } = kept!;
      weighting.update(next);
      step += 1;
      pending.push({ step, losses, weights });
      if (step % logEvery === 0 || step === o.steps) {
        await flush();
        const last = history[history.length - 1]!;
        const rate = meter.at(step);
        o.onProgress?.({
          stage: 'pretrain',
          step,
          total: o.steps,
          perSecond: rate.perSecond,
          etaSeconds: rate.etaSeconds,
          fields: Object.fromEntries(o.upstream.taskNames.flatMap((n, i) => [[`L[${n}]`, last.losses[i]!], [`p[${n}]`, last.weights[i]!]])),
        });
      }
      if (step % o.checkpointEvery === 0 || step === o.steps) await checkpoint();
      if (o.stopAfter !== undefined && step >= o.stopAfter) break;
    }
    await flush();
    // An untrained control (0 steps) still stores its initial parameters, so later stages and
    // `robustlab certify` open it like any run.
    if (o.steps === 0 && !existsSync(o.checkpointPath)) await checkpoint();
  } finally {
    tf.dispose(pending.flatMap((b) => [b.losses, b.weights]));
    adam.dispose();
    weighting.dispose();
  }
  const last = history[history.length - 1];
  return {
    steps: step,
    seconds: secondsBefore + meter.at(step).seconds,
    taskNames: o.upstream.taskNames,
    history,
    finalTaskLosses: last ? last.losses : [],
    finalWeights: last ? last.weights : [],
    initialTaskLosses,
    resumedFrom,
  };
}

/** Minibatches averaged for the task losses at initialisation ('relative' losses divide by them). */
export const INITIAL_LOSS_BATCHES = 8;

/**
 * Each task's loss at the initial parameters, averaged over INITIAL_LOSS_BATCHES minibatches (one minibatch's
 * loss is too noisy a yardstick: its error would tilt the weights for the whole run). The batches come from
 * their own random stream and mask seeds, so the training data order is the same with or without them.
 */
async function lossesAtInitialisation(upstream: Upstream, seed: number): Promise<number[]> {
  const rng = new SeededRandom(seed, 13);
  const sum = new Float64Array(upstream.k);
  for (let i = 0; i < INITIAL_LOSS_BATCHES; i++) {
    const batch = upstream.draw(2 ** 40 + i, rng);
    try {
      const l = tf.tidy(() => batch.taskLosses());
      (await l.data()).forEach((v, t) => (sum[t] += v / INITIAL_LOSS_BATCHES));
      l.dispose();
    } finally {
      batch.dispose();
    }
  }
  return Array.from(sum);
}

/** The plan's learning-rate schedule as a multiplier of lr at step t (1-based). */
export function lrScheduleOf(kind: 'constant' | 'cosine', steps: number): ((t: number) => number) | undefined {
  if (kind === 'constant') return undefined;
  // Linear warm-up over the first 5% of the steps, then cosine decay to 0 at the last step.
  const warmup = Math.max(1, Math.round(0.05 * steps));
  return (t) => (t <= warmup ? t / warmup : 0.5 * (1 + Math.cos((Math.PI * (t - warmup)) / Math.max(1, steps - warmup))));
}

export function metricsCsv(taskNames: readonly string[], history: readonly StepRecord[]): string {
  const safe = taskNames.map((n) => n.replace(/[^A-Za-z0-9+_-]/g, '_'));
  const header = ['step', ...safe.map((n) => `loss_${n}`), ...safe.map((n) => `weight_${n}`)].join(',');
  return [header, ...history.map((r) => [r.step, ...r.losses, ...r.weights].join(','))].join('\n') + '\n';
}
