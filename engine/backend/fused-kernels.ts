/**
 * robustlab's own fused CPU kernels (engine/backend/native/fused-kernels.cc), which scripts/setup-native.mjs
 * compiles into the tfjs-node binding, where they register themselves into TensorFlow: layer norm,
 * GELU, sparse softmax cross-entropy, multi-head self-attention, the token + position embedding, and the
 * image models' 3x3 convolution to one channel and nearest-neighbour upsampling,
 * each forward and backward in one kernel and one or two passes over memory, and one Adam step of every
 * parameter in one call. They are vectorised for the CPU they run on (AVX-512 or AVX2 clones); the pip
 * TensorFlow's own element-wise kernels are built for baseline x86-64 (SSE) and take one pass per op.
 * All but the embedding split their work over the intra-op threads, which stay alive between calls.
 *
 * Measured on the AVX-512 machine (2 cores, one call each): layer norm of [3072, 64] forward 0.10 ms against
 * 1.2 ms for the 9-kernel composition; cross-entropy of [480, 8000] forward 1.6 ms against 4.0 ms; GELU
 * of [3072, 256] 0.2 ms against 0.8 ms; attention of [96 x 32, 3 x 64] forward 1.4 ms against 2.9 ms.
 * The MLM step A/B against the compositions: 1.68-1.74x faster (bench/prototypes.ts --only=fused).
 * On the AVX2 machine (`node dist/bench/kernels.js`, results/bench/avx2/kernels-ab-2026-12-04.txt), the
 * worker pool, threaded GELU and layer norm, register-blocked attention products and FMA took attention
 * from 1.12 to 0.51 ms forward and 1.44 to 0.62 ms backward, GELU from 0.87 to 0.35 ms, cross-entropy
 * from 1.85 to 1.45 ms, and the MLM step from 0.94-0.95x PyTorch's time to 0.83-0.85x.
 *
 * `fusedKernelsAvailable()` probes once; the engine uses the tfjs compositions where the kernels are
 * absent (wasm, cpu, a stock tfjs-node), built from another version of their source (engine/backend/selection.ts
 * switches them off and says so) or switched off with `setFusedKernels(false)` (A/B and tests).
 */
import * as tf from '@tensorflow/tfjs';
import { attr, nativeBackend, onNativeBackend, type NativeAttr } from './native-ops.js';

let registered: boolean | null = null;
let enabled = true;

/** Whether the fused kernels run here: native backend, a binding built with them, not switched off. */
export function fusedKernelsAvailable(): boolean {
  if (!enabled || !onNativeBackend()) return false;
  if (registered === null) {
    const probe = tf.zeros([1]);
    try {
      nativeBackend().executeSingleOutput('RobustlabGelu', [], [probe]).dispose();
      registered = true;
    } catch {
      registered = false; // "Op type not registered": a binding built without them
    }
    probe.dispose();
  }
  return registered;
}

/** Switches the fused kernels off (false) or back on where registered (true); returns the previous setting. */
export function setFusedKernels(on: boolean): boolean {
  const previous = enabled;
  enabled = on;
  return previous;
}

const run = (op: string, inputs: tf.Tensor[], outputs: number, attrs: NativeAttr[] = []): tf.Tensor[] =>
  nativeBackend().executeMultipleOutputs(op, attrs, inputs, outputs);

/** Layer norm over the last axis: [y, mean [rows], rstd [rows]]. */
export function layerNormKernel(x: tf.Tensor, g: tf.Tensor, b: tf.Tensor, epsilon: number): [tf.Tensor, tf.Tensor1D, tf.Tensor1D] {
  return run('RobustlabLayerNorm', [x, g, b], 3, [attr.float('epsilon', epsilon)]) as [tf.Tensor, tf.Tensor1D, tf.Tensor1D];
}

/** Layer norm's gradients [dx, dg, db] from the forward's mean and rstd. */
export function layerNormGradKernel(dy: tf.Tensor, x: tf.Tensor, g: tf.Tensor, mean: tf.Tensor, rstd: tf.Tensor): [tf.Tensor, tf.Tensor1D, tf.Tensor1D] {
  return run('RobustlabLayerNormGrad', [dy, x, g, mean, rstd], 3) as [tf.Tensor, tf.Tensor1D, tf.Tensor1D];
}

/** x * sigmoid(1.702 x). */
export function geluKernel(x: tf.Tensor): tf.Tensor {
  return run('RobustlabGelu', [x], 1)[0]!;
}

/** GELU's input gradient. */
export function geluGradKernel(dy: tf.Tensor, x: tf.Tensor): tf.Tensor {
  return run('RobustlabGeluGrad', [dy, x], 1)[0]!;
}

/** Per-row loss and log-sum-exp of logits [n, c] plus bias [c] (added to each row) against int32 labels [n]. */
export function crossEntropyKernel(logits: tf.Tensor, labels: tf.Tensor, bias: tf.Tensor): [tf.Tensor1D, tf.Tensor1D] {
  return run('RobustlabSparseSoftmaxCrossEntropy', [logits, labels, bias], 2) as [tf.Tensor1D, tf.Tensor1D];
}

/** The gradients of logits and bias, (softmax - onehot) * dloss and its column sums, given the forward's log-sum-exp. */
export function crossEntropyGradKernel(logits: tf.Tensor, logsumexp: tf.Tensor, labels: tf.Tensor, dloss: tf.Tensor, bias: tf.Tensor): [tf.Tensor2D, tf.Tensor1D] {
  return run('RobustlabSparseSoftmaxCrossEntropyGrad', [logits, logsumexp, labels, dloss, bias], 2) as [tf.Tensor2D, tf.Tensor1D];
}

/** Self-attention of qkv [B * L, 3d] with an additive key mask [B, L]: [out [B * L, d], probs [B, heads, L, L]]. */
export function attentionKernel(qkv: tf.Tensor, keyMask: tf.Tensor, heads: number): [tf.Tensor2D, tf.Tensor4D] {
  return run('RobustlabAttention', [qkv, keyMask], 2, [attr.int('heads', heads)]) as [tf.Tensor2D, tf.Tensor4D];
}

/** Attention's qkv gradient [B * L, 3d] from the forward's probabilities. */
export function attentionGradKernel(dout: tf.Tensor, qkv: tf.Tensor, probs: tf.Tensor, heads: number): tf.Tensor2D {
  return run('RobustlabAttentionGrad', [dout, qkv, probs], 1, [attr.int('heads', heads)])[0] as tf.Tensor2D;
}

/** A 3x3 'same' convolution of x [B, H, W, C] to one channel: w [3, 3, C, 1], b [1]; y [B, H, W, 1]. */
export function convToOneKernel(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor): tf.Tensor4D {
  return run('RobustlabConvToOne', [x, w, b], 1)[0] as tf.Tensor4D;
}

/** Its gradients [dx, dw, db]. */
export function convToOneGradKernel(dy: tf.Tensor, x: tf.Tensor, w: tf.Tensor): [tf.Tensor4D, tf.Tensor4D, tf.Tensor1D] {
  return run('RobustlabConvToOneGrad', [dy, x, w], 3) as [tf.Tensor4D, tf.Tensor4D, tf.Tensor1D];
}

/** Nearest-neighbour resizing of images [B, h, w, C] to [B, H, W, C], as TensorFlow's ResizeNearestNeighbor. */
export function resizeNearestKernel(images: tf.Tensor, size: readonly [number, number]): tf.Tensor4D {
  return tf.tidy(() => run('RobustlabResizeNearest', [images, tf.tensor1d([...size], 'int32')], 1)[0] as tf.Tensor4D);
}

/** Its gradient: dy [B, H, W, C] back to the input size [h, w]. */
export function resizeNearestGradKernel(dy: tf.Tensor, size: readonly [number, number]): tf.Tensor4D {
  return tf.tidy(() => run('RobustlabResizeNearestGrad', [dy, tf.tensor1d([...size], 'int32')], 1)[0] as tf.Tensor4D);
}

/** One Adam step of every parameter in one call: new [p, m, v] of each, from hyper = [lr_t, beta1, beta2, epsilon]. */
export function adamKernel(p: tf.Tensor[], m: tf.Tensor[], v: tf.Tensor[], g: tf.Tensor[], hyper: tf.Tensor1D): { p: tf.Tensor[]; m: tf.Tensor[]; v: tf.Tensor[] } {
  const n = p.length;
  const out = run('RobustlabAdam', [...p, ...m, ...v, ...g, hyper], 3 * n, [attr.int('N', n)]);
  return { p: out.slice(0, n), m: out.slice(n, 2 * n), v: out.slice(2 * n) };
}

/** Token plus position embedding of ids [B, L]: [B * L, d]. */
export function embedKernel(ids: tf.Tensor, table: tf.Tensor, positions: tf.Tensor): tf.Tensor2D {
  return run('RobustlabEmbed', [ids, table, positions], 1)[0] as tf.Tensor2D;
}

/** The embedding's gradients [dtable [V, d], dpositions [P, d]] (table and positions give the shapes). */
export function embedGradKernel(dout: tf.Tensor, ids: tf.Tensor, table: tf.Tensor, positions: tf.Tensor): [tf.Tensor2D, tf.Tensor2D] {
  return run('RobustlabEmbedGrad', [dout, ids, table, positions], 2) as [tf.Tensor2D, tf.Tensor2D];
}
