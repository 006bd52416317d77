/**
 * Multi-head self-attention softmax(q k^T / sqrt(hd) + mask) v from the fused q|k|v projection
 * [B * L, 3d] (row b * L + t; columns q | k | v, head h at columns h * hd of each), returning the heads
 * merged back to [B * L, d]. On the native backend one fused kernel forward and one backward
 * (engine/backend/fused-kernels.ts): no split, no transposes to [B, heads, L, hd] and back, softmax and both
 * products in one pass per (sequence, head). Elsewhere the tfjs composition.
 */
import * as tf from '@tensorflow/tfjs';
import { customGradient } from './custom-gradient.js';
import { attentionGradKernel, attentionKernel, fusedKernelsAvailable } from '../backend/fused-kernels.js';

function composed(qkv: tf.Tensor2D, keyMask: tf.Tensor2D, heads: number): tf.Tensor2D {
  const [B, L] = keyMask.shape;
  const d = qkv.shape[1] / 3;
  const hd = d / heads;
  const toHeads = (t: tf.Tensor): tf.Tensor4D => tf.transpose(tf.reshape(t, [B, L, heads, hd]), [0, 2, 1, 3]);
  const [q, k, v] = tf.split(qkv, 3, -1).map(toHeads) as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D];
  const scores = tf.add(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(hd)), tf.reshape(keyMask, [B, 1, 1, L]));
  return tf.reshape(tf.transpose(tf.matMul(tf.softmax(scores), v), [0, 2, 1, 3]), [B * L, d]) as tf.Tensor2D;
}

const fusedByHeads = new Map<number, (qkv: tf.Tensor, keyMask: tf.Tensor) => tf.Tensor>();

function fused(heads: number): (qkv: tf.Tensor, keyMask: tf.Tensor) => tf.Tensor {
  let f = fusedByHeads.get(heads);
  if (!f) {
    f = customGradient<[tf.Tensor, tf.Tensor]>((qkv, keyMask, save) => {
      const [out, probs] = attentionKernel(qkv, keyMask, heads);
      save([qkv, probs]);
      const maskShape = keyMask.shape;
      // The mask is data: its gradient is zero.
      return { value: out, gradFunc: (dy, [qkv, probs]) => [attentionGradKernel(dy, qkv!, probs!, heads), tf.zeros(maskShape)] };
    });
    fusedByHeads.set(heads, f);
  }
  return f;
}

/** Attention of qkv [B * L, 3d] with an additive key mask [B, L] (0, or -1e9 on padding) over `heads` heads: [B * L, d]. */
export function selfAttention(qkv: tf.Tensor2D, keyMask: tf.Tensor2D, heads: number): tf.Tensor2D {
  return (fusedKernelsAvailable() ? fused(heads)(qkv, keyMask) : composed(qkv, keyMask, heads)) as tf.Tensor2D;
}
