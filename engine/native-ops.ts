/**
 * TensorFlow ops that tfjs does not expose, run directly on the native backend through tfjs-node's
 * eager op binding. Each has a plain tfjs equivalent used on wasm and cpu, so models are written once.
 *
 * Measured with bench/prototypes.ts (A/B, 2 cores): the fused sparse cross-entropy makes the MLM training
 * step 1.35-1.74x faster; ReluGrad makes the masked-image step 1.19-1.29x and the classifier step
 * 1.26-1.83x faster (tfjs-node otherwise runs ReLU's gradient as IsNan + Greater + 2 Fill + 2 Select + Mul).
 */
import * as tf from '@tensorflow/tfjs';

interface NativeBinding {
  TF_ATTR_TYPE: number;
  TF_FLOAT: number;
  TF_INT32: number;
}

export interface NativeAttr {
  readonly name: string;
  readonly type: number;
  readonly value: unknown;
}

interface NativeBackend {
  binding: NativeBinding;
  executeSingleOutput(name: string, attrs: NativeAttr[], inputs: tf.TensorInfo[]): tf.Tensor;
  executeMultipleOutputs(name: string, attrs: NativeAttr[], inputs: tf.TensorInfo[], outputs: number): tf.Tensor[];
}

export function onNativeBackend(): boolean {
  return tf.getBackend() === 'tensorflow';
}

/** The tfjs-node backend (call only when onNativeBackend()). */
export function nativeBackend(): NativeBackend {
  return tf.backend() as unknown as NativeBackend;
}

/** A dtype attribute, e.g. typeAttr('T', 'float32'). */
export function typeAttr(name: string, dtype: 'float32' | 'int32'): NativeAttr {
  const { binding } = nativeBackend();
  return { name, type: binding.TF_ATTR_TYPE, value: dtype === 'float32' ? binding.TF_FLOAT : binding.TF_INT32 };
}

type CustomGradient = (f: (logits: tf.Tensor, targets: tf.Tensor, save: tf.GradSaveFunc) => { value: tf.Tensor; gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor[] }) => (logits: tf.Tensor, targets: tf.Tensor) => tf.Tensor;

/** TensorFlow's SparseSoftmaxCrossEntropyWithLogits: loss and its gradient from one kernel, no one-hot. */
const nativeSparseCrossEntropy = (tf.customGrad as unknown as CustomGradient)((logits, targets, save) => {
  const [loss, backprop] = nativeBackend().executeMultipleOutputs('SparseSoftmaxCrossEntropyWithLogits', [typeAttr('T', 'float32'), typeAttr('Tlabels', 'int32')], [logits, targets], 2);
  save([backprop!]);
  return { value: loss!, gradFunc: (dy, [bp]) => [tf.mul(tf.expandDims(dy, -1), bp!), tf.zerosLike(targets)] };
});

/** Per-row cross-entropy [M] of logits [M, V] against int32 class ids [M]. */
export function sparseSoftmaxCrossEntropy(logits: tf.Tensor2D, targets: tf.Tensor1D): tf.Tensor1D {
  if (onNativeBackend()) return nativeSparseCrossEntropy(logits, targets) as tf.Tensor1D;
  return tf.neg(tf.sum(tf.mul(tf.logSoftmax(logits), tf.oneHot(targets, logits.shape[1])), -1)) as tf.Tensor1D;
}

let reluGradRegistered = false;

/**
 * Makes ReLU's gradient TensorFlow's single ReluGrad kernel whenever the native backend is active (the
 * registration is global, so on other backends it defers to tfjs's own gradient).
 */
export function registerNativeGradients(): void {
  if (reluGradRegistered) return;
  const original = tf.getGradient('Relu');
  if (!original) return;
  tf.registerGradient({
    kernelName: 'Relu',
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) =>
      onNativeBackend()
        ? { x: () => nativeBackend().executeSingleOutput('ReluGrad', [typeAttr('T', 'float32')], [dy as tf.Tensor, saved[0]!]) }
        : original.gradFunc(dy, saved, attrs),
  });
  reluGradRegistered = true;
}
