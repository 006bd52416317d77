/**
 * tf.customGrad with the types our hand-written gradients need. tfjs types customGrad for one fixed
 * signature, so each user would otherwise cast it; here it is cast once, for any number of tensor inputs.
 * `f` gets the inputs and a `save` for tensors the gradient needs (kept alive by the tape: the gradient
 * must use only those, dy, and plain values such as shapes, because the inputs themselves may have been
 * disposed by the time backward runs), and returns the value and the gradient of each input.
 */
import * as tf from '@tensorflow/tfjs';

export interface WithGradient {
  readonly value: tf.Tensor;
  readonly gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor | tf.Tensor[];
}

type Inputs = tf.Tensor[];

export function customGradient<A extends Inputs>(f: (...args: [...A, tf.GradSaveFunc]) => WithGradient): (...inputs: A) => tf.Tensor {
  return tf.customGrad(f as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (...inputs: A) => tf.Tensor;
}
