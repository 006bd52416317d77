/**
 * The benchmark workloads: one shape-and-size description per row, sent verbatim to the PyTorch worker
 * so both sides do identical work. Sizes are those the experiments use (dsl/defaults.ts: 32 channels,
 * depth 2, k = 3 tasks x 32 examples per task upstream; fine-tuning batch 64; certification batch
 * 1000), and each row carries its analytic FLOPs (2 per multiply-add; training = 3x forward).
 */
import { maskedImageForwardFlops, type MaskedImageConfig } from '../engine/models/masked-image-conv.js';
import { maskedTokenForwardFlops, type MaskedTokenConfig } from '../engine/models/masked-token-transformer.js';

export interface ImageShape {
  readonly height: number;
  readonly channels: number;
  readonly depth: number;
  readonly featureDim: number;
  readonly patch: number;
}

export type WorkloadConfig =
  | ({ kind: 'image-train'; batch: number; maskRatio: number; sigma: number } & ImageShape)
  | { kind: 'mlm-train'; batch: number; vocabSize: number; seqLen: number; width: number; depth: number; heads: number; padId: number; maskId: number; maskedPerSequence: number }
  | ({ kind: 'classifier-train'; batch: number; numClasses: number } & ImageShape)
  | ({ kind: 'certify'; batch: number; numClasses: number; sigma: number } & ImageShape)
  | { kind: 'matmul'; n: number };

export interface Workload {
  /** Row name in the table. */
  readonly name: string;
  readonly config: WorkloadConfig;
  /** Analytic FLOPs of one timed iteration. */
  readonly flops: number;
  /**
   * Untimed iterations before measuring (same on both sides). Training rows get 40: our steps reach their
   * steady state only after some 20-40 (the MLM step: 54-63 ms after 5 warm-up steps, 43-44 ms after
   * 40, interleaved with PyTorch the same way; PyTorch's is steady after a few), and a training run is
   * thousands of steps, so the steady state is what a user gets.
   */
  readonly warmup: number;
  /** Timed iterations (same on both sides; the median is reported). */
  readonly iters: number;
}

const IMAGE: ImageShape = { height: 28, channels: 32, depth: 2, featureDim: 128, patch: 4 };
const TASKS = 3;
const PER_TASK = 32;
const CLASSES = 10;
const TRAIN_WARMUP = 40;

export function imageModelConfig(s: ImageShape): MaskedImageConfig {
  return { height: s.height, width: s.height, channels: s.channels, depth: s.depth, featureDim: s.featureDim, patch: s.patch };
}

export function tokenModelConfig(c: Extract<WorkloadConfig, { kind: 'mlm-train' }>): MaskedTokenConfig {
  return { vocabSize: c.vocabSize, seqLen: c.seqLen, width: c.width, depth: c.depth, heads: c.heads, padId: c.padId };
}

/** Forward FLOPs of the classifier (encoder + linear head) per example. */
function classifierForwardFlops(s: ImageShape, classes: number): number {
  return maskedImageForwardFlops(imageModelConfig(s)).encoder + 2 * s.featureDim * classes;
}

/** The rows of the table, in order. `scale` multiplies the timed iterations (e.g. 0.3 for a quick run). */
export function workloads(scale = 1): Workload[] {
  const iters = (n: number): number => Math.max(3, Math.round(n * scale));
  const mlm = { kind: 'mlm-train', batch: TASKS * PER_TASK, vocabSize: 8000, seqLen: 32, width: 64, depth: 2, heads: 2, padId: 0, maskId: 1, maskedPerSequence: 5 } as const;
  const certBatch = 1000;
  const fineTuneBatch = 64;
  return [
    {
      name: 'matMul 1024^3',
      config: { kind: 'matmul', n: 1024 },
      flops: 2 * 1024 ** 3,
      warmup: 10,
      iters: iters(40),
    },
    {
      name: `masked-image train step (b=${TASKS}x${PER_TASK})`,
      config: { kind: 'image-train', batch: TASKS * PER_TASK, maskRatio: 0.5, sigma: 0.5, ...IMAGE },
      flops: 3 * TASKS * PER_TASK * maskedImageForwardFlops(imageModelConfig(IMAGE)).total,
      warmup: TRAIN_WARMUP,
      iters: iters(30),
    },
    {
      name: `MLM transformer train step (b=${TASKS}x${PER_TASK})`,
      config: mlm,
      flops: 3 * mlm.batch * maskedTokenForwardFlops(tokenModelConfig(mlm), mlm.maskedPerSequence),
      warmup: TRAIN_WARMUP,
      iters: iters(30),
    },
    {
      name: `classifier fine-tune step (b=${fineTuneBatch})`,
      config: { kind: 'classifier-train', batch: fineTuneBatch, numClasses: CLASSES, ...IMAGE },
      flops: 3 * fineTuneBatch * classifierForwardFlops(IMAGE, CLASSES),
      warmup: TRAIN_WARMUP,
      iters: iters(30),
    },
    {
      name: `certify: ${certBatch} noisy passes`,
      config: { kind: 'certify', batch: certBatch, numClasses: CLASSES, sigma: 0.5, ...IMAGE },
      flops: certBatch * classifierForwardFlops(IMAGE, CLASSES),
      warmup: 20,
      iters: iters(20),
    },
  ];
}
