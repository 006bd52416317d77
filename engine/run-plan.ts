/**
 * Runs a Plan stage by stage: load data -> split tasks -> pretrain -> finetune -> evaluate -> certify,
 * in runs/<plan-hash>/ (run-store.ts). A finished plan returns its stored result at once; an
 * interrupted one resumes from its checkpoints and stored rows. The engine sees only PlanData.
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import type { PlanData, RunOptions, RunResult, StageKind } from '../dsl/plan-types.js';
import { writeFileAtomic } from './store/atomic-file.js';
import { initBackend, describeBackend } from './backend/selection.js';
import { certifyClassifier } from './certify/stage.js';
import type { Classifier } from './finetune/classifier.js';
import { finetuneOrLoad } from './finetune/stage.js';
import { downstreamTensors } from './device-data.js';
import { EngineError } from './errors.js';
import { evaluateClassifier } from './finetune/finetune.js';
import { disposeParameters } from './models/parameters.js';
import { heldOutLosses } from './pretrain/held-out.js';
import { lrScheduleOf, pretrain } from './pretrain/loop.js';
import { buildPretraining } from './pretrain/split-tasks.js';
import { consoleProgress, type ProgressSink } from './progress.js';
import { projectRoot } from './project-root.js';
import { SeededRandom } from './random.js';
import { StageClock } from './stage-clock.js';
import { acquireRunLock, prepareRunDir, removeStaleTempFiles, runPaths } from './store/run-store.js';

export interface EngineRunOptions extends RunOptions {
  readonly onProgress?: ProgressSink;
  /** Stop pre-training after this step (kill-and-resume tests). */
  readonly stopAfterStep?: number;
  /**
   * Run the stages up to and including this one, then return what they produced without writing
   * results.json (the worker pool trains a plan as one job and certifies it in shards). load-data and
   * split-tasks run with pretrain; default: every stage.
   */
  readonly through?: StageKind;
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
  const last = options.through === undefined ? plan.stages.length - 1 : plan.stages.findIndex((s) => s.kind === options.through);
  if (last < 0) throw new EngineError(`plan ${plan.hash} has no ${options.through} stage; it has ${plan.stages.map((s) => s.kind).join(', ')}`);
  const reached = (kind: StageKind) => {
    const i = plan.stages.findIndex((s) => s.kind === kind);
    return i >= 0 && i <= last;
  };
  const disposers: (() => void)[] = [];
  const clock = new StageClock();
  try {
    const pre = stage(plan, 'pretrain')!;
    const rng = new SeededRandom(plan.seed, 1);

    // load-data + split-tasks + model
    const pretraining = await clock.time('load-data', () => buildPretraining(plan, rng));
    const { model, upstream } = pretraining;
    disposers.push(() => upstream?.dispose(), () => disposeParameters(model.params));
    if (upstream) log(`[run ${plan.hash}] ${upstream.k} upstream task(s): ${upstream.taskNames.map((n, i) => `${n} (${upstream.taskSizes[i]})`).join(', ')}`);

    // pretrain (nothing to train for the raw-pixels control)
    const outcome = upstream
      ? await clock.time('pretrain', () => pretrain({
          params: model.params,
          upstream,
          weighting: pre.weighting,
          steps: pre.steps,
          lr: pre.lr,
          lrSchedule: lrScheduleOf(pre.lrSchedule, pre.steps),
          seed: plan.seed,
          checkpointPath: paths.checkpoint,
          checkpointEvery: pre.checkpointEvery,
          metricsPath: paths.metrics,
          ...(progress ? { onProgress: progress } : {}),
          ...(options.stopAfterStep !== undefined ? { stopAfter: options.stopAfterStep } : {}),
        }), (o) => (pre.estimate.flops * (o.steps - o.resumedFrom)) / Math.max(1, pre.steps))
      : null;
    if (outcome && outcome.steps < pre.steps) {
      throw new EngineError(`pre-training stopped at step ${outcome.steps} of ${pre.steps} (stopAfterStep); run the plan again to resume`);
    }
    upstream?.dispose();
    const heldOut = await clock.time('evaluate', () => heldOutLosses(plan, pretraining));
    const finetuned: { task: string; labelsPerClass: number | null; seconds: number; trainAccuracy: number }[] = [];
    let evaluated: RunResult['evaluate'] = null;
    let certified: RunResult['certify'] = null;

    // finetune + evaluate
    const ft = reached('finetune') ? stage(plan, 'finetune') : undefined;
    const ev = reached('evaluate') ? stage(plan, 'evaluate') : undefined;
    const classifiers = new Map<string, Classifier>();
    if (ft) {
      // The plan's FLOP estimates shared equally among the classifiers (finetune) and the tasks (evaluate).
      const finetuneFlops = ft.estimate.flops / (ft.tasks.length * (ft.labelsPerClass?.length ?? 1));
      const evaluateFlops = (ev?.estimate.flops ?? 0) / ft.tasks.length;
      const evalRows: { task: string; labelsPerClass: number | null; accuracy: number; examples: number }[] = [];
      // One classifier per task and label budget; certification uses each task's first.
      for (const task of ft.tasks) {
        for (const labelsPerClass of ft.labelsPerClass ?? [null]) {
          const name = labelsPerClass === null ? task : `${task}@${labelsPerClass}`;
          const data = await clock.time('load-data', () => downstreamTensors(plan, task, ft, ev?.maxExamples ?? null, model, labelsPerClass));
          try {
            const { classifier, trainAccuracy, seconds } = await clock.time('finetune', () => finetuneOrLoad(plan, ft, model, data, paths.classifier(name), progress), (f) => (f.loaded ? 0 : finetuneFlops));
            finetuned.push({ task, labelsPerClass, seconds, trainAccuracy });
            if (ev) {
              const r = await clock.time('evaluate', () => evaluateClassifier(classifier, data, ev.maxExamples), () => evaluateFlops);
              evalRows.push({ task, labelsPerClass, ...r });
              log(`[evaluate] ${name}: accuracy ${(r.accuracy * 100).toFixed(2)}% on ${r.examples} test examples`);
            }
            if (classifiers.has(task)) disposeClassifier(classifier, model);
            else classifiers.set(task, classifier);
          } finally {
            tf.dispose([data.xTrain, data.xTest]);
          }
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
    const cs = reached('certify') ? stage(plan, 'certify') : undefined;
    if (cs) {
      const classifier = classifiers.get(cs.task);
      if (!classifier) throw new Error(`certify: no classifier for ${cs.task}`);
      const passesPlanned = cs.points * cs.sigmas.length * (cs.n0 + cs.n);
      ({ certified } = await clock.time('certify', () => certifyClassifier({ ...cs, seed: plan.seed, planHash: plan.hash }, classifier, paths.certifyTsv, progress, log), (c) => (cs.estimate.flops * c.passesRun) / passesPlanned));
    }
    for (const c of classifiers.values()) disposeClassifier(c, model);
    const done: RunResult = {
      hash: plan.hash,
      runDir,
      backend: backend.name,
      cached: false,
      seconds: (performance.now() - t0) / 1000,
      timing: clock.entries(),
      pretrain: {
        steps: outcome?.steps ?? 0,
        seconds: outcome?.seconds ?? 0,
        taskNames: [...(outcome?.taskNames ?? [])],
        finalTaskLosses: [...(outcome?.finalTaskLosses ?? [])],
        finalWeights: [...(outcome?.finalWeights ?? [])],
        initialTaskLosses: outcome?.initialTaskLosses ? [...outcome.initialTaskLosses] : null,
        heldOut,
      },
      finetune: finetuned,
      evaluate: evaluated,
      certify: certified,
    };
    if (last < plan.stages.length - 1) {
      log(`[run ${plan.hash}] ran through ${options.through} in ${done.seconds.toFixed(1)} s`);
      return done;
    }
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

/** Frees a classifier's head, and its encoder when it is a fine-tuned copy. */
function disposeClassifier(c: Classifier, model: { params: unknown }): void {
  if (c.encoder !== model.params) disposeParameters(c.encoder);
  disposeParameters(c.head);
}
