/**
 * A pre-trained model: one of the encoder families (or the raw-input control), and the features its encoder
 * gives a downstream classifier: images, the conv encoder's bottleneck (or the pixels); text, the mean of
 * the token states over the sentence, or for a token-level task the state at one position.
 */
import * as tf from '@tensorflow/tfjs';
import { encodeImages, type MaskedImageModel } from './masked-image-conv.js';
import { encodeTokens, poolTokens, type MaskedTokenModel } from './masked-token-transformer.js';
import type { Parameters } from './parameters.js';
import { rawPixelFeatures, type RawPixelsModel } from './raw-pixels.js';

export type PretrainedModel = MaskedImageModel | MaskedTokenModel | RawPixelsModel;

export function featureDim(model: PretrainedModel): number {
  return model.kind === 'masked-token-transformer' ? model.config.width : model.config.featureDim;
}

/**
 * Encoder features [B, F] of a batch: images [B, H, W, 1] float32, or token ids [B, L] int32. With
 * `positions` [B] (token-level tasks), the state at each sequence's position instead of the sentence mean.
 */
export function features(model: PretrainedModel, x: tf.Tensor, encoder: Parameters, positions?: tf.Tensor1D): tf.Tensor2D {
  if (model.kind === 'masked-image-conv') return encodeImages(model, x as tf.Tensor4D, encoder);
  if (model.kind === 'raw-pixels') return rawPixelFeatures(model, x as tf.Tensor4D);
  if (!positions) return poolTokens(model, x as tf.Tensor2D, encoder);
  const [B, L] = (x as tf.Tensor2D).shape;
  const rows = tf.reshape(encodeTokens(model, x as tf.Tensor2D, encoder), [B * L, model.config.width]);
  return tf.gather(rows, tf.add(tf.mul(tf.range(0, B, 1, 'int32'), tf.scalar(L, 'int32')), positions)) as tf.Tensor2D;
}
