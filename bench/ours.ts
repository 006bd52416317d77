/**
 * Our side of each workload, built from the engine's own functions exactly as the experiments call
 * them: the models' loss functions, `Adam.minimize`, `classifierLogits`, and `sampleUnderNoise` (device
 * noise, argmax on the backend, counts read back to the host). Inputs are made once, outside the
 * timed step, on both sides.
 */
import * as tf from '@tensorflow/tfjs';
import { Adam } from '../engine/models/adam.js';
import { classifierLogits, createHead, type Classifier } from '../engine/finetune/classifier.js';
import { sampleUnderNoise } from '../engine/certify/smoothing.js';
import { createMaskedImageModel, reconstructionLoss } from '../engine/models/masked-image-conv.js';
import { createMaskedTokenModel, maskedTokenLoss } from '../engine/models/masked-token-transformer.js';
import { countParameters, type Parameters } from '../engine/models/parameters.js';
import { SeededRandom } from '../engine/random.js';
import { sparseSoftmaxCrossEntropy } from '../engine/ops/sparse-cross-entropy.js';
import { imageModelConfig, tokenModelConfig, type ImageShape, type WorkloadConfig } from './workloads.js';

export interface Runnable {
  /** One timed iteration; leaves no tensors behind. */
  readonly step: () => void;
  /** Trainable parameters (0 for the matMul). */
  readonly params: number;
  readonly dispose: () => void;
}

const LR = 1e-3;

export interface BuildOptions {
  /** Adam's implementation (engine/models/adam.ts); the bench uses the default, bench/prototypes.ts compares. */
  readonly adamKernel?: 'fused' | 'resource' | 'ops';
}

/** Builds our side of a workload on the active backend. */
export function buildOurs(config: WorkloadConfig, options: BuildOptions = {}): Runnable {
  const rng = new SeededRandom(0);
  switch (config.kind) {
    case 'matmul': {
      const a = tf.randomNormal([config.n, config.n]);
      const b = tf.randomNormal([config.n, config.n]);
      return { step: () => tf.matMul(a, b).dispose(), params: 0, dispose: () => tf.dispose([a, b]) };
    }
    case 'image-train': {
      const model = createMaskedImageModel(imageModelConfig(config), rng);
      const adam = new Adam(model.params, [...model.params.keys()], { lr: LR, kernel: options.adamKernel });
      const { batch: B, height: H } = config;
      const clean = tf.randomUniform([B, H, H, 1]) as tf.Tensor4D;
      const keep = patchKeep(B, H, config.patch, config.maskRatio);
      const noise = tf.mul(tf.randomNormal([B, H, H, 1]), config.sigma) as tf.Tensor4D;
      return {
        step: () => adam.minimize(() => tf.mean(reconstructionLoss(model, clean, keep, noise))).dispose(),
        params: countParameters(model.params),
        dispose: () => {
          adam.dispose();
          tf.dispose([clean, keep, noise, ...model.params.values()]);
        },
      };
    }
    case 'mlm-train': {
      const model = createMaskedTokenModel(tokenModelConfig(config), rng);
      const adam = new Adam(model.params, [...model.params.keys()], { lr: LR, kernel: options.adamKernel });
      const { batch: B, seqLen: L, maskedPerSequence: M } = config;
      const tokens = new Int32Array(B * L);
      for (let i = 0; i < tokens.length; i++) tokens[i] = 2 + Math.floor(rng.next() * (config.vocabSize - 2));
      const positions = new Int32Array(B * M);
      const targets = new Int32Array(B * M);
      const owner = new Int32Array(B * M);
      for (let b = 0; b < B; b++) {
        const cols = rng.sample(L, M);
        for (let j = 0; j < M; j++) {
          const p = b * L + cols[j]!;
          positions[b * M + j] = p;
          targets[b * M + j] = tokens[p]!;
          owner[b * M + j] = b;
        }
      }
      const masked = tokens.slice();
      for (const p of positions) masked[p] = config.maskId;
      const t = {
        tokens: tf.tensor2d(masked, [B, L], 'int32'),
        positions: tf.tensor1d(positions, 'int32'),
        targets: tf.tensor1d(targets, 'int32'),
        owner: tf.tensor1d(owner, 'int32'),
      };
      return {
        step: () => adam.minimize(() => tf.mean(maskedTokenLoss(model, t.tokens, t.positions, t.targets, t.owner, B))).dispose(),
        params: countParameters(model.params),
        dispose: () => {
          adam.dispose();
          tf.dispose([...Object.values(t), ...model.params.values()]);
        },
      };
    }
    case 'classifier-train': {
      const { classifier, trainable, names } = imageClassifier(config, config.numClasses, rng);
      const adam = new Adam(trainable, names, { lr: LR, kernel: options.adamKernel });
      const { batch: B, height: H } = config;
      const x = tf.randomUniform([B, H, H, 1]) as tf.Tensor4D;
      const y = tf.tensor1d(Array.from({ length: B }, () => Math.floor(rng.next() * config.numClasses)), 'int32') as tf.Tensor1D;
      return {
        // As engine/finetune/finetune.ts: mean sparse softmax cross-entropy of the logits against the labels.
        step: () => adam.minimize(() => tf.mean(sparseSoftmaxCrossEntropy(classifierLogits(classifier, x), y))).dispose(),
        params: countParameters(trainable),
        dispose: () => {
          adam.dispose();
          tf.dispose([x, y, ...classifier.encoder.values(), ...classifier.head.values()]);
        },
      };
    }
    case 'certify': {
      const { classifier, trainable } = imageClassifier(config, config.numClasses, rng);
      const x = tf.randomUniform([config.height, config.height, 1]);
      let stream = 0;
      const f = (batch: tf.Tensor): tf.Tensor2D => classifierLogits(classifier, batch);
      const options = { num: config.batch, batchSize: config.batch, sigma: config.sigma, numClasses: config.numClasses, seed: 0 };
      return {
        step: () => void sampleUnderNoise(f, x, { ...options, stream: stream++ }),
        params: countParameters(trainable),
        dispose: () => tf.dispose([x, ...classifier.encoder.values(), ...classifier.head.values()]),
      };
    }
  }
}

/** The image classifier (encoder + head) and its trainable parameters for full fine-tuning. */
function imageClassifier(shape: ImageShape, numClasses: number, rng: SeededRandom): { classifier: Classifier; trainable: Parameters; names: string[] } {
  const model = createMaskedImageModel(imageModelConfig(shape), rng);
  for (const [name, v] of model.params) if (!model.encoderNames.includes(name)) v.dispose();
  const encoder: Parameters = new Map(model.encoderNames.map((n) => [n, model.params.get(n)!]));
  const head = createHead(numClasses, shape.featureDim, rng);
  const names = [...model.encoderNames, 'head.w', 'head.b'];
  const trainable: Parameters = new Map(names.map((n) => [n, (encoder.get(n) ?? head.get(n))!]));
  return { classifier: { task: 'bench', numClasses, model, encoder, head }, trainable, names };
}

/** Patch mask [B, H, H, 1]: 1 where visible, 0 on masked patches (as engine/pretrain/image-upstream.ts). */
function patchKeep(batch: number, side: number, patch: number, ratio: number): tf.Tensor4D {
  return tf.tidy(() => {
    const grid = Math.ceil(side / patch);
    const u = tf.randomUniform([batch, grid, grid, 1]);
    const up = tf.image.resizeNearestNeighbor(tf.cast(tf.greaterEqual(u, ratio), 'float32') as tf.Tensor4D, [grid * patch, grid * patch]);
    return (grid * patch === side ? up : tf.slice(up, [0, 0, 0, 0], [batch, side, side, 1])) as tf.Tensor4D;
  });
}
