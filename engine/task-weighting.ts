/**
 * How the k upstream task losses become one training objective, on the device:
 * - average: the mean of the task losses (minimax with eta = 0);
 * - softmax (task-robust, Wang et al.): p = softmax(eta * l) with p held constant in the gradient,
 *   so the update is sum_i p_i grad l_i = grad F_eta, F_eta = (1/eta) log sum_i exp(eta l_i);
 *   optionally l is an exponential moving average of the minibatch losses (less noisy weights);
 * - group-dro (Sagawa et al. 2020): q <- q * exp(eta * l), normalised, a stateful exponentiated-gradient
 *   ascent on the simplex.
 * The float64 host versions of the same formulas are in softmax-weights.ts (used by theory/ and tests).
 */
import * as tf from '@tensorflow/tfjs';
import { customGradient } from './custom-gradient.js';

export type WeightingMethod = 'average' | 'softmax' | 'group-dro';

export interface WeightingConfig {
  readonly method: WeightingMethod;
  readonly eta: number;
  /** EMA coefficient of the losses for the softmax method; 0 = off. */
  readonly ema: number;
}

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

  constructor(readonly k: number, readonly config: WeightingConfig) {
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
