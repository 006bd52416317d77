/**
 * The upstream objective split into k tasks: each step draws one minibatch per task, and the model's
 * per-task losses [k] go to the task weighting (average, minimax, Group DRO).
 */
import type * as tf from '@tensorflow/tfjs';
import type { SeededRandom } from '../random.js';

export interface UpstreamBatch {
  /** The k task losses [k] of this minibatch; call inside the gradient closure. */
  taskLosses(): tf.Tensor1D;
  dispose(): void;
}

export interface Upstream {
  readonly k: number;
  readonly taskNames: readonly string[];
  /** Examples of each task in the pre-training pool (for the plan's log). */
  readonly taskSizes: readonly number[];
  /**
   * Each task's reference loss, what 'excess' losses subtract: text, the entropy of the task's masked tokens'
   * unigram distribution; images, the loss of predicting the task's mean image. Computed from the training pool.
   */
  readonly references: readonly number[];
  /** Step `step`'s minibatch: indices from the host RNG, masks and noise from (seed, step) on the device. */
  draw(step: number, rng: SeededRandom): UpstreamBatch;
  dispose(): void;
}
