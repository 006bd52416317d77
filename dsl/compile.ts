/**
 * The compiler: walks a (valid) Spec into PlanData for one target. Targets differ only in the
 * choices made here, never in the builder:
 * - 'cpu': evaluation batches of 512, certification passes of up to 1,000 noisy copies,
 *   memory budget 16 GiB;
 * - 'gpu': evaluation batches of 4,096, certification passes of up to 10,000 noisy copies,
 *   memory budget 80 GB;
 * - 'auto': 'gpu' when the environment says ROBUSTLAB_TARGET=gpu, else 'cpu'. Planning never
 *   touches a device, so a GPU plan is made and checked on a laptop.
 * Batch sizes that do not change the result (evaluation, certification) are halved until the stage
 * fits the memory budget; a stage that still does not fit, or whose size the user chose
 * (pre-training, fine-tuning), is refused with a DslError that says what to lower.
 */
import { DATASETS, DOWNSTREAM_TASKS } from '../datasets/catalog.js';
import { contentHash } from './canonical-json.js';
import { modelCost, type ModelCost } from './cost-model.js';
import { DslError } from './errors.js';
import { deepFreeze } from './freeze.js';
import type {
  BackendRequest,
  CertifyStage,
  Estimate,
  EvaluateStage,
  FinetuneStage,
  LoadDataStage,
  PlanData,
  PretrainStage,
  SplitTasksStage,
  Stage,
  Target,
} from './plan-types.js';
import type { Spec } from './spec.js';
import { checkOptions, oneOf, real } from './checks.js';

export interface CompileOptions {
  /** 'cpu' (default via 'auto'), 'gpu', or 'auto' (ROBUSTLAB_TARGET=gpu selects gpu). */
  readonly target?: Target | 'auto';
  /** Peak bytes any stage may need; default 80e9 for gpu, 16 GiB for cpu. */
  readonly memoryBudget?: number;
  /** Backend to ask the engine for; default 'auto' (the fastest present). A gpu target needs 'tensorflow' or 'auto'. */
  readonly backend?: BackendRequest;
}

/** Per-target choices. */
export const TARGET_PROFILES: Readonly<Record<Target, { readonly memoryBudget: number; readonly evalBatch: number; readonly certifyBatch: number }>> = {
  cpu: { memoryBudget: 16 * 2 ** 30, evalBatch: 512, certifyBatch: 1000 },
  gpu: { memoryBudget: 80e9, evalBatch: 4096, certifyBatch: 10_000 },
};

/** k-means iterations the cost model assumes for a split by cluster. */
const KMEANS_ITERATIONS = 10;

export function compileSpec(spec: Spec, raw: unknown): PlanData {
  const o = checkOptions('compile(options)', raw, ['target', 'memoryBudget', 'backend']);
  const target = resolveTarget(o.target);
  const backend = o.backend === undefined ? 'auto' : oneOf<BackendRequest>('compile({ backend })', 'backend', o.backend, ['auto', 'tensorflow', 'wasm', 'cpu']);
  if (target === 'gpu' && (backend === 'wasm' || backend === 'cpu')) {
    throw new DslError({
      call: 'compile({ target, backend })',
      what: 'backend',
      allowed: "'tensorflow' or 'auto' for the gpu target",
      value: backend,
      hint: "the wasm and cpu backends never use a GPU; compile with target 'cpu' to run on them",
    });
  }
  const profile = TARGET_PROFILES[target];
  const memoryBudget = o.memoryBudget === undefined ? profile.memoryBudget : real('compile({ memoryBudget })', 'memoryBudget', o.memoryBudget, { gt: 0 }, 'bytes, e.g. 8e9');
  const call = `compile({ target: '${target}' })`;

  const info = DATASETS[spec.pretrain.dataset];
  const cost = modelCost(spec.pretrain);
  const split = splitTasks(spec);
  if (split.by !== 'none') {
    const max = info.maxGroups[split.by] ?? 0;
    if (split.k > max) {
      throw new DslError({
        call: split.by === 'noise' && spec.splitTasks === null ? 'noise(sigmas)' : 'splitTasks(k)',
        what: split.by === 'noise' ? 'k (clean + one task per sigma)' : 'k',
        allowed: `an integer <= ${max}, the ${split.by} groups '${info.name}' can supply`,
        value: split.k,
        hint: split.by === 'noise' ? `use at most ${max - 1} sigmas` : otherSplits(info.maxGroups, split.by),
      });
    }
  }
  const stages: Stage[] = [loadData(spec), split, pretrain(spec, cost, split.k)];
  if (spec.finetune) stages.push(finetune(spec, cost));
  if (spec.evaluate) stages.push(evaluate(spec, cost, profile.evalBatch, memoryBudget));
  if (spec.certify) stages.push(certify(spec, cost, profile.certifyBatch, memoryBudget));
  for (const stage of stages) checkBudget(call, stage, memoryBudget, spec);

  const totals: Estimate = {
    flops: stages.reduce((a, s) => a + s.estimate.flops, 0),
    peakBytes: Math.max(...stages.map((s) => s.estimate.peakBytes)),
  };
  const data: PlanData = {
    version: 1,
    hash: contentHash({ spec, target, backend, memoryBudget }),
    target,
    backend,
    dtype: 'float32',
    memoryBudgetBytes: memoryBudget,
    seed: spec.pretrain.seed,
    spec,
    stages,
    totals,
  };
  return deepFreeze(data);
}

function resolveTarget(value: unknown): Target {
  const t = value === undefined ? 'auto' : oneOf('compile({ target })', 'target', value, ['gpu', 'cpu', 'auto'] as const);
  if (t !== 'auto') return t;
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.ROBUSTLAB_TARGET;
  if (env === undefined || env === '') return 'cpu';
  return oneOf('compile({ target: \'auto\' }) with the environment variable ROBUSTLAB_TARGET', 'ROBUSTLAB_TARGET', env, ['gpu', 'cpu'] as const);
}

function otherSplits(maxGroups: Readonly<Partial<Record<string, number>>>, by: string): string {
  const others = Object.entries(maxGroups).filter(([b, n]) => b !== by && b !== 'noise' && n !== undefined);
  return others.length > 0 ? `lower k, or split ${others.map(([b, n]) => `by '${b}' (up to ${n})`).join(' or ')}` : 'lower k';
}

// ---------------------------------------------------------------- stages

function loadData(spec: Spec): LoadDataStage {
  const info = DATASETS[spec.pretrain.dataset];
  const elements = info.shape.reduce((a, b) => a * b, 1);
  return {
    kind: 'load-data',
    dataset: info.name,
    vocabSize: spec.pretrain.vocabSize,
    groupShares: spec.pretrain.groupShares,
    posGroups: spec.pretrain.posGroups,
    downstream: spec.finetune?.tasks ?? [],
    // The pre-training split held as float32; downstream sets are the same size or smaller.
    estimate: { flops: 0, peakBytes: 4 * elements * (info.trainCount + info.testCount) },
  };
}

function splitTasks(spec: Spec): SplitTasksStage {
  const info = DATASETS[spec.pretrain.dataset];
  const sigmas = spec.noise?.sigmas ?? [];
  const mixtureWeights = spec.noise?.weights ?? [1];
  const noiseAsTasks = spec.splitTasks === null && spec.noise !== null && spec.minimax !== null;
  const k = spec.splitTasks?.k ?? (noiseAsTasks ? sigmas.length + 1 : 1);
  const by = spec.splitTasks?.by ?? (noiseAsTasks ? 'noise' : 'none');
  const elements = info.shape.reduce((a, b) => a * b, 1);
  const estimate: Estimate =
    by === 'cluster'
      ? { flops: 3 * KMEANS_ITERATIONS * info.trainCount * k * elements, peakBytes: 4 * info.trainCount * (k + 1) + 4 * k * elements }
      : { flops: info.trainCount, peakBytes: 4 * info.trainCount };
  return { kind: 'split-tasks', k, by, sigmas, mixtureWeights, estimate };
}

function pretrain(spec: Spec, cost: ModelCost, k: number): PretrainStage {
  const p = spec.pretrain;
  const examples = k * p.batchSize;
  const m = spec.minimax;
  const average = m === null || m.eta === 0;
  return {
    kind: 'pretrain',
    model: p.model,
    width: p.width,
    depth: p.depth,
    maskRatio: p.maskRatio,
    steps: p.steps,
    batchSize: p.batchSize,
    lr: p.lr,
    lrSchedule: p.lrSchedule,
    optimizer: 'adam',
    // eta = 0 is plain averaging whatever the method and smoothing: one canonical weighting for it.
    weighting: average ? { method: 'average', eta: 0, ema: 0, losses: 'raw' } : { method: m.method, eta: m.eta, ema: m.ema, losses: m.losses },
    checkpointEvery: Math.max(1, Math.ceil(p.steps / 10)),
    parameters: cost.parameters,
    estimate: {
      // 3x forward per example, plus ~10 FLOPs per parameter for the Adam update.
      flops: p.steps * (examples * 3 * cost.forwardFlops + 10 * cost.parameters),
      // Weights, gradients and two Adam moments, plus the step's activations and inputs.
      peakBytes: 16 * cost.parameters + examples * (cost.trainActivationBytes + cost.pretrainInputBytes),
    },
  };
}

function headParameters(cost: ModelCost, task: string): number {
  const classes = DOWNSTREAM_TASKS[task]!.numClasses;
  return cost.featureSize * classes + classes;
}

function finetune(spec: Spec, cost: ModelCost): FinetuneStage {
  const f = spec.finetune!;
  let flops = 0;
  let peakBytes = 0;
  // One classifier per task and label budget.
  for (const task of f.tasks.flatMap((t) => (f.labelsPerClass ?? [null]).map(() => t))) {
    const head = headParameters(cost, task);
    if (f.mode === 'probe') {
      // Frozen encoder: forward only; the head trains (3x its forward).
      flops += f.steps * f.batchSize * (cost.encoderForwardFlops + 6 * head);
      peakBytes = Math.max(peakBytes, 4 * cost.encoderParameters + 16 * head + f.batchSize * (cost.inferenceActivationBytes + cost.inputBytes));
    } else {
      flops += f.steps * f.batchSize * 3 * (cost.encoderForwardFlops + 2 * head);
      peakBytes = Math.max(peakBytes, 16 * (cost.encoderParameters + head) + f.batchSize * (cost.encoderTrainActivationBytes + cost.inputBytes));
    }
  }
  return { kind: 'finetune', ...f, estimate: { flops, peakBytes } };
}

/** Largest power-of-two fraction of `batch` whose peak fits the budget (at least 1). */
function fitBatch(batch: number, budget: number, peak: (b: number) => number): number {
  let b = batch;
  while (b > 1 && peak(b) > budget) b = Math.ceil(b / 2);
  return b;
}

function classifierParameters(spec: Spec, cost: ModelCost): number {
  return cost.encoderParameters + Math.max(...spec.finetune!.tasks.map((t) => headParameters(cost, t)));
}

function evaluate(spec: Spec, cost: ModelCost, targetBatch: number, budget: number): EvaluateStage {
  const tasks = spec.finetune!.tasks;
  const maxExamples = spec.evaluate!.maxExamples;
  // Without a cap, the pre-training data set's test split bounds a downstream test split.
  const examples = maxExamples ?? DATASETS[spec.pretrain.dataset].testCount;
  const params = classifierParameters(spec, cost);
  const peak = (b: number): number => 4 * params + b * (cost.inferenceActivationBytes + cost.inputBytes);
  const batchSize = fitBatch(Math.min(targetBatch, examples), budget, peak);
  const flops = tasks.reduce((a, t) => a + examples * (cost.encoderForwardFlops + 2 * headParameters(cost, t)), 0);
  return { kind: 'evaluate', tasks, maxExamples, batchSize, estimate: { flops, peakBytes: peak(batchSize) } };
}

function certify(spec: Spec, cost: ModelCost, targetBatch: number, budget: number): CertifyStage {
  const c = spec.certify!;
  const task = spec.finetune!.tasks[0]!;
  const params = classifierParameters(spec, cost);
  // Each pass holds the clean input, its noise and the noisy copies' activations.
  const peak = (b: number): number => 4 * params + b * (cost.inferenceActivationBytes + 2 * cost.inputBytes);
  const batchSize = fitBatch(Math.min(targetBatch, c.n), budget, peak);
  // At most: sequential CERTIFY stops most points before n.
  const draws = c.points * c.sigmas.length * (c.n0 + c.n);
  const flops = draws * (cost.encoderForwardFlops + 2 * headParameters(cost, task) + cost.inputBytes / 4);
  return {
    kind: 'certify',
    task,
    sigmas: c.sigmas,
    n0: c.n0,
    n: c.n,
    alpha: c.alpha,
    radii: c.radii,
    points: c.points,
    ...(c.sequential ? { sequential: true as const } : {}),
    batchSize,
    noiseOnDevice: true,
    estimate: { flops, peakBytes: peak(batchSize) },
  };
}

// ---------------------------------------------------------------- memory

function checkBudget(call: string, stage: Stage, budget: number, spec: Spec): void {
  if (stage.estimate.peakBytes <= budget) return;
  const p = spec.pretrain;
  const hints: Record<Stage['kind'], string> = {
    'load-data': 'raise memoryBudget',
    'split-tasks': "use fewer clusters, split by 'label', or raise memoryBudget",
    pretrain: `lower pretrain batchSize (${p.batchSize} per task), width (${p.width}) or depth (${p.depth}), or raise memoryBudget`,
    finetune: `lower finetune batchSize (${spec.finetune?.batchSize}), use mode 'probe', or raise memoryBudget`,
    evaluate: 'even one example per batch does not fit: lower width or depth, or raise memoryBudget',
    certify: 'even one noisy copy per pass does not fit: lower width or depth, or raise memoryBudget',
  };
  throw new DslError({
    call,
    what: `the estimated peak memory of stage '${stage.kind}'`,
    allowed: `<= the memory budget ${formatBytes(budget)}`,
    value: stage.estimate.peakBytes,
    shown: formatBytes(stage.estimate.peakBytes),
    hint: hints[stage.kind],
  });
}

/** Bytes in decimal units, as memory budgets are quoted: '95.3 GB', '512.0 MB'. */
export function formatBytes(bytes: number): string {
  if (bytes >= 1e12) return `${(bytes / 1e12).toFixed(1)} TB`;
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(1)} GB`;
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(1)} MB`;
  if (bytes >= 1e3) return `${(bytes / 1e3).toFixed(1)} kB`;
  return `${bytes} B`;
}
