/**
 * GELU in its sigmoid approximation x * sigmoid(1.702 x) (Hendrycks & Gimpel 2016). On the native
 * backend one fused kernel forward and one backward (engine/backend/fused-kernels.ts), 4x faster on [3072, 256]
 * than the three-op composition and its autodiff; the composition elsewhere.
 */
import * as tf from '@tensorflow/tfjs';
import { customGradient } from './custom-gradient.js';
import { fusedKernelsAvailable, geluGradKernel, geluKernel } from '../backend/fused-kernels.js';

const geluFused = customGradient<[tf.Tensor]>((x, save) => {
  save([x]);
  return { value: geluKernel(x), gradFunc: (dy, [x]) => [geluGradKernel(dy, x!)] };
});

/** x * sigmoid(1.702 x), element-wise. */
export function gelu<T extends tf.Tensor>(x: T): T {
  return (fusedKernelsAvailable() ? geluFused(x) : tf.mul(x, tf.sigmoid(tf.mul(x, 1.702)))) as T;
}
