/**
 * Fine-tuning on a downstream task: a linear probe on the frozen pre-trained encoder ('probe'), or the
 * encoder (a copy, so tasks never share updates) and the head trained together ('full'), optionally
 * with Gaussian augmentation of the inputs (Cohen et al.'s training, the reference for certification).
 * Cross-entropy, Adam, minibatches drawn with the seeded host RNG.
 */
import * as tf from '@tensorflow/tfjs';
import { Adam } from '../models/adam.js';
import type { DownstreamTensors } from '../device-data.js';
import { featureDim, features, type PretrainedModel } from '../models/pretrained-model.js';
import { createHead, headLogits, predictClasses, type Classifier } from './classifier.js';
import { deriveSeed, randomNormal } from '../backend/device-random.js';
import { cloneParameters, param, type Parameters } from '../models/parameters.js';
import { RateMeter, type ProgressSink } from '../progress.js';
import { SeededRandom } from '../random.js';
import { sparseSoftmaxCrossEntropy } from '../ops/sparse-cross-entropy.js';

export interface FinetuneOptions {
  readonly model: PretrainedModel;
  readonly data: DownstreamTensors;
  readonly mode: 'probe' | 'full';
  readonly steps: number;
  readonly batchSize: number;
  readonly lr: number;
  /** Gaussian augmentation (images only): each example's sigma drawn uniformly from the list; [0] = clean. */
  readonly noise: readonly number[];
  readonly seed: number;
  readonly onProgress?: ProgressSink;
}

export interface FinetuneOutcome {
  readonly classifier: Classifier;
  readonly trainAccuracy: number;
  readonly seconds: number;
}

const FEATURE_BATCH = 512;

export async function finetune(o: FinetuneOptions): Promise<FinetuneOutcome> {
  const t0 = performance.now();
  const { model, data, mode } = o;
  const rng = new SeededRandom(o.seed, 11);
  // Its own stream: drawing sigmas never changes which examples a step sees.
  const sigmaRng = new SeededRandom(o.seed, 17);
  const head = createHead(data.numClasses, featureDim(model), rng);
  const probe = mode === 'probe';
  const encoder: Parameters = probe ? model.params : cloneParameters(new Map(model.encoderNames.map((n) => [n, param(model.params, n)])));
  const n = data.xTrain.shape[0]!;
  // Probe: features of the whole train set computed once with the frozen encoder.
  const pos = data.positionsTrain;
  const trainFeatures = probe ? batchedFeatures(model, encoder, data.xTrain, pos) : null;
  standardise(head, trainFeatures ?? batchedFeatures(model, encoder, data.xTrain.slice(0, Math.min(n, 2048)), pos?.subarray(0, 2048)), !probe);
  const posAll = pos ? tf.tensor1d(pos, 'int32') : null;
  const names = probe ? ['head.w', 'head.b'] : ['head.w', 'head.b', ...model.encoderNames.map((k) => `enc:${k}`)];
  const trainable: Parameters = new Map([...head, ...[...encoder].map(([k, v]) => [`enc:${k}`, v] as const)]);
  const adam = new Adam(trainable, names, { lr: o.lr });
  const yAll = tf.tensor1d(data.yTrain, 'int32');
  const meter = new RateMeter(0, o.steps);
  try {
    for (let step = 1; step <= o.steps; step++) {
      const idx = tf.tensor1d(rng.sample(n, Math.min(o.batchSize, n)), 'int32');
      const cost = adam.minimize(() => {
        const y = tf.gather(yAll, idx) as tf.Tensor1D;
        let logits: tf.Tensor2D;
        if (trainFeatures) logits = headLogits(head, tf.gather(trainFeatures, idx));
        else {
          let x = tf.gather(data.xTrain, idx);
          const sigmas = exampleSigmas(o.noise, x.shape[0]!, sigmaRng);
          if (sigmas !== 0) {
            const scale = typeof sigmas === 'number' ? sigmas : tf.tensor4d(sigmas, [sigmas.length, 1, 1, 1]);
            x = tf.add(x, tf.mul(randomNormal(x.shape, { seed: deriveSeed(o.seed, step), stream: 3 }), scale));
          }
          logits = headLogits(head, features(model, x, encoder, posAll ? (tf.gather(posAll, idx) as tf.Tensor1D) : undefined));
        }
        return tf.mean(sparseSoftmaxCrossEntropy(logits, y));
      });
      idx.dispose();
      if (step % 50 === 0 || step === o.steps) {
        const loss = (await cost.data())[0]!;
        const rate = meter.at(step);
        o.onProgress?.({ stage: 'finetune', label: data.task, step, total: o.steps, perSecond: rate.perSecond, etaSeconds: rate.etaSeconds, fields: { loss } });
      }
      cost.dispose();
    }
  } finally {
    adam.dispose();
    yAll.dispose();
    posAll?.dispose();
    trainFeatures?.dispose();
  }
  const classifier: Classifier = { task: data.task, numClasses: data.numClasses, model, encoder, head };
  const sample = Math.min(n, 2000);
  const xs = data.xTrain.slice(0, sample);
  const pred = await predictClasses(classifier, xs, FEATURE_BATCH, pos?.subarray(0, sample));
  xs.dispose();
  return { classifier, trainAccuracy: accuracy(pred, data.yTrain.subarray(0, sample)), seconds: (performance.now() - t0) / 1000 };
}

/** The noise sigma of each example of a batch: one number for all (0: clean), or one per example from the list. */
function exampleSigmas(noise: readonly number[], batch: number, rng: SeededRandom): number | Float32Array {
  if (noise.length === 1) return noise[0]!;
  return Float32Array.from({ length: batch }, () => noise[rng.int(noise.length)]!);
}

/** Test accuracy of a classifier on (at most maxExamples of) the task's test split. */
export async function evaluateClassifier(c: Classifier, data: DownstreamTensors, maxExamples: number | null): Promise<{ accuracy: number; examples: number }> {
  const n = Math.min(data.xTest.shape[0]!, maxExamples ?? Infinity);
  const xs = data.xTest.slice(0, n);
  const pred = await predictClasses(c, xs, FEATURE_BATCH, data.positionsTest?.subarray(0, n));
  xs.dispose();
  return { accuracy: accuracy(pred, data.yTest.subarray(0, n)), examples: n };
}

export function accuracy(pred: ArrayLike<number>, labels: ArrayLike<number>): number {
  let ok = 0;
  for (let i = 0; i < labels.length; i++) if (pred[i] === labels[i]) ok++;
  return labels.length ? ok / labels.length : NaN;
}

function batchedFeatures(model: PretrainedModel, encoder: Parameters, x: tf.Tensor, positions?: Int32Array): tf.Tensor2D {
  const n = x.shape[0]!;
  const parts: tf.Tensor2D[] = [];
  for (let s = 0; s < n; s += FEATURE_BATCH) {
    const size = Math.min(FEATURE_BATCH, n - s);
    parts.push(tf.tidy(() => features(model, tf.slice(x, s, size), encoder, positions ? tf.tensor1d(positions.subarray(s, s + size), 'int32') : undefined)));
  }
  const all = tf.concat(parts) as tf.Tensor2D;
  tf.dispose(parts);
  return all;
}

/** Head input standardisation from train features (fixed during training: the features' scale is arbitrary). */
function standardise(head: Parameters, feats: tf.Tensor2D, disposeFeatures: boolean): void {
  tf.tidy(() => {
    const { mean, variance } = tf.moments(feats, 0);
    param(head, 'head.mean').assign(mean);
    param(head, 'head.std').assign(tf.sqrt(tf.add(variance, 1e-6)));
  });
  if (disposeFeatures) feats.dispose();
}
