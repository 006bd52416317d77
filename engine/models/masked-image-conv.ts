/**
 * Masked-image model for 28x28 grey images: a conv encoder to a feature vector and a decoder that
 * reconstructs the clean image (MAE-style pre-training with patch masking, and denoising when the
 * input carries Gaussian noise). The encoder alone is what downstream classifiers reuse.
 *
 * encoder: conv3x3(1->w) relu, then `depth` blocks conv3x3 stride 2 (channels w*2^(i-1)) relu,
 *          flatten, dense -> featureDim, relu
 * decoder: dense -> the last feature map, then per block nearest-neighbour upsampling + conv3x3 relu,
 *          conv3x3 -> 1 channel, sigmoid (pixels live in [0, 1])
 */
import * as tf from '@tensorflow/tfjs';
import { convBiasRelu } from '../ops/conv-relu.js';
import { convToOne } from '../ops/conv-to-one.js';
import { linear } from '../ops/linear.js';
import { resizeNearest } from '../ops/resize-nearest.js';
import { addParam, glorot, param, type Parameters } from './parameters.js';
import type { SeededRandom } from '../random.js';

export interface MaskedImageConfig {
  readonly height: number;
  readonly width: number;
  /** Channels of the first conv layer. */
  readonly channels: number;
  /** Stride-2 conv blocks (each halves the spatial size). */
  readonly depth: number;
  readonly featureDim: number;
  /** Side of the square patches that masking removes. */
  readonly patch: number;
}

export interface MaskedImageModel {
  readonly kind: 'masked-image-conv';
  readonly config: MaskedImageConfig;
  readonly params: Parameters;
  /** Names of the parameters that belong to the encoder (what fine-tuning reuses). */
  readonly encoderNames: readonly string[];
}

/** The encoder of a plan's pre-training stage on 28x28 images: `width` channels, `depth` stride-2 blocks, 4x4 patches. */
export function imageModelConfig(pre: { readonly width: number; readonly depth: number }): MaskedImageConfig {
  return { height: 28, width: 28, channels: pre.width, depth: pre.depth, featureDim: 4 * pre.width, patch: 4 };
}

function spatialSizes(cfg: MaskedImageConfig): number[] {
  const sizes = [cfg.height];
  for (let i = 0; i < cfg.depth; i++) sizes.push(Math.ceil(sizes[i]! / 2));
  return sizes;
}

function blockChannels(cfg: MaskedImageConfig, i: number): number {
  return cfg.channels * 2 ** Math.max(0, i - 1);
}

export function createMaskedImageModel(cfg: MaskedImageConfig, rng: SeededRandom): MaskedImageModel {
  if (cfg.height !== cfg.width) throw new Error('masked-image-conv: square images only');
  const p: Parameters = new Map();
  const sizes = spatialSizes(cfg);
  const c0 = cfg.channels;
  addParam(p, 'enc.conv0.w', glorot(rng, [3, 3, 1, c0], 9, 9 * c0));
  addParam(p, 'enc.conv0.b', tf.zeros([c0]));
  for (let i = 1; i <= cfg.depth; i++) {
    const cin = i === 1 ? c0 : blockChannels(cfg, i - 1);
    const cout = blockChannels(cfg, i);
    addParam(p, `enc.block${i}.w`, glorot(rng, [3, 3, cin, cout], 9 * cin, 9 * cout));
    addParam(p, `enc.block${i}.b`, tf.zeros([cout]));
  }
  const last = sizes[cfg.depth]!;
  const cLast = cfg.depth === 0 ? c0 : blockChannels(cfg, cfg.depth);
  const flat = last * last * cLast;
  addParam(p, 'enc.fc.w', glorot(rng, [flat, cfg.featureDim], flat, cfg.featureDim));
  addParam(p, 'enc.fc.b', tf.zeros([cfg.featureDim]));
  const encoderNames = [...p.keys()];
  addParam(p, 'dec.fc.w', glorot(rng, [cfg.featureDim, flat], cfg.featureDim, flat));
  addParam(p, 'dec.fc.b', tf.zeros([flat]));
  for (let i = cfg.depth; i >= 1; i--) {
    const cin = blockChannels(cfg, i);
    const cout = i === 1 ? c0 : blockChannels(cfg, i - 1);
    addParam(p, `dec.block${i}.w`, glorot(rng, [3, 3, cin, cout], 9 * cin, 9 * cout));
    addParam(p, `dec.block${i}.b`, tf.zeros([cout]));
  }
  addParam(p, 'dec.out.w', glorot(rng, [3, 3, c0, 1], 9 * c0, 9));
  addParam(p, 'dec.out.b', tf.zeros([1]));
  return { kind: 'masked-image-conv', config: cfg, params: p, encoderNames };
}

/** Encoder features [B, featureDim] of images [B, H, W, 1]. `params` may be a fine-tuned copy. */
export function encodeImages(model: MaskedImageModel, x: tf.Tensor4D, params: Parameters = model.params): tf.Tensor2D {
  const cfg = model.config;
  let h = convBiasRelu(x, param(params, 'enc.conv0.w'), param(params, 'enc.conv0.b'), 1, true);
  for (let i = 1; i <= cfg.depth; i++) {
    h = convBiasRelu(h, param(params, `enc.block${i}.w`), param(params, `enc.block${i}.b`), 2);
  }
  const flat = tf.reshape(h, [h.shape[0], -1]) as tf.Tensor2D;
  return tf.relu(linear(flat, param(params, 'enc.fc.w'), param(params, 'enc.fc.b')));
}

/** Reconstruction [B, H, W, 1] in [0, 1] of (masked and/or noised) images. */
export function reconstructImages(model: MaskedImageModel, x: tf.Tensor4D): tf.Tensor4D {
  const cfg = model.config;
  const p = model.params;
  const sizes = spatialSizes(cfg);
  const z = encodeImages(model, x);
  const last = sizes[cfg.depth]!;
  const cLast = cfg.depth === 0 ? cfg.channels : blockChannels(cfg, cfg.depth);
  let h = tf.reshape(tf.relu(linear(z, param(p, 'dec.fc.w'), param(p, 'dec.fc.b'))), [z.shape[0], last, last, cLast]) as tf.Tensor4D;
  for (let i = cfg.depth; i >= 1; i--) {
    const s = sizes[i - 1]!;
    h = resizeNearest(h, [s, s]);
    h = convBiasRelu(h, param(p, `dec.block${i}.w`), param(p, `dec.block${i}.b`), 1);
  }
  return tf.sigmoid(convToOne(h, param(p, 'dec.out.w'), param(p, 'dec.out.b'))) as tf.Tensor4D;
}

/**
 * Per-example reconstruction loss [B]: mean squared error over all pixels between the reconstruction of
 * the corrupted input and the clean image. `keep` [B, H, W, 1] is 1 where pixels are visible, 0 where
 * masked; `noise` (optional) is added to the visible pixels (denoising pre-training).
 */
export function reconstructionLoss(model: MaskedImageModel, clean: tf.Tensor4D, keep: tf.Tensor4D, noise?: tf.Tensor4D): tf.Tensor1D {
  let input = tf.mul(clean, keep) as tf.Tensor4D;
  if (noise) input = tf.add(input, tf.mul(noise, keep)) as tf.Tensor4D;
  const recon = reconstructImages(model, input);
  return tf.mean(tf.squaredDifference(recon, clean), [1, 2, 3]) as tf.Tensor1D;
}

/** Analytic FLOPs of one forward pass per example (2 per multiply-add), for the plan and for MFU. */
export function maskedImageForwardFlops(cfg: MaskedImageConfig): { encoder: number; total: number } {
  const sizes = spatialSizes(cfg);
  const c0 = cfg.channels;
  let enc = 2 * sizes[0]! ** 2 * 9 * c0;
  for (let i = 1; i <= cfg.depth; i++) {
    const cin = i === 1 ? c0 : blockChannels(cfg, i - 1);
    enc += 2 * sizes[i]! ** 2 * 9 * cin * blockChannels(cfg, i);
  }
  const cLast = cfg.depth === 0 ? c0 : blockChannels(cfg, cfg.depth);
  const flat = sizes[cfg.depth]! ** 2 * cLast;
  enc += 2 * flat * cfg.featureDim;
  let dec = 2 * flat * cfg.featureDim;
  for (let i = cfg.depth; i >= 1; i--) {
    const cout = i === 1 ? c0 : blockChannels(cfg, i - 1);
    dec += 2 * sizes[i - 1]! ** 2 * 9 * blockChannels(cfg, i) * cout;
  }
  dec += 2 * sizes[0]! ** 2 * 9 * c0;
  return { encoder: enc, total: enc + dec };
}
