/**
 * Input embedding of a transformer: token embedding plus learned position embedding, as rows
 * [B * L, d] (row b * L + t) of token ids [B, L]. On the native backend one fused kernel forward and one
 * backward (engine/backend/fused-kernels.ts): the gradient is written straight into dense [V, d] and [P, d]
 * gradients, where the composition takes a gather, a broadcast add, a segment sum, a sum and a pad.
 */
import * as tf from '@tensorflow/tfjs';
import { customGradient } from './custom-gradient.js';
import { embedGradKernel, embedKernel, fusedKernelsAvailable } from '../backend/fused-kernels.js';

const embedFused = customGradient<[tf.Tensor, tf.Tensor, tf.Tensor]>((ids, table, positions, save) => {
  // A copy of the ids, which the caller may dispose before backward runs.
  save([tf.clone(ids), table, positions]);
  const idShape = ids.shape;
  return {
    value: embedKernel(ids, table, positions),
    gradFunc: (dy, [ids, table, positions]) => [tf.zeros(idShape, 'int32'), ...embedGradKernel(dy, ids!, table!, positions!)],
  };
});

/** Rows [B * L, d] of token ids [B, L] (int32): table[id] + positions[t], for tables [V, d] and [P >= L, d]. */
export function embedTokens(ids: tf.Tensor2D, table: tf.Tensor2D, positions: tf.Tensor2D): tf.Tensor2D {
  const [B, L] = ids.shape;
  const d = table.shape[1];
  if (fusedKernelsAvailable()) return embedFused(ids, table, positions) as tf.Tensor2D;
  return tf.reshape(tf.add(tf.gather(table, ids), tf.slice(positions, [0, 0], [L, d])), [B * L, d]);
}
