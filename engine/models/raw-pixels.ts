/**
 * The raw-input control: a "model" with no parameters whose features are the pixels themselves, so a linear
 * probe on it is the field's simplest baseline (a linear classifier on pixels). Pre-training it is 0 steps.
 */
import * as tf from '@tensorflow/tfjs';
import type { Parameters } from './parameters.js';

export interface RawPixelsModel {
  readonly kind: 'raw-pixels';
  readonly config: { readonly height: number; readonly width: number; readonly featureDim: number };
  readonly params: Parameters;
  readonly encoderNames: readonly string[];
}

export function createRawPixelsModel(height: number, width: number): RawPixelsModel {
  return { kind: 'raw-pixels', config: { height, width, featureDim: height * width }, params: new Map(), encoderNames: [] };
}

/** Features [B, H * W]: the pixels of images [B, H, W, 1]. */
export function rawPixelFeatures(model: RawPixelsModel, x: tf.Tensor4D): tf.Tensor2D {
  return tf.reshape(x, [x.shape[0], model.config.featureDim]) as tf.Tensor2D;
}
