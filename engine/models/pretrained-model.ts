/**
 * A pre-trained model: one of the two encoder families, and the features its encoder gives a downstream
 * classifier (image: pooled conv features; text: mean-pooled token states).
 */
import type * as tf from '@tensorflow/tfjs';
import { encodeImages, type MaskedImageModel } from './masked-image-conv.js';
import { poolTokens, type MaskedTokenModel } from './masked-token-transformer.js';
import type { Parameters } from './parameters.js';

export type PretrainedModel = MaskedImageModel | MaskedTokenModel;

export function featureDim(model: PretrainedModel): number {
  return model.kind === 'masked-image-conv' ? model.config.featureDim : model.config.width;
}

/** Encoder features of a batch (images [B, H, W, 1] float32, or token ids [B, L] int32). */
export function features(model: PretrainedModel, x: tf.Tensor, encoder: Parameters): tf.Tensor2D {
  return model.kind === 'masked-image-conv' ? encodeImages(model, x as tf.Tensor4D, encoder) : poolTokens(model, x as tf.Tensor2D, encoder);
}
