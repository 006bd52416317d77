/**
 * The minimax step of task-robust pre-training (Wang et al., NeurIPS 2023): how the k upstream task losses
 * become one training objective, on the device.
 *
 * - softmax (the paper's softmax-weighted gradient descent): p = softmax(eta * l), held constant in the
 *   gradient, so the update is sum_i p_i grad L_i = grad F_eta with
 *     F_eta(theta) = (1/eta) log sum_i exp(eta L_i(theta)),
 *   and, for any theta,
 *     max_i L_i(theta) <= F_eta(theta) <= max_i L_i(theta) + log(k) / eta.
 *   So descending F_eta descends the worst task's loss up to log(k)/eta: large eta approaches min-max
 *   training, eta = 0 is exactly average training (p uniform). Optionally l is an exponential moving
 *   average of the minibatch losses (less noisy weights).
 * - average: the mean of the task losses (minimax with eta = 0).
 * - group-dro (Sagawa et al. 2020): q <- q * exp(eta * l), normalised, a stateful exponentiated-gradient
 *   ascent on the simplex (a baseline to compare against).
 *
 * The float64 host versions of the same formulas, which theory/ and the tests use as the reference, are
 * beside this file in softmax-weights.ts.
 */
import * as tf from '@tensorflow/tfjs';
import type { Weighting } from '../../dsl/spec.js';
import { customGradient } from '../ops/custom-gradient.js';

/** Identity in the forward pass, zero gradient: the weights are data, not part of the graph. */
export const stopGradient: (x: tf.Tensor) => tf.Tensor = customGradient<[tf.Tensor]>((x) => ({ value: tf.clone(x), gradFunc: (dy) => tf.zerosLike(dy) }));

export interface WeightedObjective {
  /** Scalar to minimise. */
  readonly total: tf.Scalar;
  /** Weights p [k] used this step. */
  readonly weights: tf.Tensor1D;
}

/** What the weighting carries from step to step (device tensors; null where the method needs none). */
export interface WeightingState {
  /** The EMA of the (normalised) losses the weights are computed from ('softmax' and 'group-dro' with ema > 0). */
  readonly smoothed: tf.Tensor1D | null;
  /** Group DRO's log-weights. */
  readonly logWeights: tf.Tensor1D | null;
  /** The task losses at initialisation ('relative' losses divide by them). */
  readonly initial: tf.Tensor1D | null;
}

/** The same state as host numbers, for checkpoints. */
export interface SavedWeightingState {
  readonly smoothed: number[] | null;
  readonly logWeights: number[] | null;
  readonly initial: number[] | null;
}

export class TaskWeighting {
  private state: WeightingState;

  /**
   * `references` [k]: the per-task reference losses that 'excess' losses subtract (required for it);
   * the upstream tasks provide them (Upstream.references).
   */
  constructor(readonly k: number, readonly config: Weighting, private readonly references: readonly number[] | null = null) {
    if (config.losses === 'excess' && config.method !== 'average' && (references === null || references.length !== k)) {
      throw new Error(`minimax: 'excess' losses need ${k} per-task references, got ${references === null ? 'none' : references.length}`);
    }
    this.state = { smoothed: null, logWeights: this.initialLogWeights(), initial: null };
  }

  private initialLogWeights(): tf.Tensor1D | null {
    return this.config.method === 'group-dro' ? tf.keep(tf.fill([this.k], -Math.log(this.k)) as tf.Tensor1D) : null;
  }

  /**
   * Call inside the gradient closure with the k task losses; update() afterwards commits `next`.
   * The weights see the losses normalised ('raw' | 'relative' | 'excess'), then smoothed by the EMA; the
   * gradient always flows through the raw losses: the objective is sum_i p_i L_i with p held constant.
   */
  objective(losses: tf.Tensor1D): WeightedObjective & { next: WeightingState | null } {
    const { method, eta, ema, losses: mode } = this.config;
    if (method === 'average' || eta === 0) {
      const weights = tf.fill([this.k], 1 / this.k) as tf.Tensor1D;
      return { total: tf.mean(losses) as tf.Scalar, weights, next: null };
    }
    const l = stopGradient(losses) as tf.Tensor1D;
    // Without an estimate at initialisation (setInitial), the first step's losses are the yardstick.
    const initial = mode === 'relative' ? (this.state.initial ?? l) : null;
    const normalised =
      mode === 'relative' ? (tf.div(l, initial!) as tf.Tensor1D) : mode === 'excess' ? (tf.sub(l, tf.tensor1d(this.references as number[])) as tf.Tensor1D) : l;
    const source = ema > 0 && this.state.smoothed ? (tf.add(tf.mul(this.state.smoothed, ema), tf.mul(normalised, 1 - ema)) as tf.Tensor1D) : normalised;
    let weights: tf.Tensor1D;
    let logWeights: tf.Tensor1D | null = null;
    if (method === 'softmax') {
      weights = tf.softmax(tf.mul(source, eta)) as tf.Tensor1D;
    } else {
      // group-dro: log q_{t+1} = log q_t + eta * l, normalised; this step uses q_{t+1}.
      weights = tf.softmax(tf.add(this.state.logWeights!, tf.mul(source, eta))) as tf.Tensor1D;
      logWeights = tf.log(weights) as tf.Tensor1D;
    }
    return { total: tf.sum(tf.mul(weights, losses)) as tf.Scalar, weights, next: { smoothed: ema > 0 ? source : null, logWeights, initial } };
  }

  /** The task losses at initialisation, the yardstick of 'relative' losses (the loop estimates them before training). */
  setInitial(values: readonly number[]): void {
    if (values.length !== this.k) throw new Error(`minimax: ${values.length} initial losses for ${this.k} tasks`);
    this.state.initial?.dispose();
    this.state = { ...this.state, initial: tf.keep(tf.tensor1d(Float32Array.from(values))) };
  }

  /** Commits the state objective() returned; its tensors must have been kept (keepState). */
  update(next: WeightingState | null): void {
    if (!next) return;
    const old = this.state;
    this.state = next;
    for (const key of ['smoothed', 'logWeights', 'initial'] as const) if (old[key] && old[key] !== next[key]) old[key]!.dispose();
  }

  async saveState(): Promise<SavedWeightingState> {
    const read = async (t: tf.Tensor1D | null) => (t ? Array.from(await t.data()) : null);
    return { smoothed: await read(this.state.smoothed), logWeights: await read(this.state.logWeights), initial: await read(this.state.initial) };
  }

  loadState(saved: SavedWeightingState | null): void {
    this.dispose();
    const keep = (v: number[] | null) => (v ? tf.keep(tf.tensor1d(Float32Array.from(v))) : null);
    this.state = {
      smoothed: keep(saved?.smoothed ?? null),
      logWeights: keep(saved?.logWeights ?? null) ?? this.initialLogWeights(),
      initial: keep(saved?.initial ?? null),
    };
  }

  dispose(): void {
    for (const t of [this.state.smoothed, this.state.logWeights, this.state.initial]) t?.dispose();
    this.state = { smoothed: null, logWeights: null, initial: null };
  }
}

/** tf.keep of every tensor of a state (objective() runs inside a tidy). */
export function keepState(next: WeightingState | null): WeightingState | null {
  if (!next) return null;
  const keep = (t: tf.Tensor1D | null) => (t ? tf.keep(t) : null);
  return { smoothed: keep(next.smoothed), logWeights: keep(next.logWeights), initial: keep(next.initial) };
}
