/**
 * The image models' reconstruction layer before its sigmoid: conv2d(x, w, 1, 'same') + b from C channels
 * to one, NHWC. oneDNN runs this shape (one output channel) far below its usual rate. On the native
 * backend one fused kernel each way (engine/backend/fused-kernels.ts); elsewhere the tfjs composition.
 * Measured on the AVX2 machine, 96 images of 28 x 28 x 32: forward 1.71 ms against Conv2D's 2.56 ms,
 * gradients 2.44 ms against 3.57 ms (Conv2DBackpropFilter + Conv2DBackpropInput); the masked-image step
 * 88.4 -> 82.6 ms, medians of 4 alternating runs (results/bench/avx2/conv-to-one-ab-2026-12-04.txt).
 */
import * as tf from '@tensorflow/tfjs';
import { customGradient } from './custom-gradient.js';
import { convToOneGradKernel, convToOneKernel, fusedKernelsAvailable } from '../backend/fused-kernels.js';

const fused = customGradient<[tf.Tensor, tf.Tensor, tf.Tensor]>((x, w, b, save) => {
  save([x, w]);
  return { value: convToOneKernel(x, w, b), gradFunc: (dy, [x, w]) => convToOneGradKernel(dy, x!, w!) };
});

/** conv2d(x, w, 1, 'same') + b for x [B, H, W, C], w [3, 3, C, 1], b [1]: [B, H, W, 1]. */
export function convToOne(x: tf.Tensor4D, w: tf.Tensor, b: tf.Tensor): tf.Tensor4D {
  if (fusedKernelsAvailable()) return fused(x, w, b) as tf.Tensor4D;
  return tf.add(tf.conv2d(x, w as tf.Tensor4D, 1, 'same'), b) as tf.Tensor4D;
}
