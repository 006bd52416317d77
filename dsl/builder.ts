/**
 * The fluent pipeline builder: `pretrain().splitTasks(k).minimax(eta).noise([...]).finetune(...).certify(...)`.
 *
 * Immutable: each call validates its arguments (dsl/validate.ts), returns a new frozen builder
 * holding a new deep-frozen Spec, and leaves the builder it was called on unchanged, so a base
 * pipeline forks into variants without aliasing. A call on an existing section replaces it.
 *
 * Type-state: the type parameter records what the pipeline has so far. `minimax()` exists only
 * once there are tasks to take a max over (`splitTasks()` or `noise()`); `evaluate()` and
 * `certify()` exist only once `finetune()` has made a classifier. The same rules are checked at
 * run time for JavaScript callers and for `fromJSON`.
 */
import type { DatasetName, PosGroup, SplitBy } from '../datasets/catalog.js';
import { compileSpec, type CompileOptions } from './compile.js';
import { deepFreeze } from './freeze.js';
import { Plan } from './plan.js';
import { specFromJSON } from './spec-json.js';
import { initialSpec, type ModelName, type Spec } from './spec.js';
import {
  resolveCertify,
  resolveEvaluate,
  resolveFinetune,
  resolveMinimax,
  resolveNoise,
  resolvePretrain,
  resolveSplitTasks,
} from './validate.js';

/**
 * `pretrain()` options. Defaults (dsl/defaults.ts) depend on the data set's modality:
 * images: model 'masked-image-conv', steps 300, batchSize 64, lr 1e-3, maskRatio 0.5, width 32, depth 2;
 * text: model 'masked-token-transformer', steps 300, batchSize 32, lr 1e-3, maskRatio 0.15, width 64, depth 2.
 * seed defaults to 0.
 */
export interface PretrainOptions {
  /** 'mnist' | 'fashionMnist' | 'brown'; default 'fashionMnist'. */
  readonly dataset?: DatasetName;
  /** Must read the data set's modality; default by modality. */
  readonly model?: ModelName;
  /** Optimizer steps, integer in [0, 1e7]; 0 keeps the random initialisation (the untrained control). */
  readonly steps?: number;
  /** Examples per task per step, integer in [1, 65536]. */
  readonly batchSize?: number;
  /** Adam learning rate in (0, 1]. */
  readonly lr?: number;
  /** Integer in [0, 2^32 - 1]. */
  readonly seed?: number;
  /** Fraction masked, in (0, 1). */
  readonly maskRatio?: number;
  /** Channels of the first conv block (images) or model dimension (text, >= 4). */
  readonly width?: number;
  /** Down-sampling conv blocks (1-3) or transformer layers (1-48). */
  readonly depth?: number;
  /** Default 'constant'; 'cosine' warms up over 5% of the steps, then decays to 0. */
  readonly lrSchedule?: 'constant' | 'cosine';
  /** Text only: vocabulary size, default 8000. */
  readonly vocabSize?: number | null;
  /** Images only: the upstream pool's share of each label group, e.g. [0.06, 0.47, 0.47]; default null (as it is). */
  readonly groupShares?: readonly number[] | null;
  /** Text only, without splitTasks: the part-of-speech groups whose tokens are masked, e.g. ['verb']; default null (any token). */
  readonly posGroups?: readonly PosGroup[] | null;
}

export interface SplitTasksOptions {
  /** Default 'label' for images, 'pos' for text; 'noise' (noise levels as tasks) only after noise(). */
  readonly by?: SplitBy;
}

export interface MinimaxOptions {
  /** Default 'softmax' (p = softmax(eta * l)); 'group-dro' is the exponentiated-gradient baseline. */
  readonly method?: 'softmax' | 'group-dro';
  /** EMA factor in [0, 1) applied to the task losses before weighting; default 0.9 (0 is off). */
  readonly ema?: number;
  /** What the weights see: 'raw' losses (the paper), 'relative' to the task's loss at initialisation (default), or 'excess' over a per-task reference. */
  readonly losses?: 'raw' | 'relative' | 'excess';
}

export interface NoiseOptions {
  /** Mixture weights over [clean, ...sigmas], each >= 0, summing to 1; default uniform. */
  readonly weights?: readonly number[];
}

export interface FinetuneOptions {
  /** Default 200. */
  readonly steps?: number;
  /** Default 64. */
  readonly batchSize?: number;
  /** Default 1e-3. */
  readonly lr?: number;
  /** Default 'probe' (linear head on the frozen encoder); 'full' trains the encoder too. */
  readonly mode?: 'probe' | 'full';
  /** Gaussian augmentation sigma in [0, 4], or a list (each example draws one); default 0 ('none' is the same as 0). Images only. */
  readonly noise?: number | readonly number[] | 'none';
  /** Training examples per task; default null (all). */
  readonly maxExamples?: number | null;
  /** Label budgets: one classifier per task and budget, trained on this many examples of each class, e.g. [10, 50, 500]; default null. */
  readonly labelsPerClass?: number | readonly number[] | null;
}

export interface EvaluateOptions {
  /** Test examples per task; default null (the whole test split). */
  readonly maxExamples?: number | null;
}

/**
 * Randomized-smoothing certification (Cohen et al. 2019). Defaults: sigmas [0.25, 0.5, 1],
 * n0 100, n 1000, alpha 0.001, radii [0, 0.25, 0.5, 0.75, 1], points 100. Images only.
 */
export interface CertifyOptions {
  /** Strictly increasing, each in (0, 4]. */
  readonly sigmas?: readonly number[];
  /** Draws that choose the top class; integer >= 1 and < n. */
  readonly n0?: number;
  /** Draws that bound its probability; integer >= 1. */
  readonly n?: number;
  /** Failure probability of the guarantee, in (0, 0.5). */
  readonly alpha?: number;
  /** Radii at which certified accuracy is reported: >= 0, strictly increasing. */
  readonly radii?: readonly number[];
  /** Test points certified, integer >= 1. */
  readonly points?: number;
  /**
   * Sequential CERTIFY (default false): draw the n estimation draws in looks (100, 200, 400, ..., n) and stop a
   * point once more draws cannot change where it counts in certified accuracy at `radii` (a point whose selected
   * class is not its label takes none); alpha is split over the looks, so the 1 - alpha guarantee holds.
   * 3.6x fewer noisy passes on the certified experiment's models, certified accuracy within 1 point.
   */
  readonly sequential?: boolean;
}

/** What a pipeline has so far: 'tasks' (from splitTasks or noise), 'classifier' (from finetune). */
export type Capability = 'tasks' | 'classifier';

export interface PipelineCore<C extends Capability> {
  /** Partition the upstream objective into k representative tasks (k >= 2). */
  splitTasks(k: number, options?: SplitTasksOptions): Pipeline<C | 'tasks'>;
  /** Pre-train on a mixture of clean inputs and Gaussian noise at each sigma (images only). */
  noise(sigmas: readonly number[], options?: NoiseOptions): Pipeline<C | 'tasks'>;
  /** Fit a classifier for each downstream task (names from DOWNSTREAM_TASKS, same modality). */
  finetune(tasks: string | readonly string[], options?: FinetuneOptions): Pipeline<C | 'classifier'>;
  /** The plain, deep-frozen Spec: every default resolved. */
  toSpec(): Spec;
  /** Same as toSpec(): `JSON.stringify(pipeline)` writes the Spec. */
  toJSON(): Spec;
  /** Resolve the pipeline into an execution Plan for a target (never touches a device). */
  compile(options?: CompileOptions): Plan;
}

export interface PipelineWithTasks<C extends Capability> {
  /** Softmax-weighted minimax over the tasks; eta = 0 is average pre-training. */
  minimax(eta: number, options?: MinimaxOptions): Pipeline<C>;
}

export interface PipelineWithClassifier<C extends Capability> {
  /** Evaluate every fine-tuned task: per-task accuracy, average and worst. */
  evaluate(options?: EvaluateOptions): Pipeline<C>;
  /** Certify the first fine-tuned task's classifier by randomized smoothing (images only). */
  certify(options?: CertifyOptions): Pipeline<C>;
}

/** A pipeline whose available methods follow from what it has (see the file comment). */
export type Pipeline<C extends Capability = never> = PipelineCore<C> &
  ('tasks' extends C ? PipelineWithTasks<C> : unknown) &
  ('classifier' extends C ? PipelineWithClassifier<C> : unknown);

/** A pipeline loaded from data: its capabilities are known only at run time, where they are checked. */
export type LoadedPipeline = Pipeline<Capability>;

class PipelineBuilder {
  readonly spec: Spec;

  constructor(spec: Spec) {
    this.spec = deepFreeze(spec);
    Object.freeze(this);
  }

  private with(change: Partial<Spec>): PipelineBuilder {
    return new PipelineBuilder({ ...this.spec, ...change });
  }

  splitTasks(k: unknown, options?: unknown): PipelineBuilder {
    return this.with({ splitTasks: resolveSplitTasks(k, options, this.spec) });
  }

  noise(sigmas: unknown, options?: unknown): PipelineBuilder {
    return this.with({ noise: resolveNoise(sigmas, options, this.spec) });
  }

  minimax(eta: unknown, options?: unknown): PipelineBuilder {
    return this.with({ minimax: resolveMinimax(eta, options, this.spec) });
  }

  finetune(tasks: unknown, options?: unknown): PipelineBuilder {
    return this.with({ finetune: resolveFinetune(tasks, options, this.spec) });
  }

  evaluate(options?: unknown): PipelineBuilder {
    return this.with({ evaluate: resolveEvaluate(options, this.spec) });
  }

  certify(options?: unknown): PipelineBuilder {
    return this.with({ certify: resolveCertify(options, this.spec) });
  }

  toSpec(): Spec {
    return this.spec;
  }

  toJSON(): Spec {
    return this.spec;
  }

  compile(options?: unknown): Plan {
    return new Plan(compileSpec(this.spec, options));
  }
}

/** Start a pipeline: masked pre-training on a data set (see PretrainOptions for the defaults). */
export function pretrain(options?: PretrainOptions): Pipeline {
  return new PipelineBuilder(initialSpec(resolvePretrain(options))) as unknown as Pipeline;
}

/** Load a pipeline from a Spec (object or JSON text); validated exactly as the builder validates. */
export function fromJSON(json: string | object): LoadedPipeline {
  return new PipelineBuilder(specFromJSON(json)) as unknown as LoadedPipeline;
}

/** Load a pipeline from a Spec value (e.g. one read from a run directory); validated like fromJSON. */
export function fromSpec(spec: Spec): LoadedPipeline {
  return new PipelineBuilder(specFromJSON(spec, 'fromSpec(spec)')) as unknown as LoadedPipeline;
}
