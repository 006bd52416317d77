/**
 * A Spec is the plain, JSON-serialisable description of a pipeline the builder records.
 * Every field is resolved to a concrete value by the builder (defaults filled in), so two
 * pipelines that mean the same thing have equal Specs. Nothing here knows about tensors.
 */
import type { DatasetName, PosGroup, SplitBy } from '../datasets/catalog.js';

export const SPEC_VERSION = 1 as const;

/**
 * Model families the engine can pre-train. 'raw-pixels' is the raw-input control: no parameters, the
 * classifier reads the pixels themselves (pre-train it for 0 steps).
 */
export type ModelName = 'masked-image-conv' | 'masked-token-transformer' | 'raw-pixels';

export interface PretrainSpec {
  readonly dataset: DatasetName;
  readonly model: ModelName;
  /** Optimizer steps of pre-training (each step sees one minibatch of every task); 0 keeps the random initialisation (the untrained control). */
  readonly steps: number;
  /** Examples per task per step. */
  readonly batchSize: number;
  readonly lr: number;
  readonly seed: number;
  /** Fraction of patches (images) or tokens (text) masked for reconstruction. */
  readonly maskRatio: number;
  /** Encoder width (channels or model dimension). */
  readonly width: number;
  /** Encoder depth (conv blocks or transformer layers). */
  readonly depth: number;
  /** 'constant', or 'cosine': linear warm-up over the first 5% of steps, then cosine decay to 0. */
  readonly lrSchedule: 'constant' | 'cosine';
  /** Text: the vocabulary's size (the most frequent training words plus 4 special tokens); null for images. */
  readonly vocabSize: number | null;
  /**
   * Images: the upstream pool's share of each label group (groups as splitTasks(k, { by: 'label' }) makes them,
   * k = the number of shares), e.g. [0.06, 0.47, 0.47]; the pool is the largest seeded subsample of the training
   * set with these shares; a share of 0 leaves the group out ([1, 0, 0]: a specialist on one group). null: the
   * training set as it is.
   */
  readonly groupShares: readonly number[] | null;
  /**
   * Text without a split: the part-of-speech groups whose tokens pre-training masks (e.g. ['verb'], a specialist
   * on one upstream task); null: any token (plain masked language modelling).
   */
  readonly posGroups: readonly PosGroup[] | null;
}

export interface SplitTasksSpec {
  readonly k: number;
  readonly by: SplitBy;
}

/**
 * How the k upstream task losses become one objective. Declared once: `minimax()` records it in the Spec
 * (method 'softmax' or 'group-dro'), the plan's pretrain stage carries it resolved ('average' when there is no
 * minimax or eta = 0), and the engine's minimax step (engine/pretrain/minimax.ts) runs it.
 */
export interface Weighting {
  /** 'average': equal weights; 'softmax': p = softmax(eta * l) each step; 'group-dro': p <- p * exp(eta * l), normalised. */
  readonly method: 'average' | 'softmax' | 'group-dro';
  /** Softmax temperature: 0 is average pre-training, large eta approaches the max. */
  readonly eta: number;
  /** Exponential moving average of the task losses before the softmax; 0 = off. */
  readonly ema: number;
  /**
   * What the weights see: 'raw' task losses (the paper); 'relative', each loss over the task's loss at
   * initialisation; 'excess', each loss minus a per-task reference (text: the task's unigram entropy;
   * images: the loss of predicting the task's mean image). Tasks' raw losses are not on one scale.
   */
  readonly losses: 'raw' | 'relative' | 'excess';
}

/** What `minimax(eta, options)` records: a weighting that is not plain averaging. */
export interface MinimaxSpec extends Weighting {
  readonly method: 'softmax' | 'group-dro';
}

export interface NoiseSpec {
  /** Gaussian noise standard deviations, strictly increasing, each > 0 (pixels in [0, 1]). */
  readonly sigmas: readonly number[];
  /** Mixture weights over [clean, ...sigmas]; sums to 1. */
  readonly weights: readonly number[];
}

export interface FinetuneSpec {
  /** Downstream task names from the catalog (DOWNSTREAM_TASKS). */
  readonly tasks: readonly string[];
  readonly steps: number;
  readonly batchSize: number;
  readonly lr: number;
  /** 'probe': linear head on the frozen encoder; 'full': encoder and head trained together. */
  readonly mode: 'probe' | 'full';
  /**
   * Gaussian augmentation during fine-tuning: each example's sigma is drawn uniformly from this list; [0] is clean
   * images only, [0.5] Cohen et al.'s training at sigma 0.5, [0.25, 0.5, 1] a mixture (one model for every sigma).
   */
  readonly noise: readonly number[];
  /** Training examples per downstream task (subsampled with the seed); null = all. */
  readonly maxExamples: number | null;
  /**
   * Label budgets: one classifier per task and budget, each trained on this many seeded examples of every
   * class (the test split is the same for all); null = one classifier on maxExamples (or all) examples.
   */
  readonly labelsPerClass: readonly number[] | null;
}

export interface EvaluateSpec {
  /** Test examples per downstream task; null = the whole test split. */
  readonly maxExamples: number | null;
}

export interface CertifySpec {
  readonly sigmas: readonly number[];
  readonly n0: number;
  readonly n: number;
  readonly alpha: number;
  /** Radii at which certified accuracy is reported, non-negative, increasing. */
  readonly radii: readonly number[];
  /** Test points certified (the first `points` of a seeded permutation of the test split). */
  readonly points: number;
  /**
   * Sequential CERTIFY: estimation draws in looks, stopping once more cannot change where a point counts in
   * certified accuracy at `radii`. Present only when asked for, so plans without it keep their hashes.
   */
  readonly sequential?: true;
}

/** A Spec with only its pre-training resolved: where the builder and fromJSON both start. */
export function initialSpec(pretrain: PretrainSpec): Spec {
  return { version: SPEC_VERSION, pretrain, splitTasks: null, minimax: null, noise: null, finetune: null, evaluate: null, certify: null };
}

export interface Spec {
  readonly version: typeof SPEC_VERSION;
  readonly pretrain: PretrainSpec;
  readonly splitTasks: SplitTasksSpec | null;
  readonly minimax: MinimaxSpec | null;
  readonly noise: NoiseSpec | null;
  readonly finetune: FinetuneSpec | null;
  readonly evaluate: EvaluateSpec | null;
  readonly certify: CertifySpec | null;
}
