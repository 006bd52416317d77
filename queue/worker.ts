/**
 * A worker of the pool: takes one job at a time from the queue, checks it (jobs.ts) and the plan it
 * names (Plan.fromJSON: the DSL's validation, then a recompile that must give the same hash), runs it
 * with the engine in its own scratch run directory, and publishes what it made to the shared store.
 *
 * - stage job: pulls what the store already has of the plan (so a retry resumes), runs run-plan through
 *   the stage, and pushes the checkpoint, the metrics and the fine-tuned classifiers.
 * - certify-shard job: pulls the checkpoint and the classifier, certifies its positions into a local
 *   TSV (resumable on this machine, under a lock), and only then publishes the shard's TSV in one
 *   atomic write. A worker killed mid-shard leaves nothing in the store, so the retry on another worker
 *   counts every point exactly once; a shard already in the store is not computed again.
 *
 * A job that fails validation fails at once (UnrecoverableError, no retry) with the reason in its record.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { DslError } from '../dsl/errors.js';
import { Plan } from '../dsl/plan.js';
import type { PlanData } from '../dsl/plan-types.js';
import { describeBackend, initBackend } from '../engine/backend/selection.js';
import { formatCertifyTsv } from '../engine/certify/dataset.js';
import { certificationPoints, certifyShard, type CertificationPoints } from '../engine/certify/stage.js';
import type { Classifier } from '../engine/finetune/classifier.js';
import { disposeParameters } from '../engine/models/parameters.js';
import { openRunClassifier } from '../engine/open-run.js';
import type { ProgressEvent } from '../engine/progress.js';
import { runPlan } from '../engine/run-plan.js';
import { writeFileAtomic } from '../engine/store/atomic-file.js';
import { acquireRunLock, runPaths } from '../engine/store/run-store.js';
import { certifyTsvPath, planJsonText, pull, push, stageMarkerPath, tensorflowThreads, trainedArtifacts, type StageMarker } from './artifacts.js';
import { bullConnection, type RedisTarget } from './connection.js';
import { checkJobAgainstPlan, describeJob, shardConfig, validateJob, type CertifyShardJob, type QueueJob, type StageJob } from './jobs.js';
import { lockDurationMs, MAX_STALLED, QUEUE_NAME, QUEUE_PREFIX } from './queue.js';
import type { ArtifactStore } from './store.js';

export interface WorkerOptions {
  readonly redis: RedisTarget;
  readonly store: ArtifactStore;
  /** This worker's scratch runs directory (on its own disk). */
  readonly workDir: string;
  /** Shown in logs and in `robustlab queue status`. */
  readonly name: string;
  readonly log: (line: string) => void;
}

export interface RunningWorker {
  /** Stops taking jobs and resolves once the current one has finished. */
  stop(): Promise<void>;
  /** Puts the current job back in the queue at once (its local partial work stays for a resume here). */
  returnCurrentJob(): Promise<string | null>;
}

/** What a job leaves in BullMQ's record when it completes. */
export interface JobOutcome {
  readonly worker: string;
  readonly backend: string;
  readonly seconds: number;
  /** Points certified (a shard), or null. */
  readonly points: number | null;
  /** True when the store already held the result and nothing was computed. */
  readonly reused: boolean;
}

/** Paths of a shard in the store: its TSV (present = complete) and a note of where it ran. */
export function shardPaths(job: CertifyShardJob): { tsv: string; meta: string } {
  const base = `certify-shards/${shardConfig(job)}/${job.from}-${job.to}`;
  return { tsv: `${base}.tsv`, meta: `${base}.json` };
}

export async function startWorker(o: WorkerOptions): Promise<RunningWorker> {
  const backend = await initBackend();
  o.log(`[worker ${o.name}] ${describeBackend(backend)}; store: ${o.store.description}; scratch: ${o.workDir}; queue: ${o.redis.shown}`);
  const classifiers = new ClassifierCache();
  const samples = new Map<string, CertificationPoints>();
  let current: { job: Job; token: string | undefined } | null = null;

  const processor = async (job: Job, token?: string): Promise<JobOutcome> => {
    current = { job, token };
    const t0 = performance.now();
    const waited = job.processedOn && job.timestamp ? ` after ${((job.processedOn - job.timestamp) / 1000).toFixed(1)} s in the queue` : '';
    const say = (line: string) => o.log(`[worker ${o.name}] job ${job.id}: ${line}`);
    try {
      let spec: QueueJob;
      let plan: PlanData;
      try {
        spec = validateJob(job.data);
        plan = await loadPlan(o.store, spec.plan);
        checkJobAgainstPlan(spec, plan);
      } catch (e) {
        // A malformed job, or one its plan contradicts, fails at once; anything else (a plan not yet
        // in the store, Redis away for a moment) is worth another try.
        if (e instanceof DslError || e instanceof BadPlan) throw new UnrecoverableError(`rejected, nothing was run: ${(e as Error).message}`);
        throw e;
      }
      say(`${describeJob(spec)}: started (attempt ${job.attemptsMade + 1})${waited}`);
      const outcome = spec.kind === 'stage' ? await runStage(o, job, spec, plan, backend.name) : await runShard(o, job, spec, plan, backend.name, classifiers, samples);
      const seconds = (performance.now() - t0) / 1000;
      say(outcome.reused ? 'already in the store, nothing to do' : `done in ${seconds.toFixed(1)} s${outcome.points !== null ? ` (${outcome.points} points, ${(outcome.points / seconds).toFixed(2)}/s)` : ''}`);
      return { worker: o.name, backend: backend.name, seconds, ...outcome };
    } catch (e) {
      say(`failed: ${(e as Error).message.split('\n')[0]}`);
      throw e;
    } finally {
      current = null;
    }
  };

  const lockDuration = lockDurationMs();
  const worker = new Worker(QUEUE_NAME, processor, {
    connection: bullConnection(o.redis),
    prefix: QUEUE_PREFIX,
    concurrency: 1,
    name: o.name,
    lockDuration,
    stalledInterval: Math.max(100, Math.floor(lockDuration / 2)),
    maxStalledCount: MAX_STALLED,
  });
  let lastError = '';
  let returning = false;
  worker.on('error', (e) => {
    if (returning) return; // the returned job's lock is gone on purpose
    const line = e.message.split('\n')[0]!;
    if (line !== lastError) o.log(`[worker ${o.name}] queue: ${line} (retrying)`);
    lastError = line;
  });
  worker.on('ready', () => {
    if (lastError) o.log(`[worker ${o.name}] queue: connected again`);
    lastError = '';
  });
  worker.on('stalled', (id) => o.log(`[worker ${o.name}] job ${id} stalled (its worker stopped renewing the lock): back in the queue`));
  await worker.waitUntilReady();
  o.log(`[worker ${o.name}] waiting for jobs`);
  return {
    stop: async () => {
      await worker.close();
      classifiers.clear();
      await o.store.close();
    },
    returnCurrentJob: async () => {
      const held = current as { job: Job; token: string | undefined } | null;
      if (held === null) return null;
      returning = true;
      await held.job.moveToWait(held.token);
      return String(held.job.id);
    },
  };
}

/** The store's plan.json is not the plan the job names. */
class BadPlan extends Error {}

async function loadPlan(store: ArtifactStore, hash: string): Promise<PlanData> {
  const bytes = await store.get(hash, 'plan.json');
  if (bytes === null) throw new Error(`plan ${hash} is not in this worker's store (${store.description}); start workers with the --store the enqueuing command used`);
  const plan = Plan.fromJSON(bytes.toString('utf8')).toJSON();
  if (plan.hash !== hash) throw new BadPlan(`the store's plan.json under ${hash} compiles to plan ${plan.hash}`);
  return plan;
}

/** Writes the validated plan into the scratch run directory (as the engine would). */
function preparePlan(workDir: string, plan: PlanData): string {
  const runDir = join(workDir, plan.hash);
  const path = runPaths(runDir).plan;
  const text = planJsonText(plan);
  if (!existsSync(path) || readFileSync(path, 'utf8') !== text) writeFileAtomic(path, text);
  return runDir;
}

/** Job progress for `robustlab queue status` and the enqueuer's ETA, at most once a second. */
function progressReporter(job: Job): (fraction: number, note: string) => void {
  let last = 0;
  return (fraction, note) => {
    const now = Date.now();
    if (now - last < 1000 && fraction < 1) return;
    last = now;
    job.updateProgress({ fraction, note }).catch(() => {
      // A progress note lost while Redis restarts is harmless.
    });
  };
}

async function runStage(o: WorkerOptions, job: Job, spec: StageJob, plan: PlanData, backend: string): Promise<Omit<JobOutcome, 'worker' | 'backend' | 'seconds'>> {
  const started = performance.now();
  const runDir = preparePlan(o.workDir, plan);
  await pull(o.store, plan.hash, runDir, trainedArtifacts(plan));
  const report = progressReporter(job);
  const last = plan.stages.at(-1)!.kind;
  await runPlan(plan, {
    runsDir: o.workDir,
    quiet: true,
    ...(spec.stage === last ? {} : { through: spec.stage }),
    onProgress: (e: ProgressEvent) => report(e.stage === 'pretrain' ? (0.8 * e.step) / e.total : 0.8, `${e.stage}${e.label ? ` ${e.label}` : ''} ${e.step}/${e.total}`),
  });
  const outputs = trainedArtifacts(plan);
  const cs = plan.stages.find((s) => s.kind === 'certify');
  if (spec.stage === 'certify' && cs?.kind === 'certify') outputs.push(...cs.sigmas.map((s) => certifyTsvPath(cs.task, s)));
  const files = outputs.filter((path) => existsSync(join(runDir, path)));
  await push(o.store, plan.hash, runDir, files);
  const marker: StageMarker = { files, worker: o.name, backend, threads: tensorflowThreads(), seconds: (performance.now() - started) / 1000 };
  await o.store.put(plan.hash, [[stageMarkerPath(spec.stage), JSON.stringify(marker, null, 2) + '\n']]);
  return { points: null, reused: false };
}

async function runShard(
  o: WorkerOptions,
  job: Job,
  spec: CertifyShardJob,
  plan: PlanData,
  backend: string,
  classifiers: ClassifierCache,
  samples: Map<string, CertificationPoints>,
): Promise<Omit<JobOutcome, 'worker' | 'backend' | 'seconds'>> {
  const paths = shardPaths(spec);
  if (await o.store.has(plan.hash, paths.tsv)) return { points: spec.to - spec.from, reused: true };
  const runDir = preparePlan(o.workDir, plan);
  const p = runPaths('');
  const missing = await pull(o.store, plan.hash, runDir, [p.checkpoint, p.classifier(spec.task)]);
  if (missing.length) throw new Error(`plan ${plan.hash} is not trained in the store yet (${o.store.description} has no ${missing.join(', ')}); its stage job must finish first`);
  const classifier = classifiers.open(runDir, spec.task);
  const key = `${spec.task}/${plan.seed}/${spec.points}`;
  let data = samples.get(key);
  if (!data) {
    samples.clear();
    data = certificationPoints(spec.task, plan.seed, spec.points);
    samples.set(key, data);
  }
  const partialDir = join(runDir, 'certify-shards', shardConfig(spec), `${spec.from}-${spec.to}`);
  mkdirSync(partialDir, { recursive: true });
  const lock = acquireRunLock(partialDir);
  const started = performance.now();
  const report = progressReporter(job);
  let rows;
  try {
    // A sequential shard decides at the job's radii; fixed-n CERTIFY reads no radii.
    const { sequential, ...common } = spec;
    const settings = { ...common, planHash: plan.hash, ...(sequential ? { sequential: true as const, radii: sequential } : { radii: [] }) };
    rows = await certifyShard(settings, classifier, data, {
      sigma: spec.sigma,
      from: spec.from,
      to: spec.to,
      tsvPath: join(partialDir, 'partial.tsv'),
      onPoint: (_row, done, total) => report(done / total, `point ${done}/${total}`),
    });
  } finally {
    lock.release();
  }
  const meta = { worker: o.name, backend, seconds: (performance.now() - started) / 1000, job: job.id };
  await o.store.put(plan.hash, [
    [paths.meta, JSON.stringify(meta) + '\n'],
    [paths.tsv, formatCertifyTsv(rows)],
  ]);
  rmSync(partialDir, { recursive: true, force: true });
  return { points: rows.length, reused: false };
}

/** The last classifier opened, kept while jobs certify the same one (its files' digest tells a change). */
class ClassifierCache {
  private held: { key: string; classifier: Classifier } | null = null;

  open(runDir: string, task: string): Classifier {
    const p = runPaths(runDir);
    const digest = createHash('sha256').update(readFileSync(p.checkpoint)).update(readFileSync(p.classifier(task))).digest('hex');
    const key = `${runDir}/${task}/${digest}`;
    if (this.held?.key === key) return this.held.classifier;
    this.clear();
    const { classifier } = openRunClassifier(runDir, task);
    this.held = { key, classifier };
    return classifier;
  }

  clear(): void {
    if (!this.held) return;
    const c = this.held.classifier;
    disposeParameters(c.head);
    if (c.encoder !== c.model.params) disposeParameters(c.encoder);
    disposeParameters(c.model.params);
    this.held = null;
  }
}
