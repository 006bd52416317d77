/**
 * One convolution layer of the image models: relu(conv2d(x, w, stride, 'same') + b), NHWC.
 *
 * On the native backend, where the binding passes list attributes (see native-ops), the forward pass is
 * TensorFlow's one _FusedConv2D kernel, which adds the bias and applies ReLU while each output tile is
 * still in cache, instead of writing the convolution out and reading it twice more (Add, Relu); the
 * backward pass is ReluGrad, Conv2DBackpropInput, Conv2DBackpropFilter and BiasAddGrad. Elsewhere it is
 * the tfjs composition, differentiated by tfjs.
 */
import * as tf from '@tensorflow/tfjs';
import { customGradient } from './custom-gradient.js';
import { convBiasReluGrads, fusedConv2dBiasRelu, fusedConvSupported } from '../backend/native-ops.js';

type Layer = (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => tf.Tensor;

const fused = new Map<string, Layer>();

/**
 * The fused layer for one stride, and whether x is the network's input (then no gradient is computed
 * for it: 2.4 ms of a 64-image step for the first layer). customGrad functions take tensors only, so one
 * function per combination.
 */
function fusedLayer(stride: number, input: boolean): Layer {
  const key = `${stride}:${input}`;
  let layer = fused.get(key);
  if (!layer) {
    layer = customGradient<[tf.Tensor, tf.Tensor, tf.Tensor]>((x, w, b, save) => {
      const y = fusedConv2dBiasRelu(x as tf.Tensor4D, w as tf.Tensor4D, b as tf.Tensor1D, stride);
      save([x, w, y]);
      return { value: y, gradFunc: (dy, [x, w, y]) => convBiasReluGrads(dy as tf.Tensor4D, y as tf.Tensor4D, x as tf.Tensor4D, w as tf.Tensor4D, stride, !input) };
    });
    fused.set(key, layer);
  }
  return layer;
}

/**
 * relu(conv2d(x, w, stride, 'same') + b) for x [B, H, W, Cin], w [3, 3, Cin, Cout], b [Cout]. `input`:
 * x is data (the images), so its gradient is not needed; tfjs's own autodiff skips it by itself.
 */
export function convBiasRelu(x: tf.Tensor4D, w: tf.Tensor, b: tf.Tensor, stride: number, input = false): tf.Tensor4D {
  if (fusedConvSupported()) return fusedLayer(stride, input)(x, w, b) as tf.Tensor4D;
  return tf.relu(tf.add(tf.conv2d(x, w as tf.Tensor4D, stride, 'same'), b)) as tf.Tensor4D;
}
