/**
 * TensorFlow ops that tfjs does not expose, run directly on the native backend through tfjs-node's
 * eager op binding. Each has a plain tfjs equivalent used on wasm and cpu, so models are written once.
 *
 * Measured A/B on 2 cores: ReluGrad makes the masked-image step 1.19-1.29x and the classifier step
 * 1.26-1.83x faster (tfjs-node otherwise runs ReLU's gradient as IsNan + Greater + 2 Fill + 2 Select + Mul);
 * ResourceApplyAdam makes the MLM step 1.10-1.22x and the classifier step 1.13x faster, bit-identical
 * (bench/prototypes.ts); the fused convolution's numbers are below.
 */
import * as tf from '@tensorflow/tfjs';

interface NativeBinding {
  TF_ATTR_BOOL: number;
  TF_ATTR_FLOAT: number;
  TF_ATTR_INT: number;
  TF_ATTR_STRING: number;
  TF_ATTR_SHAPE: number;
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

/** Attributes of the other kinds the engine passes (lists need the binding change in setup-native). */
export const attr = {
  bool: (name: string, value: boolean): NativeAttr => ({ name, type: nativeBackend().binding.TF_ATTR_BOOL, value }),
  int: (name: string, value: number | number[]): NativeAttr => ({ name, type: nativeBackend().binding.TF_ATTR_INT, value }),
  float: (name: string, value: number): NativeAttr => ({ name, type: nativeBackend().binding.TF_ATTR_FLOAT, value }),
  str: (name: string, value: string | string[]): NativeAttr => ({ name, type: nativeBackend().binding.TF_ATTR_STRING, value }),
  shape: (name: string, value: readonly number[]): NativeAttr => ({ name, type: nativeBackend().binding.TF_ATTR_SHAPE, value: [...value] }),
};

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

/**
 * A TensorFlow resource variable (VarHandleOp), created anonymous so that TensorFlow frees it when
 * its handle is disposed. Used where one fused native kernel updates state in place (Adam).
 */
export class NativeVariable {
  /** The resource handle (tfjs sees a string tensor). */
  readonly handle: tf.Tensor;

  constructor(readonly shape: readonly number[], init?: tf.Tensor) {
    this.handle = nativeBackend().executeSingleOutput('VarHandleOp', [
      attr.str('container', ''),
      // TensorFlow's ResourceHandle::ANONYMOUS_NAME: a variable no other handle can name.
      attr.str('shared_name', 'cd2c89b7-88b7-44c8-ad83-06c2a9158347'),
      typeAttr('dtype', 'float32'),
      attr.shape('shape', shape),
    ], []);
    this.write(init ?? tf.zeros([...shape]), init === undefined);
  }

  /** Sets the value (TensorFlow shares the buffer; a later in-place update copies it first). */
  write(value: tf.Tensor, disposeValue = false): void {
    nativeBackend().executeMultipleOutputs('AssignVariableOp', [typeAttr('dtype', 'float32')], [this.handle, value], 0);
    if (disposeValue) value.dispose();
  }

  /** The current value as a new tensor (the caller owns it). */
  read(): tf.Tensor {
    return nativeBackend().executeSingleOutput('ReadVariableOp', [typeAttr('dtype', 'float32')], [this.handle]);
  }

  dispose(): void {
    this.handle.dispose();
  }
}

/** The scalar inputs of ResourceApplyAdam. */
export interface AdamScalars {
  readonly beta1Power: tf.Scalar;
  readonly beta2Power: tf.Scalar;
  readonly lr: tf.Scalar;
  readonly beta1: tf.Scalar;
  readonly beta2: tf.Scalar;
  readonly epsilon: tf.Scalar;
}

/**
 * TensorFlow's ResourceApplyAdam: m, v and the parameter updated in place by one kernel, in one pass over
 * memory (the tfjs formulation takes 12 kernels and 12 passes per parameter).
 */
export function resourceApplyAdam(param: NativeVariable, m: NativeVariable, v: NativeVariable, scalars: AdamScalars, grad: tf.Tensor): void {
  const s = scalars;
  nativeBackend().executeMultipleOutputs('ResourceApplyAdam', [typeAttr('T', 'float32')], [param.handle, m.handle, v.handle, s.beta1Power, s.beta2Power, s.lr, s.beta1, s.beta2, s.epsilon, grad], 0);
}

/**
 * Product of two matrices [m, k] x [k, n] (either transposed): TensorFlow's 2-D MatMul kernel on the
 * native backend (tfjs's matMul reshapes both operands to 3-D and back, three extra kernels per call),
 * tf.matMul elsewhere. Not recorded for autodiff: callers give it a gradient (engine/ops/linear.ts).
 */
export function matMul2d(a: tf.Tensor2D, b: tf.Tensor2D, transposeA = false, transposeB = false): tf.Tensor2D {
  if (!onNativeBackend()) return tf.matMul(a, b, transposeA, transposeB);
  return nativeBackend().executeSingleOutput('MatMul', [typeAttr('T', 'float32'), attr.bool('transpose_a', transposeA), attr.bool('transpose_b', transposeB)], [a, b]) as tf.Tensor2D;
}

/**
 * a b + bias (a row vector added to every row) with the add in oneDNN's product epilogue
 * (_MklNativeFusedMatMul), where TensorFlow runs with oneDNN; elsewhere the product, then tf.add. Measured
 * A/B on the AVX2 machine, steps interleaved in one process: the MLM step 1.045-1.053x faster, the classifier
 * step 1.00-1.02x; TensorFlow's Eigen _FusedMatMul gave 1.00x, so it is not used.
 */
export function matMulBias(a: tf.Tensor2D, b: tf.Tensor2D, bias: tf.Tensor, transposeA = false, transposeB = false): tf.Tensor2D {
  if (fusedMatMulSupported()) return runFusedMatMul(a, b, bias, transposeA, transposeB);
  return tf.add(matMul2d(a, b, transposeA, transposeB), bias);
}

/** Whether oneDNN's fused product runs here: null before the probe. */
let fusedMatMul: boolean | null = null;

function runFusedMatMul(a: tf.Tensor2D, b: tf.Tensor2D, bias: tf.Tensor, transposeA: boolean, transposeB: boolean): tf.Tensor2D {
  const attrs = [typeAttr('T', 'float32'), attr.bool('transpose_a', transposeA), attr.bool('transpose_b', transposeB), attr.int('num_args', 1), attr.str('fused_ops', ['BiasAdd']), attr.str('_kernel', 'MklNameChangeOp')];
  return nativeBackend().executeSingleOutput('_MklNativeFusedMatMul', attrs, [a, b, bias]) as tf.Tensor2D;
}

/** Whether matMulBias runs oneDNN's fused product here (probed once). */
export function fusedMatMulSupported(): boolean {
  if (!onNativeBackend()) return false;
  if (fusedMatMul === null) {
    const probe = [tf.ones([2, 3]), tf.ones([3, 2]), tf.tensor1d([1, 2])] as const;
    try {
      const y = runFusedMatMul(probe[0] as tf.Tensor2D, probe[1] as tf.Tensor2D, probe[2], false, false);
      fusedMatMul = Array.from(y.dataSync()).join() === '4,5,4,5';
      y.dispose();
    } catch {
      fusedMatMul = false; // oneDNN off (TF_ENABLE_ONEDNN_OPTS=0), or a binding that cannot pass list attributes
    }
    tf.dispose([...probe]);
  }
  return fusedMatMul;
}

/**
 * Gradient of a bias added to every row of dy [..., n]: the sum over all axes but the last. TensorFlow's
 * BiasAddGrad on the native backend (0.07 ms on [3072, 64], against 0.19 ms for its Sum), tf.sum elsewhere.
 */
export function biasGrad(dy: tf.Tensor): tf.Tensor1D {
  if (!onNativeBackend()) return tf.sum(dy, dy.shape.slice(0, -1).map((_, i) => i)) as tf.Tensor1D;
  return nativeBackend().executeSingleOutput('BiasAddGrad', [typeAttr('T', 'float32')], [dy]) as tf.Tensor1D;
}

function convAttrs(stride: number): NativeAttr[] {
  return [typeAttr('T', 'float32'), attr.int('strides', [1, stride, stride, 1]), attr.str('padding', 'SAME')];
}

/**
 * TensorFlow's fused convolution kernels for relu(conv2d(x, w, stride, 'same') + b), best first:
 * oneDNN's (registered under the label MklNameChangeOp where TensorFlow runs with oneDNN, as on x86),
 * then TensorFlow's own Eigen one. Measured here (B = 64 / 1000, the three encoder layers): oneDNN
 * 2.4 / 32.8 ms, Eigen 3.7 / 43.1 ms, Conv2D + Add + Relu 4.7 / 45.9 ms; oneDNN's first layer (one
 * input channel) alone is 3-4x faster than either.
 */
const FUSED_CONV_KERNELS: readonly { readonly op: string; readonly label?: string }[] = [
  { op: '_MklNativeFusedConv2D', label: 'MklNameChangeOp' },
  { op: '_FusedConv2D' },
];

/** The kernel fusedConv2dBiasRelu uses: null before the probe, false where none runs. */
let fusedConv: (typeof FUSED_CONV_KERNELS)[number] | false | null = null;

function runFusedConv(kernel: (typeof FUSED_CONV_KERNELS)[number], x: tf.Tensor4D, w: tf.Tensor4D, b: tf.Tensor1D, stride: number): tf.Tensor4D {
  const { binding } = nativeBackend();
  const attrs = [...convAttrs(stride), attr.int('num_args', 1), { name: 'TArgs', type: binding.TF_ATTR_TYPE, value: [binding.TF_FLOAT] }, attr.str('fused_ops', ['BiasAdd', 'Relu'])];
  if (kernel.label) attrs.push(attr.str('_kernel', kernel.label));
  return nativeBackend().executeSingleOutput(kernel.op, attrs, [x, w, b]) as tf.Tensor4D;
}

/**
 * relu(conv2d(x, w, stride, 'same') + b) in one fused kernel. Its attributes include lists of strings
 * and of types, which the stock tfjs-node binding cannot pass; scripts/setup-native.mjs adds that to the
 * binding it builds. Call only where `fusedConvSupported()`.
 */
export function fusedConv2dBiasRelu(x: tf.Tensor4D, w: tf.Tensor4D, b: tf.Tensor1D, stride: number): tf.Tensor4D {
  if (!fusedConv) throw new Error('fusedConv2dBiasRelu: call only where fusedConvSupported()');
  return runFusedConv(fusedConv, x, w, b, stride);
}

/** The fused convolution kernel in use ('_MklNativeFusedConv2D': oneDNN, '_FusedConv2D': Eigen), or null. */
export function fusedConvKernel(): string | null {
  return fusedConvSupported() && fusedConv ? fusedConv.op : null;
}

/** Whether a fused convolution kernel runs here (native backend, a binding that passes list attributes). Probed once. */
export function fusedConvSupported(): boolean {
  if (!onNativeBackend()) return false;
  if (fusedConv === null) {
    fusedConv = false;
    const probe = [tf.ones([1, 3, 3, 1]), tf.ones([3, 3, 1, 1]), tf.zeros([1])] as const;
    for (const kernel of FUSED_CONV_KERNELS) {
      try {
        runFusedConv(kernel, probe[0] as tf.Tensor4D, probe[1] as tf.Tensor4D, probe[2] as tf.Tensor1D, 1).dispose();
        fusedConv = kernel;
        break;
      } catch {
        // not registered in this TensorFlow, or the binding cannot pass the attributes: try the next
      }
    }
    tf.dispose([...probe]);
  }
  return fusedConv !== false;
}

/**
 * The three gradients of relu(conv2d(x, w) + b) given dy and the layer's output y (native kernels);
 * with `inputGradient` false, zeros stand for x's (x is data).
 */
export function convBiasReluGrads(dy: tf.Tensor4D, y: tf.Tensor4D, x: tf.Tensor4D, w: tf.Tensor4D, stride: number, inputGradient: boolean): [tf.Tensor4D, tf.Tensor4D, tf.Tensor1D] {
  const nb = nativeBackend();
  const dz = nb.executeSingleOutput('ReluGrad', [typeAttr('T', 'float32')], [dy, y]);
  const dx = inputGradient ? tf.tidy(() => nb.executeSingleOutput('Conv2DBackpropInput', convAttrs(stride), [tf.tensor1d(x.shape, 'int32'), w, dz])) : tf.zerosLike(x);
  const dw = tf.tidy(() => nb.executeSingleOutput('Conv2DBackpropFilter', convAttrs(stride), [x, tf.tensor1d(w.shape, 'int32'), dz]));
  const db = biasGrad(dz);
  dz.dispose();
  return [dx as tf.Tensor4D, dw as tf.Tensor4D, db as tf.Tensor1D];
}
