/**
 * The resolvers of the seven builder calls, shared by the builder and `fromJSON`: each `resolve*` function takes what the user
 * passed to one builder call (plus the Spec built so far, for checks that span calls), rejects
 * anything invalid with a one-line DslError, and returns the Spec section with every default
 * filled in. The builder and `fromJSON` both go through these functions and nothing else, so a
 * JSON Spec is accepted exactly when the same chain of calls would be.
 */
import {
  DATASETS,
  DOWNSTREAM_TASKS,
  POS_GROUPS,
  type DatasetName,
  type Modality,
  type PosGroup,
  type SplitBy,
} from '../datasets/catalog.js';
import {
  CERTIFY_DEFAULTS,
  DEFAULT_DATASET,
  DEFAULT_SPLIT_BY,
  EVALUATE_DEFAULTS,
  FINETUNE_DEFAULTS,
  MINIMAX_DEFAULTS,
  MODEL_MODALITY,
  PRETRAIN_DEFAULTS,
} from './defaults.js';
import { bool, checkOptions, integer, oneOf, orDefault, quoteList, real, withArticle, closest } from './checks.js';
import { DslError } from './errors.js';
import type {
  CertifySpec,
  EvaluateSpec,
  FinetuneSpec,
  MinimaxSpec,
  ModelName,
  NoiseSpec,
  PretrainSpec,
  Spec,
  SplitTasksSpec,
} from './spec.js';

/** Largest Gaussian sigma accepted (pixels live in [0, 1], so sigma 4 already drowns the image). */
export const MAX_SIGMA = 4;
/** Mixture weights must sum to 1 within this tolerance. */
export const WEIGHT_SUM_TOLERANCE = 1e-9;
/** Largest conv depth: 28x28 images halve to 14, 7 and 4 pixels. */
export const MAX_IMAGE_DEPTH = 3;

const MODELS = Object.keys(MODEL_MODALITY) as ModelName[];
const SPLIT_BYS: readonly SplitBy[] = ['label', 'cluster', 'pos', 'noise'];

// ---------------------------------------------------------------- the builder calls

export function resolvePretrain(raw: unknown): PretrainSpec {
  const o = checkOptions('pretrain(options)', raw, ['dataset', 'model', 'steps', 'batchSize', 'lr', 'seed', 'maskRatio', 'width', 'depth', 'lrSchedule', 'vocabSize', 'groupShares', 'posGroups']);
  const dataset = o.dataset === undefined ? DEFAULT_DATASET : oneOf<DatasetName>('pretrain({ dataset })', 'dataset', o.dataset, Object.keys(DATASETS) as DatasetName[]);
  const modality = DATASETS[dataset].modality;
  const d = PRETRAIN_DEFAULTS[modality];
  const model = o.model === undefined ? d.model : oneOf<ModelName>('pretrain({ model })', 'model', o.model, MODELS);
  if (MODEL_MODALITY[model] !== modality) {
    throw new DslError({
      call: 'pretrain({ model })',
      what: 'model',
      allowed: `${withArticle(modality)} model for the ${modality} data set '${dataset}' ('${d.model}')`,
      value: model,
      hint: `leave model out to get '${d.model}'`,
    });
  }
  const text = modality === 'text';
  const steps = integer('pretrain({ steps })', 'steps', orDefault(o.steps, model === 'raw-pixels' ? 0 : d.steps), 0, 10_000_000, '0 keeps the random initialisation (the untrained control)');
  if (model === 'raw-pixels' && steps !== 0) {
    throw new DslError({ call: 'pretrain({ model, steps })', what: 'steps', allowed: "0 for 'raw-pixels' (it has nothing to train)", value: steps, hint: 'leave steps out' });
  }
  if (text && o.groupShares !== undefined && o.groupShares !== null) {
    throw new DslError({ call: 'pretrain({ groupShares })', what: 'groupShares', allowed: 'null for text (the part-of-speech groups keep their natural shares)', value: o.groupShares });
  }
  if (!text && o.posGroups !== undefined && o.posGroups !== null) {
    throw new DslError({ call: 'pretrain({ posGroups })', what: 'posGroups', allowed: 'null for images (part-of-speech groups belong to text)', value: o.posGroups });
  }
  if (!text && o.vocabSize !== undefined && o.vocabSize !== null) {
    throw new DslError({ call: 'pretrain({ vocabSize })', what: 'vocabSize', allowed: 'null for images (a vocabulary belongs to text)', value: o.vocabSize });
  }
  return {
    dataset,
    model,
    steps,
    batchSize: integer('pretrain({ batchSize })', 'batchSize', orDefault(o.batchSize, d.batchSize), 1, 65_536, 'examples per task per step'),
    lr: real('pretrain({ lr })', 'lr', orDefault(o.lr, d.lr), { gt: 0, le: 1 }, 'Adam learning rate, e.g. 1e-3'),
    seed: integer('pretrain({ seed })', 'seed', orDefault(o.seed, d.seed), 0, 2 ** 32 - 1),
    maskRatio: real('pretrain({ maskRatio })', 'maskRatio', orDefault(o.maskRatio, d.maskRatio), { gt: 0, lt: 1 }, 'the fraction of patches or tokens hidden from the encoder'),
    width: integer('pretrain({ width })', 'width', orDefault(o.width, d.width), text ? 4 : 1, 4096),
    depth: text
      ? integer('pretrain({ depth })', 'depth', orDefault(o.depth, d.depth), 1, 48, 'transformer layers')
      : integer('pretrain({ depth })', 'depth', orDefault(o.depth, d.depth), 1, MAX_IMAGE_DEPTH, '28x28 images halve to 14, 7 and 4 pixels'),
    lrSchedule: o.lrSchedule === undefined ? d.lrSchedule : oneOf('pretrain({ lrSchedule })', 'lrSchedule', o.lrSchedule, ['constant', 'cosine'] as const),
    vocabSize: text ? integer('pretrain({ vocabSize })', 'vocabSize', orDefault(o.vocabSize, d.vocabSize), 16, 1_000_000, 'the most frequent training words plus [PAD] [UNK] [MASK] [CLS]') : null,
    groupShares: o.groupShares === undefined || o.groupShares === null ? null : groupShares(o.groupShares, DATASETS[dataset].maxGroups.label ?? 0),
    posGroups: o.posGroups === undefined || o.posGroups === null ? null : posGroupList(o.posGroups),
  };
}

export function resolveSplitTasks(k: unknown, raw: unknown, spec: Spec): SplitTasksSpec {
  const o = checkOptions('splitTasks(k, options)', raw, ['by']);
  const kk = integer('splitTasks(k)', 'k', k, 2, undefined, 'k counts the representative upstream tasks; leave splitTasks() out for one task');
  const info = DATASETS[spec.pretrain.dataset];
  const by = o.by === undefined ? DEFAULT_SPLIT_BY[info.modality] : oneOf<SplitBy>('splitTasks(k, { by })', 'by', o.by, SPLIT_BYS);
  const supported = Object.keys(info.maxGroups) as SplitBy[];
  if (!supported.includes(by)) {
    throw new DslError({
      call: 'splitTasks(k, { by })',
      what: 'by',
      allowed: `one of ${quoteList(supported)} for the ${info.modality} data set '${info.name}'`,
      value: by,
    });
  }
  if (by === 'noise') {
    if (spec.noise === null) {
      throw new DslError({
        call: 'splitTasks(k, { by })',
        what: 'by',
        allowed: "'noise' only after noise(sigmas)",
        value: by,
        hint: "call .noise([0.25, 0.5, 1]) before .splitTasks(4, { by: 'noise' })",
      });
    }
    checkNoiseTaskCount('splitTasks(k)', kk, spec.noise.sigmas.length);
  }
  if (spec.pretrain.posGroups !== null && by === 'pos') {
    throw new DslError({
      call: 'splitTasks(k, { by })',
      what: 'by',
      allowed: "not 'pos' when pretrain({ posGroups }) already picks the masked groups",
      value: by,
      hint: 'leave posGroups out to split by part of speech, or leave splitTasks out to pre-train on those groups',
    });
  }
  const shares = spec.pretrain.groupShares;
  if (shares !== null && (by === 'cluster' || (by === 'label' && kk !== shares.length))) {
    throw new DslError({
      call: 'splitTasks(k, { by })',
      what: by === 'cluster' ? 'by' : 'k',
      allowed: by === 'cluster' ? "'label' or 'noise' when pretrain({ groupShares }) fixes the label groups' shares" : `${shares.length}, the number of pretrain({ groupShares })`,
      value: by === 'cluster' ? by : kk,
      hint: 'the tasks must be the groups whose shares the pool fixes',
    });
  }
  return { k: kk, by };
}

export function resolveMinimax(eta: unknown, raw: unknown, spec: Spec): MinimaxSpec {
  if (spec.splitTasks === null && spec.noise === null) {
    throw new DslError({
      call: 'minimax(eta)',
      what: 'the pipeline',
      allowed: 'split into tasks first',
      value: undefined,
      shown: 'a single task',
      hint: 'call .splitTasks(k) or .noise(sigmas) before .minimax(eta)',
    });
  }
  const o = checkOptions('minimax(eta, options)', raw, ['method', 'ema', 'losses']);
  return {
    eta: real('minimax(eta)', 'eta', eta, { ge: 0 }, 'eta 0 is average pre-training; larger eta weights the worst task more'),
    method: o.method === undefined ? MINIMAX_DEFAULTS.method : oneOf('minimax(eta, { method })', 'method', o.method, ['softmax', 'group-dro'] as const),
    ema: real('minimax(eta, { ema })', 'ema', orDefault(o.ema, MINIMAX_DEFAULTS.ema), { ge: 0, lt: 1 }, 'smoothing of the task losses; 0 is off'),
    losses: o.losses === undefined ? MINIMAX_DEFAULTS.losses : oneOf('minimax(eta, { losses })', 'losses', o.losses, ['raw', 'relative', 'excess'] as const),
  };
}

export function resolveNoise(sigmas: unknown, raw: unknown, spec: Spec): NoiseSpec {
  requireImages('noise(sigmas)', spec, 'Gaussian noise is added to pixels');
  const o = checkOptions('noise(sigmas, options)', raw, ['weights']);
  const s = sigmaList('noise(sigmas)', sigmas);
  const weights = o.weights === undefined ? Array.from({ length: s.length + 1 }, () => 1 / (s.length + 1)) : mixtureWeights(o.weights, s.length);
  if (spec.splitTasks?.by === 'noise') checkNoiseTaskCount('noise(sigmas)', spec.splitTasks.k, s.length);
  return { sigmas: s, weights };
}

export function resolveFinetune(tasks: unknown, raw: unknown, spec: Spec): FinetuneSpec {
  const o = checkOptions('finetune(tasks, options)', raw, ['steps', 'batchSize', 'lr', 'mode', 'noise', 'maxExamples', 'labelsPerClass']);
  const modality = DATASETS[spec.pretrain.dataset].modality;
  const names = taskList(tasks, modality, spec.pretrain.dataset);
  const noise = augmentationSigmas(o.noise);
  if (noise.some((s) => s > 0) && modality === 'text') {
    throw new DslError({ call: 'finetune(tasks, { noise })', what: 'noise', allowed: '0 for text tasks', value: noise.length === 1 ? noise[0] : noise, hint: 'Gaussian noise is added to pixels' });
  }
  return {
    tasks: names,
    steps: integer('finetune(tasks, { steps })', 'steps', orDefault(o.steps, FINETUNE_DEFAULTS.steps), 1, 10_000_000),
    batchSize: integer('finetune(tasks, { batchSize })', 'batchSize', orDefault(o.batchSize, FINETUNE_DEFAULTS.batchSize), 1, 65_536),
    lr: real('finetune(tasks, { lr })', 'lr', orDefault(o.lr, FINETUNE_DEFAULTS.lr), { gt: 0, le: 1 }),
    mode: o.mode === undefined ? FINETUNE_DEFAULTS.mode : oneOf('finetune(tasks, { mode })', 'mode', o.mode, ['probe', 'full'] as const),
    noise,
    maxExamples: maxExamples('finetune(tasks, { maxExamples })', o.maxExamples),
    labelsPerClass: labelBudgets(o.labelsPerClass, o.maxExamples),
  };
}

export function resolveEvaluate(raw: unknown, spec: Spec): EvaluateSpec {
  requireClassifier('evaluate(options)', spec);
  const o = checkOptions('evaluate(options)', raw, ['maxExamples']);
  return { maxExamples: o.maxExamples === undefined ? EVALUATE_DEFAULTS.maxExamples : maxExamples('evaluate({ maxExamples })', o.maxExamples) };
}

export function resolveCertify(raw: unknown, spec: Spec): CertifySpec {
  requireClassifier('certify(options)', spec);
  requireImages('certify(options)', spec, 'randomized smoothing adds Gaussian noise to pixels');
  const o = checkOptions('certify(options)', raw, ['sigmas', 'n0', 'n', 'alpha', 'radii', 'points', 'sequential']);
  const n0 = integer('certify({ n0 })', 'n0', orDefault(o.n0, CERTIFY_DEFAULTS.n0), 1, 10_000_000, 'noisy draws that choose the top class');
  const n = integer('certify({ n })', 'n', orDefault(o.n, CERTIFY_DEFAULTS.n), 1, 10_000_000, 'noisy draws that bound its probability');
  if (n0 >= n) {
    throw new DslError({ call: 'certify({ n0, n })', what: 'n0', allowed: `smaller than n = ${n}`, value: n0, hint: 'Cohen et al. use n0 = 100, n = 100000' });
  }
  return {
    sigmas: sigmaList('certify({ sigmas })', orDefault(o.sigmas, CERTIFY_DEFAULTS.sigmas)),
    n0,
    n,
    alpha: real('certify({ alpha })', 'alpha', orDefault(o.alpha, CERTIFY_DEFAULTS.alpha), { gt: 0, lt: 0.5 }, 'the guarantee fails with probability at most alpha, e.g. 0.001'),
    radii: radiusList(orDefault(o.radii, CERTIFY_DEFAULTS.radii)),
    points: integer('certify({ points })', 'points', orDefault(o.points, CERTIFY_DEFAULTS.points), 1, 1_000_000, 'test points certified'),
    ...(bool('certify({ sequential })', 'sequential', orDefault(o.sequential, false), 'stop each point early once its certified radius is decided') ? { sequential: true as const } : {}),
  };
}

// ---------------------------------------------------------------- checks that span calls

function requireImages(call: string, spec: Spec, why: string): void {
  const info = DATASETS[spec.pretrain.dataset];
  if (info.modality !== 'image') {
    throw new DslError({ call, what: 'the pre-training data set', allowed: "an image data set ('mnist' or 'fashionMnist')", value: info.name, hint: why });
  }
}

function requireClassifier(call: string, spec: Spec): void {
  if (spec.finetune === null) {
    throw new DslError({
      call,
      what: 'the pipeline',
      allowed: 'fine-tuned to a classifier first',
      value: undefined,
      shown: 'an encoder only',
      hint: "call .finetune('fashion-all') first",
    });
  }
}

function checkNoiseTaskCount(call: string, k: number, sigmaCount: number): void {
  if (k !== sigmaCount + 1) {
    throw new DslError({
      call,
      what: 'k',
      allowed: `${sigmaCount + 1} when the tasks are the noise levels (clean and ${sigmaCount} sigma${sigmaCount === 1 ? '' : 's'})`,
      value: k,
      hint: "splitTasks(k, { by: 'noise' }) needs k = sigmas.length + 1",
    });
  }
}

// ---------------------------------------------------------------- domain checks

/** Noise levels: a non-empty, strictly increasing list of sigmas in (0, MAX_SIGMA]. */
function sigmaList(call: string, value: unknown): readonly number[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > 64) {
    throw new DslError({ call, what: 'sigmas', allowed: 'a non-empty array of at most 64 numbers', value, hint: 'e.g. [0.25, 0.5, 1]' });
  }
  Array.from(value as unknown[]).forEach((s, i) => real(call, `sigmas[${i}]`, s, { gt: 0, le: MAX_SIGMA }, 'a Gaussian standard deviation on pixels in [0, 1]'));
  const s = value as number[];
  for (let i = 1; i < s.length; i++) {
    if (s[i] === s[i - 1]) throw new DslError({ call, what: 'sigmas', allowed: 'free of duplicates', value: s, hint: `remove the repeated ${s[i]}` });
  }
  for (let i = 1; i < s.length; i++) {
    if (s[i]! < s[i - 1]!) {
      const sorted = [...new Set(s)].sort((a, b) => a - b);
      throw new DslError({ call, what: 'sigmas', allowed: 'strictly increasing', value: s, hint: `sort them: [${sorted.join(', ')}]` });
    }
  }
  return [...s];
}

function mixtureWeights(value: unknown, sigmaCount: number): readonly number[] {
  const call = 'noise(sigmas, { weights })';
  if (!Array.isArray(value) || value.length !== sigmaCount + 1) {
    throw new DslError({ call, what: 'weights', allowed: `an array of ${sigmaCount + 1} numbers (clean, then one per sigma)`, value });
  }
  Array.from(value as unknown[]).forEach((w, i) => real(call, `weights[${i}]`, w, { ge: 0, le: 1 }));
  const sum = (value as number[]).reduce((a, b) => a + b, 0);
  if (Math.abs(sum - 1) > WEIGHT_SUM_TOLERANCE) {
    throw new DslError({ call, what: 'the sum of weights', allowed: `1 (within ${WEIGHT_SUM_TOLERANCE})`, value: sum, hint: 'divide each weight by their sum' });
  }
  return [...(value as number[])];
}

export function radiusList(value: unknown): readonly number[] {
  const call = 'certify({ radii })';
  if (!Array.isArray(value) || value.length === 0 || value.length > 1000) {
    throw new DslError({ call, what: 'radii', allowed: 'a non-empty array of numbers', value, hint: 'e.g. [0, 0.25, 0.5, 0.75, 1]' });
  }
  Array.from(value as unknown[]).forEach((r, i) => real(call, `radii[${i}]`, r, { ge: 0 }, 'a certified L2 radius'));
  const r = value as number[];
  for (let i = 1; i < r.length; i++) {
    if (!(r[i]! > r[i - 1]!)) throw new DslError({ call, what: 'radii', allowed: 'strictly increasing', value: r, hint: 'e.g. [0, 0.25, 0.5, 0.75, 1]' });
  }
  return r.map((x) => (Object.is(x, -0) ? 0 : x));
}

function taskList(value: unknown, modality: Modality, dataset: DatasetName): readonly string[] {
  const call = 'finetune(tasks)';
  const names = typeof value === 'string' ? [value] : value;
  const fitting = Object.values(DOWNSTREAM_TASKS).filter((t) => t.modality === modality).map((t) => t.name);
  if (!Array.isArray(names) || names.length === 0) {
    throw new DslError({ call, what: 'tasks', allowed: 'a task name or a non-empty array of task names', value, hint: `${modality} tasks: ${fitting.join(', ')}` });
  }
  names.forEach((name: unknown, i) => {
    const info = typeof name === 'string' ? DOWNSTREAM_TASKS[name] : undefined;
    if (info === undefined || !Object.prototype.hasOwnProperty.call(DOWNSTREAM_TASKS, name as string)) {
      const near = typeof name === 'string' ? closest(name, fitting) : undefined;
      throw new DslError({ call, what: `tasks[${i}]`, allowed: `one of ${quoteList(fitting)}`, value: name, ...(near ? { hint: `did you mean '${near}'?` } : {}) });
    }
    if (info.modality !== modality) {
      throw new DslError({
        call,
        what: `tasks[${i}]`,
        allowed: `${withArticle(modality)} task to follow pre-training on '${dataset}' (${quoteList(fitting)})`,
        value: name,
      });
    }
  });
  const seen = new Set<string>();
  for (const name of names as string[]) {
    if (seen.has(name)) throw new DslError({ call, what: 'tasks', allowed: 'free of duplicates', value: names, hint: `remove the repeated '${name}'` });
    seen.add(name);
  }
  return [...(names as string[])];
}

/** Shares of the label groups in the upstream pool: 2..maxGroups numbers in (0, 1) that sum to 1. */
function groupShares(value: unknown, maxGroups: number): readonly number[] {
  const call = 'pretrain({ groupShares })';
  if (!Array.isArray(value) || value.length < 2 || value.length > maxGroups) {
    throw new DslError({ call, what: 'groupShares', allowed: `an array of 2 to ${maxGroups} shares, one per label group`, value, hint: 'e.g. [0.06, 0.47, 0.47]' });
  }
  Array.from(value as unknown[]).forEach((w, i) => real(call, `groupShares[${i}]`, w, { ge: 0, le: 1 }, '0 leaves the group out'));
  const sum = (value as number[]).reduce((a, b) => a + b, 0);
  if (Math.abs(sum - 1) > WEIGHT_SUM_TOLERANCE) {
    throw new DslError({ call, what: 'the sum of groupShares', allowed: `1 (within ${WEIGHT_SUM_TOLERANCE})`, value: sum, hint: 'divide each share by their sum' });
  }
  return [...(value as number[])];
}

/** Fine-tuning noise: a sigma, 'none' (0), or a list of sigmas (each example draws one); each in [0, MAX_SIGMA]. */
function augmentationSigmas(value: unknown): readonly number[] {
  const call = 'finetune(tasks, { noise })';
  const hint = "Gaussian augmentation sigma; 0 (or 'none') trains on clean inputs, a list draws one sigma per example";
  if (value === undefined) return FINETUNE_DEFAULTS.noise;
  if (value === 'none') return [0];
  if (!Array.isArray(value)) return [real(call, 'noise', value, { ge: 0, le: MAX_SIGMA }, hint)];
  if (value.length === 0 || value.length > 64) throw new DslError({ call, what: 'noise', allowed: 'a sigma or a non-empty array of at most 64 sigmas', value, hint: 'e.g. [0.25, 0.5, 1]' });
  return (value as unknown[]).map((s, i) => real(call, `noise[${i}]`, s, { ge: 0, le: MAX_SIGMA }, hint));
}

/** Part-of-speech groups: a non-empty list of distinct POS_GROUPS names. */
function posGroupList(value: unknown): readonly PosGroup[] {
  const call = 'pretrain({ posGroups })';
  if (!Array.isArray(value) || value.length === 0) {
    throw new DslError({ call, what: 'posGroups', allowed: `a non-empty array of ${quoteList(POS_GROUPS)}`, value, hint: "e.g. ['verb']" });
  }
  const groups = (value as unknown[]).map((g, i) => oneOf<PosGroup>(call, `posGroups[${i}]`, g, POS_GROUPS));
  if (new Set(groups).size !== groups.length) throw new DslError({ call, what: 'posGroups', allowed: 'free of duplicates', value });
  return groups;
}

/** Label budgets per class: a strictly increasing list of integers >= 1, exclusive with maxExamples. */
function labelBudgets(value: unknown, max: unknown): readonly number[] | null {
  const call = 'finetune(tasks, { labelsPerClass })';
  if (value === undefined || value === null) return null;
  if (max !== undefined && max !== null) {
    throw new DslError({ call, what: 'labelsPerClass', allowed: 'null when maxExamples is given', value, hint: 'give one of maxExamples (examples per task) and labelsPerClass (examples per class)' });
  }
  const list = typeof value === 'number' ? [value] : value;
  if (!Array.isArray(list) || list.length === 0 || list.length > 16) {
    throw new DslError({ call, what: 'labelsPerClass', allowed: 'a number or a non-empty array of at most 16 numbers', value, hint: 'e.g. [10, 50, 500]' });
  }
  list.forEach((n: unknown, i) => integer(call, `labelsPerClass[${i}]`, n, 1, 1_000_000));
  for (let i = 1; i < list.length; i++) {
    if (!((list[i] as number) > (list[i - 1] as number))) throw new DslError({ call, what: 'labelsPerClass', allowed: 'strictly increasing', value: list, hint: 'e.g. [10, 50, 500]' });
  }
  return [...(list as number[])];
}

function maxExamples(call: string, value: unknown): number | null {
  if (value === undefined || value === null) return null;
  return integer(call, 'maxExamples', value, 1, undefined, 'null (or leaving it out) uses every example');
}
