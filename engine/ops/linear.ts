/**
 * The affine map x w + b of a batch of row vectors, with its gradient written by hand:
 * dx = dy w^T, dw = x^T dy, db = sum_rows dy (BiasAddGrad on the native backend). Three kernels
 * backward and two forward, where tfjs's autodiff of matMul + add runs each product through 3-D
 * reshapes and the bias gradient through a reshape + sum (about 15 kernels per layer on the native
 * backend). The bias is added in oneDNN's product epilogue where TensorFlow runs with oneDNN (matMulBias:
 * the MLM step 1.05x faster on the AVX2 machine; an earlier A/B on another machine found 1.02x).
 */
import * as tf from '@tensorflow/tfjs';
import { customGradient } from './custom-gradient.js';
import { biasGrad, matMul2d, matMulBias } from '../backend/native-ops.js';

const as2d = (t: tf.Tensor | undefined): tf.Tensor2D => t as tf.Tensor2D;

/** dx = dy w^T and dw = x^T dy (w stored [in, out], or [out, in] with `transposeW`). */
function productGrads(dy: tf.Tensor, x: tf.Tensor | undefined, w: tf.Tensor | undefined, transposeW: boolean): [tf.Tensor, tf.Tensor] {
  return [
    matMul2d(as2d(dy), as2d(w), false, !transposeW),
    transposeW ? matMul2d(as2d(dy), as2d(x), true, false) : matMul2d(as2d(x), as2d(dy), true, false),
  ];
}

/** x w + b, with w stored [in, out], or [out, in] and used transposed (a tied embedding as output layer). */
function affine(transposeW: boolean): (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => tf.Tensor {
  return customGradient<[tf.Tensor, tf.Tensor, tf.Tensor]>((x, w, b, save) => {
    save([x, w]);
    return {
      value: matMulBias(as2d(x), as2d(w), b, false, transposeW),
      gradFunc: (dy, [x, w]) => [...productGrads(dy, x, w, transposeW), biasGrad(dy)],
    };
  });
}

/** x w alone: a layer whose bias is added elsewhere (the MLM output layer's, inside the cross-entropy). */
function product(transposeW: boolean): (x: tf.Tensor, w: tf.Tensor) => tf.Tensor {
  return customGradient<[tf.Tensor, tf.Tensor]>((x, w, save) => {
    save([x, w]);
    return { value: matMul2d(as2d(x), as2d(w), false, transposeW), gradFunc: (dy, [x, w]) => productGrads(dy, x, w, transposeW) };
  });
}

const plain = affine(false);
const transposed = affine(true);
const plainProduct = product(false);
const transposedProduct = product(true);

/** x [n, in] times w [in, out] (or w [out, in] transposed, with `transposeW`) plus b [out], or no bias with b null. */
export function linear(x: tf.Tensor2D, w: tf.Tensor, b: tf.Tensor | null, transposeW = false): tf.Tensor2D {
  if (b === null) return (transposeW ? transposedProduct : plainProduct)(x, w) as tf.Tensor2D;
  return (transposeW ? transposed : plain)(x, w, b) as tf.Tensor2D;
}
