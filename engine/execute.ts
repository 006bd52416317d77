/**
 * Runs a Plan stage by stage: load data -> split tasks -> pretrain -> finetune -> evaluate -> certify,
 * in runs/<plan-hash>/ (run-store.ts). A finished plan returns its stored result at once; an
 * interrupted one resumes from its checkpoints and stored rows. The engine sees only PlanData.
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { CertifyStage, FinetuneStage, PlanData, PretrainStage, RunOptions, RunResult, SplitTasksStage } from '../dsl/plan-types.js';
import { DATASETS, type ImageDatasetName } from '../datasets/catalog.js';
import { imageTaskGroups, loadDownstreamTask, loadImageSet, loadMlmCorpus } from '../datasets/index.js';
import { writeFileAtomic } from './atomic-file.js';
import { initBackend, describeBackend } from './backend.js';
import { loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import { certifyDataset, certifiedAccuracy, abstainRate } from './certify-dataset.js';
import { classifierLogits, createHead, featureDim, type Classifier, type PretrainedModel } from './classifier.js';
import { EngineError } from './errors.js';
import { evaluateClassifier, finetune, type DownstreamTensors } from './finetune.js';
import { createImageUpstream, imagesToDevice } from './image-upstream.js';
import { createMaskedImageModel } from './models/masked-image-conv.js';
import { createMaskedTokenModel } from './models/masked-token-transformer.js';
import { cloneParameters, disposeParameters, loadParameters, param, saveParameters, type Parameters } from './parameters.js';
import { pretrain } from './pretrain.js';
import { consoleProgress, type ProgressSink } from './progress.js';
import { projectRoot } from './project-root.js';
import { SeededRandom } from './random.js';
import { acquireRunLock, prepareRunDir, removeStaleTempFiles, runPaths } from './run-store.js';
import { createTextUpstream } from './text-upstream.js';
import type { Upstream } from './upstream.js';

export interface EngineRunOptions extends RunOptions {
  readonly onProgress?: ProgressSink;
  /** Stop pre-training after this step (kill-and-resume tests). */
  readonly stopAfterStep?: number;
}

function stage<K extends PlanData['stages'][number]['kind']>(plan: PlanData, kind: K): Extract<PlanData['stages'][number], { kind: K }> | undefined {
  return plan.stages.find((s) => s.kind === kind) as Extract<PlanData['stages'][number], { kind: K }> | undefined;
}

export function defaultRunsDir(): string {
  return process.env['ROBUSTLAB_RUNS_DIR'] ?? join(projectRoot(), 'runs');
}

export async function runPlan(plan: PlanData, options: EngineRunOptions = {}): Promise<RunResult> {
  const t0 = performance.now();
  const runDir = join(options.runsDir ?? defaultRunsDir(), plan.hash);
  const paths = runPaths(runDir);
  const log = (line: string) => {
    if (!options.quiet) process.stderr.write(line + '\n');
  };
  if (options.resume !== false && existsSync(paths.results)) {
    const stored = JSON.parse(readFileSync(paths.results, 'utf8')) as RunResult;
    log(`[run ${plan.hash}] complete already: ${paths.results}`);
    return { ...stored, cached: true };
  }
  if (options.resume === false && existsSync(runDir)) {
    // Starting over never deletes what a user produced: the old run directory is kept beside the new one.
    acquireRunLock(runDir).release();
    const aside = `${runDir}.replaced-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    renameSync(runDir, aside);
    log(`[run ${plan.hash}] starting over; the previous run directory is kept as ${aside}`);
  }
  const backend = await initBackend(plan.backend === 'auto' ? undefined : plan.backend);
  log(`[run ${plan.hash}] ${describeBackend(backend)}`);
  prepareRunDir(runDir, JSON.stringify(plan, null, 2) + '\n');
  const lock = acquireRunLock(runDir);
  for (const path of removeStaleTempFiles(runDir)) log(`[run ${plan.hash}] removed ${path}, left by a process killed mid-write`);
  const progress = options.onProgress ?? (options.quiet || options.progress === false ? undefined : consoleProgress());
  const disposers: (() => void)[] = [];
  try {
    const pre = stage(plan, 'pretrain')!;
    const split = stage(plan, 'split-tasks')!;
    const info = DATASETS[plan.spec.pretrain.dataset];
    const rng = new SeededRandom(plan.seed, 1);

    // load-data + split-tasks + model
    const { model, upstream } = info.modality === 'image' ? buildImage(plan, pre, split, rng) : buildText(plan, pre, split, rng);
    disposers.push(() => upstream.dispose(), () => disposeParameters(model.params));
    log(`[run ${plan.hash}] ${upstream.k} upstream task(s): ${upstream.taskNames.map((n, i) => `${n} (${upstream.taskSizes[i]})`).join(', ')}`);

    // pretrain
    const outcome = await pretrain({
      params: model.params,
      upstream,
      weighting: pre.weighting,
      steps: pre.steps,
      lr: pre.lr,
      seed: plan.seed,
      checkpointPath: paths.checkpoint,
      checkpointEvery: pre.checkpointEvery,
      metricsPath: paths.metrics,
      ...(progress ? { onProgress: progress } : {}),
      ...(options.stopAfterStep !== undefined ? { stopAfter: options.stopAfterStep } : {}),
    });
    if (outcome.steps < pre.steps) {
      throw new EngineError(`pre-training stopped at step ${outcome.steps} of ${pre.steps} (stopAfterStep); run the plan again to resume`);
    }
    upstream.dispose();
    const finetuned: { task: string; seconds: number; trainAccuracy: number }[] = [];
    let evaluated: RunResult['evaluate'] = null;
    let certified: RunResult['certify'] = null;

    // finetune + evaluate
    const ft = stage(plan, 'finetune');
    const ev = stage(plan, 'evaluate');
    const classifiers = new Map<string, Classifier>();
    if (ft) {
      const evalRows: { task: string; accuracy: number; examples: number }[] = [];
      for (const task of ft.tasks) {
        const data = downstreamTensors(plan, task, ft, ev?.maxExamples ?? null, model);
        try {
          const { classifier, trainAccuracy, seconds } = await finetuneOrLoad(plan, ft, model, data, paths.classifier(task), progress);
          classifiers.set(task, classifier);
          finetuned.push({ task, seconds, trainAccuracy });
          if (ev) {
            const r = await evaluateClassifier(classifier, data, ev.maxExamples);
            evalRows.push({ task, ...r });
            log(`[evaluate] ${task}: accuracy ${(r.accuracy * 100).toFixed(2)}% on ${r.examples} test examples`);
          }
        } finally {
          tf.dispose([data.xTrain, data.xTest]);
        }
      }
      if (ev && evalRows.length) {
        const worst = evalRows.reduce((a, b) => (b.accuracy < a.accuracy ? b : a));
        evaluated = {
          tasks: evalRows,
          average: evalRows.reduce((s, r) => s + r.accuracy, 0) / evalRows.length,
          worst: worst.accuracy,
          worstTask: worst.task,
        };
      }
    }

    // certify
    const cs = stage(plan, 'certify');
    if (cs) {
      const classifier = classifiers.get(cs.task);
      if (!classifier) throw new Error(`certify: no classifier for ${cs.task}`);
      certified = await certifyClassifier({ ...cs, seed: plan.seed }, classifier, paths.certifyTsv, progress, log);
    }
    for (const c of classifiers.values()) if (c.encoder !== model.params) disposeParameters(c.encoder);
    for (const c of classifiers.values()) disposeParameters(c.head);
    const done: RunResult = {
      hash: plan.hash,
      runDir,
      backend: backend.name,
      cached: false,
      seconds: (performance.now() - t0) / 1000,
      pretrain: {
        steps: outcome.steps,
        seconds: outcome.seconds,
        taskNames: [...outcome.taskNames],
        finalTaskLosses: [...outcome.finalTaskLosses],
        finalWeights: [...outcome.finalWeights],
      },
      finetune: finetuned,
      evaluate: evaluated,
      certify: certified,
    };
    writeFileAtomic(paths.results, JSON.stringify(done, null, 2) + '\n');
    log(`[run ${plan.hash}] done in ${done.seconds.toFixed(1)} s: ${paths.results}`);
    return done;
  } finally {
    for (const d of disposers.reverse()) {
      try {
        d();
      } catch {
        // already disposed
      }
    }
    lock.release();
  }
}

export function imageModelConfig(pre: Pick<PretrainStage, 'width' | 'depth'>) {
  return { height: 28, width: 28, channels: pre.width, depth: pre.depth, featureDim: 4 * pre.width, patch: 4 };
}

function buildImage(plan: PlanData, pre: PretrainStage, split: SplitTasksStage, rng: SeededRandom): { model: PretrainedModel; upstream: Upstream } {
  const set = loadImageSet(plan.spec.pretrain.dataset as ImageDatasetName);
  const model = createMaskedImageModel(imageModelConfig(pre), rng);
  const all = Int32Array.from({ length: set.train.count }, (_, i) => i);
  let pools: Int32Array[];
  let taskNames: string[];
  let taskSigmas: number[] | null = null;
  let mixture: { sigmas: number[]; weights: number[] } | null = split.sigmas.length ? { sigmas: [...split.sigmas], weights: [...split.mixtureWeights] } : null;
  if (split.by === 'noise') {
    taskSigmas = [0, ...split.sigmas];
    pools = taskSigmas.map(() => all);
    taskNames = taskSigmas.map((s) => (s === 0 ? 'clean' : `sigma=${s}`));
    mixture = null;
  } else if (split.by === 'label' || split.by === 'cluster') {
    const groups = imageTaskGroups(set, { k: split.k, by: split.by, seed: plan.seed });
    pools = groups.groupNames.map((_: string, g: number) => Int32Array.from(all.filter((i) => groups.train[i] === g)));
    taskNames = [...groups.groupNames];
  } else {
    pools = [all];
    taskNames = ['all images'];
  }
  const upstream = createImageUpstream({
    set,
    model,
    pools,
    taskNames,
    taskSigmas,
    mixture,
    batchSize: pre.batchSize,
    maskRatio: pre.maskRatio,
    seed: plan.seed,
  });
  return { model, upstream };
}

function buildText(plan: PlanData, pre: PretrainStage, split: SplitTasksStage, rng: SeededRandom): { model: PretrainedModel; upstream: Upstream } {
  const corpus = loadMlmCorpus({ seqLen: DATASETS.brown.shape[0]! });
  const heads = Math.max(1, Math.floor(pre.width / 32));
  const model = createMaskedTokenModel(
    { vocabSize: corpus.vocab.size, seqLen: corpus.seqLen, width: pre.width, depth: pre.depth, heads: pre.width % heads === 0 ? heads : 1, padId: corpus.vocab.PAD },
    rng,
  );
  const upstream = createTextUpstream({
    train: corpus.train,
    seqLen: corpus.seqLen,
    padId: corpus.vocab.PAD,
    maskId: corpus.vocab.MASK,
    model,
    k: split.by === 'pos' ? split.k : 1,
    batchSize: pre.batchSize,
    maskRatio: pre.maskRatio,
  });
  return { model, upstream };
}

function downstreamTensors(plan: PlanData, task: string, ft: FinetuneStage, maxTest: number | null, model: PretrainedModel): DownstreamTensors {
  const seqLen = model.kind === 'masked-token-transformer' ? model.config.seqLen : undefined;
  const d = loadDownstreamTask(task, {
    ...(ft.maxExamples !== null ? { maxTrain: ft.maxExamples } : {}),
    ...(maxTest !== null ? { maxTest } : {}),
    seed: plan.seed,
    ...(seqLen !== undefined ? { seqLen } : {}),
  });
  if (d.kind === 'image') {
    return {
      task,
      numClasses: d.numClasses,
      xTrain: imagesToDevice(d.train.images, d.train.count, 28, 28),
      yTrain: Int32Array.from(d.train.labels),
      xTest: imagesToDevice(d.test.images, d.test.count, 28, 28),
      yTest: Int32Array.from(d.test.labels),
    };
  }
  return {
    task,
    numClasses: d.numClasses,
    xTrain: tf.tensor2d(d.train.tokens, [d.train.count, d.seqLen], 'int32'),
    yTrain: Int32Array.from(d.train.labels),
    xTest: tf.tensor2d(d.test.tokens, [d.test.count, d.seqLen], 'int32'),
    yTest: Int32Array.from(d.test.labels),
  };
}

interface ClassifierMeta {
  task: string;
  mode: 'probe' | 'full';
  numClasses: number;
  trainAccuracy: number;
  seconds: number;
}

async function finetuneOrLoad(
  plan: PlanData,
  ft: FinetuneStage,
  model: PretrainedModel,
  data: DownstreamTensors,
  path: string,
  progress: ProgressSink | undefined,
): Promise<{ classifier: Classifier; trainAccuracy: number; seconds: number }> {
  if (existsSync(path)) {
    const { classifier, meta } = loadClassifier(path, model);
    return { classifier, trainAccuracy: meta.trainAccuracy, seconds: meta.seconds };
  }
  const out = await finetune({
    model,
    data,
    mode: ft.mode,
    steps: ft.steps,
    batchSize: ft.batchSize,
    lr: ft.lr,
    noise: ft.noise,
    seed: plan.seed,
    ...(progress ? { onProgress: progress } : {}),
  });
  const tensors = [...(await saveParameters(out.classifier.head)), ...(ft.mode === 'full' ? await saveParameters(out.classifier.encoder, 'enc:') : [])];
  const meta: ClassifierMeta = { task: data.task, mode: ft.mode, numClasses: data.numClasses, trainAccuracy: out.trainAccuracy, seconds: out.seconds };
  saveCheckpoint(path, tensors, meta);
  return out;
}

/** A stored classifier on top of `model` (whose pre-trained parameters must already be loaded). */
export function loadClassifier(path: string, model: PretrainedModel): { classifier: Classifier; meta: ClassifierMeta } {
  const ck = loadCheckpoint<ClassifierMeta>(path);
  const head = createHead(ck.meta.numClasses, featureDim(model), new SeededRandom(0));
  loadParameters(head, ck.tensors);
  let encoder: Parameters = model.params;
  if (ck.meta.mode === 'full') {
    encoder = cloneParameters(new Map(model.encoderNames.map((n) => [n, param(model.params, n)])));
    loadParameters(encoder, ck.tensors, 'enc:');
  }
  return { classifier: { task: ck.meta.task, numClasses: ck.meta.numClasses, model, encoder, head }, meta: ck.meta };
}

export type CertifySettings = Pick<CertifyStage, 'task' | 'sigmas' | 'n0' | 'n' | 'alpha' | 'radii' | 'points' | 'batchSize'> & { readonly seed: number };

/**
 * Certifies `classifier` on the first `points` of a seeded permutation of the task's test split at each
 * sigma, streaming rows to `tsvPath(task, sigma)` (resumable), and returns certified accuracy by radius.
 */
export async function certifyClassifier(
  cs: CertifySettings,
  classifier: Classifier,
  tsvPath: (task: string, sigma: number) => string,
  progress: ProgressSink | undefined,
  log: (line: string) => void,
): Promise<NonNullable<RunResult['certify']>> {
  const t0 = performance.now();
  const plan = { seed: cs.seed };
  const d = loadDownstreamTask(cs.task, { seed: plan.seed });
  if (d.kind !== 'image') throw new EngineError(`certify: task ${cs.task} is not an image task`);
  const inputs = new Float32Array(d.test.images.length);
  for (let i = 0; i < inputs.length; i++) inputs[i] = d.test.images[i]! / 255;
  const order = new SeededRandom(plan.seed, 13).shuffle(Int32Array.from({ length: d.test.count }, (_, i) => i));
  const indices = order.subarray(0, Math.min(cs.points, d.test.count));
  const f = (x: tf.Tensor) => classifierLogits(classifier, x);
  const rows: { sigma: number; radius: number; certifiedAccuracy: number }[] = [];
  const abstain: number[] = [];
  for (const sigma of cs.sigmas) {
    const started = performance.now();
    mkdirSync(dirname(tsvPath(cs.task, sigma)), { recursive: true });
    const points = await certifyDataset({
      f,
      inputs,
      inputShape: [28, 28, 1],
      labels: d.test.labels,
      indices: Array.from(indices),
      sigma,
      n0: cs.n0,
      n: cs.n,
      alpha: cs.alpha,
      batchSize: cs.batchSize,
      numClasses: d.numClasses,
      seed: plan.seed,
      tsvPath: tsvPath(cs.task, sigma),
      onPoint: (row: unknown, done: number) => {
        if (progress && (done % 10 === 0 || done === indices.length)) {
          const secs = (performance.now() - started) / 1000;
          progress({ stage: 'certify', label: `sigma=${sigma}`, step: done, total: indices.length, perSecond: done / secs, etaSeconds: ((indices.length - done) * secs) / done, fields: {} });
        }
        void row;
      },
    });
    const acc = certifiedAccuracy(points, cs.radii);
    cs.radii.forEach((r, i) => rows.push({ sigma, radius: r, certifiedAccuracy: acc[i]! }));
    abstain.push(abstainRate(points));
    log(`[certify] sigma=${sigma}: certified accuracy ${cs.radii.map((r, i) => `r=${r}: ${(acc[i]! * 100).toFixed(1)}%`).join(', ')}`);
  }
  return { task: cs.task, sigmas: [...cs.sigmas], radii: [...cs.radii], rows, abstainRate: abstain, seconds: (performance.now() - t0) / 1000, points: indices.length };
}
