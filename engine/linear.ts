/**
 * The affine map x w + b of a batch of row vectors, with its gradient written by hand:
 * dx = dy w^T, dw = x^T dy, db = sum_rows dy. Three kernels backward and two forward, where tfjs's
 * autodiff of matMul + add runs each product through 3-D reshapes and the bias gradient through a
 * reshape + sum (about 15 kernels per layer on the native backend).
 */
import * as tf from '@tensorflow/tfjs';
import { matMul2d } from './native-ops.js';

type Forward = (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => { value: tf.Tensor; gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor[] };

type Affine = (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => tf.Tensor;
const customGrad = tf.customGrad as unknown as (f: Forward) => Affine;
const as2d = (t: tf.Tensor | undefined): tf.Tensor2D => t as tf.Tensor2D;

/** x w + b with w [in, out]. */
const affine = customGrad((x, w, b, save) => {
  save([x, w]);
  return {
    value: tf.add(matMul2d(as2d(x), as2d(w)), b),
    gradFunc: (dy, [x, w]) => [matMul2d(as2d(dy), as2d(w), false, true), matMul2d(as2d(x), as2d(dy), true, false), tf.sum(dy, 0)],
  };
});

/** x w^T + b with w stored [out, in] (a tied embedding used as the output layer). */
const affineTransposed = customGrad((x, w, b, save) => {
  save([x, w]);
  return {
    value: tf.add(matMul2d(as2d(x), as2d(w), false, true), b),
    gradFunc: (dy, [x, w]) => [matMul2d(as2d(dy), as2d(w)), matMul2d(as2d(dy), as2d(x), true, false), tf.sum(dy, 0)],
  };
});

/** x [n, in] times w [in, out] (or w [out, in] transposed, with `transposeW`) plus b [out]. */
export function linear(x: tf.Tensor2D, w: tf.Tensor, b: tf.Tensor, transposeW = false): tf.Tensor2D {
  return (transposeW ? affineTransposed : affine)(x, w, b) as tf.Tensor2D;
}
