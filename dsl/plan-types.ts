/**
 * The Plan: the contract between the DSL and the engine. Plain JSON data with every default
 * resolved; the engine executes it stage by stage and never sees the builder.
 */
import type { DatasetName, SplitBy } from '../datasets/catalog.js';
import type { CertifySpec, FinetuneSpec, ModelName, Spec, Weighting } from './spec.js';

export type Target = 'gpu' | 'cpu';
/** Backend the plan asks for; 'auto' lets the engine pick the fastest present (and report it). */
export type BackendRequest = 'auto' | 'tensorflow' | 'wasm' | 'cpu';

export interface Estimate {
  /** Floating-point operations of the whole stage. */
  readonly flops: number;
  /** Peak bytes the stage needs on the device (parameters, optimizer state, activations, batch). */
  readonly peakBytes: number;
}

export interface LoadDataStage {
  readonly kind: 'load-data';
  readonly dataset: DatasetName;
  /** Text: the vocabulary size; null for images. */
  readonly vocabSize: number | null;
  /** Images: the upstream pool's share of each label group; null = the training set as it is. */
  readonly groupShares: readonly number[] | null;
  /** Text without a split: the part-of-speech groups pre-training masks; null = any token. */
  readonly posGroups: readonly string[] | null;
  readonly downstream: readonly string[];
  readonly estimate: Estimate;
}

export interface SplitTasksStage {
  readonly kind: 'split-tasks';
  /** k = 1 with by = 'none' when the pipeline has no split (plain pre-training). */
  readonly k: number;
  readonly by: SplitBy | 'none';
  /** Noise sigmas that act as tasks or mixture components ([] when no noise()). */
  readonly sigmas: readonly number[];
  readonly mixtureWeights: readonly number[];
  readonly estimate: Estimate;
}

export interface PretrainStage {
  readonly kind: 'pretrain';
  readonly model: ModelName;
  readonly width: number;
  readonly depth: number;
  readonly maskRatio: number;
  readonly steps: number;
  /** Examples per task per step. */
  readonly batchSize: number;
  readonly lr: number;
  readonly lrSchedule: 'constant' | 'cosine';
  readonly optimizer: 'adam';
  /** How task losses are weighted: average (eta 0), softmax minimax, or Group DRO. */
  readonly weighting: Weighting;
  readonly checkpointEvery: number;
  readonly parameters: number;
  readonly estimate: Estimate;
}

/** The Spec's finetune() call, resolved. */
export interface FinetuneStage extends FinetuneSpec {
  readonly kind: 'finetune';
  readonly estimate: Estimate;
}

export interface EvaluateStage {
  readonly kind: 'evaluate';
  readonly tasks: readonly string[];
  readonly maxExamples: number | null;
  readonly batchSize: number;
  readonly estimate: Estimate;
}

/** The Spec's certify() call, resolved, with what the compiler chose. */
export interface CertifyStage extends CertifySpec {
  readonly kind: 'certify';
  /** Downstream task whose classifier is certified (the first fine-tuned task). */
  readonly task: string;
  /** Noisy copies per forward pass. */
  readonly batchSize: number;
  /** Noise is drawn on the backend (always true; recorded so a reader of the plan sees it). */
  readonly noiseOnDevice: true;
  readonly estimate: Estimate;
}

export type Stage = LoadDataStage | SplitTasksStage | PretrainStage | FinetuneStage | EvaluateStage | CertifyStage;
export type StageKind = Stage['kind'];

export interface PlanData {
  readonly version: 1;
  /** Content hash of (spec, target, backend, memory budget): names the run directory. */
  readonly hash: string;
  readonly target: Target;
  readonly backend: BackendRequest;
  readonly dtype: 'float32';
  readonly memoryBudgetBytes: number;
  readonly seed: number;
  readonly spec: Spec;
  readonly stages: readonly Stage[];
  readonly totals: Estimate;
}

/** How `plan.run()` runs a plan (the engine reads these; the DSL only passes them on). */
export interface RunOptions {
  /** Folder holding one run directory per plan hash; default 'runs'. */
  readonly runsDir?: string;
  /** Continue an interrupted run from its last checkpoint (default true); false starts over, keeping the old run directory as runs/<hash>.replaced-<time>. */
  readonly resume?: boolean;
  /** Show a progress display (step, losses, weights, ETA). */
  readonly progress?: boolean;
  /** Print nothing but errors. */
  readonly quiet?: boolean;
}

/**
 * Wall seconds a run spent in one stage, and the estimated FLOPs (the plan's) of the work it did there: resumed
 * steps, stored classifiers and certification rows read back are not counted. load-data includes split-tasks.
 */
export interface StageTime {
  readonly stage: Exclude<StageKind, 'split-tasks'>;
  readonly seconds: number;
  /** 0 where the plan estimates none (loading data; the held-out losses counted under evaluate). */
  readonly flops: number;
}

/** What a finished run reports: plain JSON, also written to the run directory. */
export interface RunResult {
  readonly hash: string;
  readonly runDir: string;
  /** The backend that actually ran (e.g. 'tensorflow', 'wasm', 'cpu'). */
  readonly backend: string;
  /** True when the run directory already held a finished run and nothing was computed. */
  readonly cached: boolean;
  readonly seconds: number;
  /** The run's time breakdown by stage, in pipeline order (absent in runs written before it was recorded). */
  readonly timing?: readonly StageTime[];
  readonly pretrain: {
    readonly steps: number;
    readonly seconds: number;
    readonly taskNames: readonly string[];
    readonly finalTaskLosses: readonly number[];
    readonly finalWeights: readonly number[];
    /** The task losses at initialisation (mean over a few minibatches); null with one task or no training. */
    readonly initialTaskLosses: readonly number[] | null;
    /** Each upstream group's loss on held-out data after pre-training, with the group's reference loss (engine/pretrain/held-out.ts). */
    readonly heldOut: {
      readonly groups: readonly string[];
      readonly losses: readonly number[];
      readonly references: readonly number[];
      readonly examples: readonly number[];
    } | null;
  } | null;
  readonly finetune: readonly { readonly task: string; readonly labelsPerClass: number | null; readonly seconds: number; readonly trainAccuracy: number }[];
  readonly evaluate: {
    readonly tasks: readonly { readonly task: string; readonly labelsPerClass: number | null; readonly accuracy: number; readonly examples: number }[];
    readonly average: number;
    readonly worst: number;
    readonly worstTask: string;
  } | null;
  readonly certify: {
    readonly task: string;
    readonly sigmas: readonly number[];
    readonly radii: readonly number[];
    readonly rows: readonly { readonly sigma: number; readonly radius: number; readonly certifiedAccuracy: number }[];
    /** Fraction of points that abstained, one per sigma. */
    readonly abstainRate: readonly number[];
    /** Noisy forward passes (n0 + estimation draws, over all points), one per sigma; absent in runs before it was recorded. */
    readonly passes?: readonly number[];
    readonly seconds: number;
    readonly points: number;
  } | null;
}
