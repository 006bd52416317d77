/**
 * Upstream tasks on images: masked (and, with noise(), Gaussian-noised) reconstruction of the clean
 * image, split into k representative tasks by label group or pixel cluster — or, with
 * splitTasks(k, { by: 'noise' }) / noise().minimax(), one task per noise level (clean and each sigma).
 * Without a noise split, noise() makes each example's sigma a draw from the mixture
 * (clean or one of the sigmas, with the given weights): one model for every sigma (Qiu et al.).
 */
import * as tf from '@tensorflow/tfjs';
import type { ImageSet, ImageSplit } from '../../datasets/images.js';
import { imagesToDevice } from '../device-data.js';
import { randomNormal, randomUniform, deriveSeed } from '../backend/device-random.js';
import { reconstructionLoss, type MaskedImageModel } from '../models/masked-image-conv.js';
import type { SeededRandom } from '../random.js';
import type { Upstream, UpstreamBatch } from './upstream.js';

export interface ImageUpstreamOptions {
  readonly set: ImageSet;
  readonly model: MaskedImageModel;
  /** Train indices of each task (k pools); for noise-level tasks every pool is the whole train set. */
  readonly pools: readonly Int32Array[];
  readonly taskNames: readonly string[];
  /** Per-task noise sigma when the tasks are noise levels; null otherwise. */
  readonly taskSigmas: readonly number[] | null;
  /** Noise mixture applied per example when the tasks are not noise levels. */
  readonly mixture: { readonly sigmas: readonly number[]; readonly weights: readonly number[] } | null;
  readonly batchSize: number;
  readonly maskRatio: number;
  readonly seed: number;
}

export function createImageUpstream(o: ImageUpstreamOptions): Upstream {
  const { set, model, pools, batchSize: B, maskRatio, seed } = o;
  const k = pools.length;
  const H = set.height;
  const P = model.config.patch;
  const grid = Math.ceil(H / P);
  const images = imagesToDevice(set.train, set.height, set.width);
  const mixCdf = o.mixture ? cumulative([0, ...o.mixture.sigmas], o.mixture.weights) : null;
  const referenceOf = new Map<Int32Array, number>();
  const references = pools.map((p) => {
    if (!referenceOf.has(p)) referenceOf.set(p, meanImageLoss(set.train, p));
    return referenceOf.get(p)!;
  });

  return {
    k,
    taskNames: o.taskNames,
    taskSizes: pools.map((p) => p.length),
    references,
    draw(step: number, rng: SeededRandom): UpstreamBatch {
      const idx = new Int32Array(k * B);
      for (let t = 0; t < k; t++) idx.set(rng.sample(pools[t]!, B), t * B);
      // Per-example noise sigma: fixed per task (noise-level tasks) or drawn from the mixture.
      let sigmas: Float32Array | null = null;
      if (o.taskSigmas) {
        sigmas = new Float32Array(k * B);
        for (let t = 0; t < k; t++) sigmas.fill(o.taskSigmas[t]!, t * B, (t + 1) * B);
      } else if (mixCdf) {
        sigmas = new Float32Array(k * B);
        for (let i = 0; i < k * B; i++) sigmas[i] = pickFromCdf(mixCdf, rng.next());
      }
      const stepSeed = deriveSeed(seed, step);
      const clean = tf.tidy(() => tf.gather(images, tf.tensor1d(idx, 'int32')) as tf.Tensor4D);
      const keep = tf.tidy(() => {
        if (maskRatio <= 0) return tf.onesLike(clean);
        const u = randomUniform([k * B, grid, grid, 1], { seed: stepSeed, stream: 1 });
        const up = tf.image.resizeNearestNeighbor(tf.cast(tf.greaterEqual(u, maskRatio), 'float32') as tf.Tensor4D, [grid * P, grid * P]);
        return grid * P === H ? up : tf.slice(up, [0, 0, 0, 0], [k * B, H, H, 1]);
      });
      const noise = sigmas
        ? tf.tidy(() => tf.mul(randomNormal([k * B, H, H, 1], { seed: stepSeed, stream: 2 }), tf.tensor4d(sigmas!, [k * B, 1, 1, 1])) as tf.Tensor4D)
        : undefined;
      const tensors = { clean, keep, noise };
      return {
        taskLosses: () => tf.mean(tf.reshape(reconstructionLoss(model, tensors.clean, tensors.keep, tensors.noise), [k, B]), 1) as tf.Tensor1D,
        dispose: () => tf.dispose([clean, keep, ...(noise ? [noise] : [])]),
      };
    },
    dispose: () => images.dispose(),
  };
}

/**
 * The reconstruction loss of the simplest predictor that knows the task: the pool's mean image, whatever the
 * input (mean squared error over pixels in [0, 1], averaged over the pool). Float64 on the host.
 */
export function meanImageLoss(split: ImageSplit, pool: Int32Array): number {
  const size = split.images.length / split.count;
  const sum = new Float64Array(size);
  const sumSq = new Float64Array(size);
  for (const i of pool) {
    for (let j = 0; j < size; j++) {
      const v = split.images[i * size + j]! / 255;
      sum[j] += v;
      sumSq[j] += v * v;
    }
  }
  let loss = 0;
  for (let j = 0; j < size; j++) loss += sumSq[j]! / pool.length - (sum[j]! / pool.length) ** 2;
  return loss / size;
}

function cumulative(values: readonly number[], weights: readonly number[]): { values: readonly number[]; cdf: Float64Array } {
  const cdf = new Float64Array(weights.length);
  let s = 0;
  weights.forEach((w, i) => (cdf[i] = s += w));
  return { values, cdf };
}

function pickFromCdf(m: { values: readonly number[]; cdf: Float64Array }, u: number): number {
  const total = m.cdf[m.cdf.length - 1]!;
  for (let i = 0; i < m.cdf.length; i++) if (u * total < m.cdf[i]!) return m.values[i]!;
  return m.values[m.values.length - 1]!;
}
