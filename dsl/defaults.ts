/**
 * Defaults the builder fills in, chosen so that a pipeline written with no options runs in a few
 * minutes on 2 CPU cores (the paper-scale settings are passed explicitly by the experiments).
 * The builder resolves every default into the Spec, so a saved Spec never depends on these values.
 */
import type { DatasetName, Modality, SplitBy } from '../datasets/catalog.js';
import type { ModelName, PretrainSpec } from './spec.js';

/** The data set `pretrain()` uses when none is named. */
export const DEFAULT_DATASET: DatasetName = 'fashionMnist';

/** Which model family reads which modality; a model of the other modality is rejected. */
export const MODEL_MODALITY: Readonly<Record<ModelName, Modality>> = {
  'masked-image-conv': 'image',
  'masked-token-transformer': 'text',
  'raw-pixels': 'image',
};

/** Everything of `pretrain()` but the data set has a default per modality. */
export type PretrainDefaults = Omit<PretrainSpec, 'dataset'>;

/** Vocabulary size of the text model when none is given: the 8,000 most frequent training words. */
export const DEFAULT_VOCAB_SIZE = 8000;

/**
 * Pre-training defaults per modality.
 * - image: MAE-style masked-image conv encoder-decoder, 300 steps of 64 images per task, Adam lr 1e-3,
 *   half of the patches masked, 32 channels, 2 down-sampling blocks (28 -> 14 -> 7).
 * - text: BERT-style masked-token transformer, 300 steps of 32 sentences per task, Adam lr 1e-3,
 *   15% of tokens masked, model dimension 64, 2 layers.
 */
export const PRETRAIN_DEFAULTS: Readonly<Record<Modality, PretrainDefaults>> = {
  image: { model: 'masked-image-conv', steps: 300, batchSize: 64, lr: 1e-3, seed: 0, maskRatio: 0.5, width: 32, depth: 2, lrSchedule: 'constant', vocabSize: null, groupShares: null, posGroups: null },
  text: { model: 'masked-token-transformer', steps: 300, batchSize: 32, lr: 1e-3, seed: 0, maskRatio: 0.15, width: 64, depth: 2, lrSchedule: 'constant', vocabSize: DEFAULT_VOCAB_SIZE, groupShares: null, posGroups: null },
};

/** `splitTasks(k)` without `by`: label groups for images, part-of-speech groups for text. */
export const DEFAULT_SPLIT_BY: Readonly<Record<Modality, SplitBy>> = { image: 'label', text: 'pos' };

/**
 * `minimax(eta)`: softmax weights of task losses smoothed by an EMA (0.9: about the last 10 steps; single
 * minibatch losses make the weights follow noise), each loss relative to its value at initialisation
 * (raw losses of different tasks are not on one scale). The pilots in results/task-robust-pilots/ chose these;
 * the paper's plain form is minimax(eta, { losses: 'raw', ema: 0 }).
 */
export const MINIMAX_DEFAULTS = { method: 'softmax', ema: 0.9, losses: 'relative' } as const;

/** `finetune(tasks)`: a linear probe on the frozen encoder, 200 Adam steps of 64, clean inputs, all examples. */
export const FINETUNE_DEFAULTS = { steps: 200, batchSize: 64, lr: 1e-3, mode: 'probe', noise: [0], maxExamples: null, labelsPerClass: null } as const;

/** `evaluate()`: the whole test split of every fine-tuned task. */
export const EVALUATE_DEFAULTS = { maxExamples: null } as const;

/**
 * `certify()`: Cohen et al.'s sigmas, n0 and alpha; n = 1,000 noisy draws (not their 100,000) and
 * 100 test points keep a default run short. With n = 1,000 the largest certifiable radius is
 * sigma * PhiInverse(alpha^(1/n)) ~ 2.4 sigma.
 */
export const CERTIFY_DEFAULTS = {
  sigmas: [0.25, 0.5, 1],
  n0: 100,
  n: 1000,
  alpha: 0.001,
  radii: [0, 0.25, 0.5, 0.75, 1],
  points: 100,
} as const;
