/**
 * A downstream classifier: the pre-trained encoder (frozen for a linear probe, a fine-tuned copy
 * otherwise) followed by a linear head on standardised features.
 */
import * as tf from '@tensorflow/tfjs';
import { addParam, glorot, param, type Parameters } from '../models/parameters.js';
import { features, type PretrainedModel } from '../models/pretrained-model.js';
import { linear } from '../ops/linear.js';
import type { SeededRandom } from '../random.js';

export interface Classifier {
  readonly task: string;
  readonly numClasses: number;
  readonly model: PretrainedModel;
  /** Encoder parameters used (the pre-trained ones for a probe, a copy for full fine-tuning). */
  readonly encoder: Parameters;
  /** Head parameters: 'head.w' [F, C], 'head.b' [C], 'head.mean' [F], 'head.std' [F]. */
  readonly head: Parameters;
}

export function createHead(numClasses: number, dim: number, rng: SeededRandom): Parameters {
  const head: Parameters = new Map();
  addParam(head, 'head.w', glorot(rng, [dim, numClasses], dim, numClasses));
  addParam(head, 'head.b', tf.zeros([numClasses]));
  addParam(head, 'head.mean', tf.zeros([dim]), false);
  addParam(head, 'head.std', tf.ones([dim]), false);
  return head;
}

export function headLogits(head: Parameters, feats: tf.Tensor2D): tf.Tensor2D {
  const z = tf.div(tf.sub(feats, param(head, 'head.mean')), param(head, 'head.std'));
  return linear(z as tf.Tensor2D, param(head, 'head.w'), param(head, 'head.b'));
}

/** Logits [B, C] of a batch: the base classifier f that randomized smoothing wraps. `positions`: token-level tasks. */
export function classifierLogits(c: Classifier, x: tf.Tensor, positions?: tf.Tensor1D): tf.Tensor2D {
  return headLogits(c.head, features(c.model, x, c.encoder, positions));
}

/** Predicted classes of `x` in batches, as host integers. */
export async function predictClasses(c: Classifier, x: tf.Tensor, batchSize: number, positions?: Int32Array): Promise<Int32Array> {
  const n = x.shape[0]!;
  const out = new Int32Array(n);
  for (let s = 0; s < n; s += batchSize) {
    const size = Math.min(batchSize, n - s);
    const pred = tf.tidy(() => tf.argMax(classifierLogits(c, tf.slice(x, s, size), positions ? tf.tensor1d(positions.subarray(s, s + size), 'int32') : undefined), 1));
    out.set((await pred.data()) as Int32Array, s);
    pred.dispose();
  }
  return out;
}
