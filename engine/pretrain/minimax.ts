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

export class TaskWeighting {
  /** Group DRO log-weights, or the softmax method's loss EMA; null before the first step. */
  private state: tf.Tensor1D | null = null;

  constructor(readonly k: number, readonly config: Weighting) {
    if (config.method === 'group-dro') this.state = tf.keep(tf.fill([k], -Math.log(k)) as tf.Tensor1D);
  }

  /** Call inside the gradient closure with the k task losses; update() afterwards commits the state. */
  objective(losses: tf.Tensor1D): WeightedObjective & { nextState: tf.Tensor1D | null } {
    const { method, eta, ema } = this.config;
    const l = stopGradient(losses) as tf.Tensor1D;
    if (method === 'average' || eta === 0 && method === 'softmax') {
      const weights = tf.fill([this.k], 1 / this.k) as tf.Tensor1D;
      return { total: tf.mean(losses) as tf.Scalar, weights, nextState: null };
    }
    let source = l;
    let nextState: tf.Tensor1D | null = null;
    if (method === 'softmax') {
      if (ema > 0) {
        source = this.state ? (tf.add(tf.mul(this.state, ema), tf.mul(l, 1 - ema)) as tf.Tensor1D) : l;
        nextState = source;
      }
      const weights = tf.softmax(tf.mul(source, eta)) as tf.Tensor1D;
      return { total: tf.sum(tf.mul(weights, losses)) as tf.Scalar, weights, nextState };
    }
    // group-dro: log q_{t+1} = log q_t + eta * l, normalised; this step uses q_{t+1}.
    const logits = tf.add(this.state!, tf.mul(l, eta)) as tf.Tensor1D;
    const weights = tf.softmax(logits) as tf.Tensor1D;
    nextState = tf.log(weights) as tf.Tensor1D;
    return { total: tf.sum(tf.mul(weights, losses)) as tf.Scalar, weights, nextState };
  }

  /** Commits the state computed by objective() (the tensor must have been tf.keep'd). */
  update(nextState: tf.Tensor1D | null): void {
    if (!nextState) return;
    this.state?.dispose();
    this.state = nextState;
  }

  async saveState(): Promise<number[] | null> {
    return this.state ? Array.from(await this.state.data()) : null;
  }

  loadState(values: readonly number[] | null): void {
    this.state?.dispose();
    this.state = values ? tf.keep(tf.tensor1d(Float32Array.from(values))) : null;
    if (!this.state && this.config.method === 'group-dro') this.state = tf.keep(tf.fill([this.k], -Math.log(this.k)) as tf.Tensor1D);
  }

  dispose(): void {
    this.state?.dispose();
    this.state = null;
  }
}
