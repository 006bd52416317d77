/**
 * The enqueuing side: turns plans into jobs, follows them to the end with an ETA, and assembles the same
 * run directories a local run writes.
 *
 * For each plan: one stage job trains it (through the stage before certify, or all of it when it
 * certifies nothing); once its checkpoint and classifiers are in the store, its certification is
 * enqueued as shards (sigma x ranges of test-point positions). Job ids are derived from the work, so a
 * second enqueue of the same work finds it already there, and work whose result the store already holds
 * is not enqueued at all: an interrupted enqueuing command is simply run again. At the end the store's
 * files are pulled into this machine's runs directory and each sigma's shards are joined, in order, into
 * the stage's TSV (one atomic write); run-plan then finds everything done and only assembles results.json.
 *
 * A job that failed for good (3 tries) stops the command with its error; finished work stays in the store.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Queue } from 'bullmq';
import { DOWNSTREAM_TASKS } from '../datasets/catalog.js';
import { Plan } from '../dsl/plan.js';
import type { CertifyStage, PlanData } from '../dsl/plan-types.js';
import { formatCertifyTsv, parseCertifyTsv, type CertifiedPoint } from '../engine/certify/dataset.js';
import { writeFileAtomic } from '../engine/store/atomic-file.js';
import { acquireRunLock, runPaths } from '../engine/store/run-store.js';
import { certifyTsvPath, planJsonText, pull, push, stageMarkerPath, tensorflowThreads, type StageMarker } from './artifacts.js';
import type { RedisTarget } from './connection.js';
import { QueueError } from './errors.js';
import { checkJobAgainstPlan, describeJob, jobId, shardConfig, trainingStage, validateJob, type CertifyShardJob, type QueueJob, type StageJob } from './jobs.js';
import { jobOptions, openQueue } from './queue.js';
import type { ArtifactStore } from './store.js';
import { shardPaths, type JobOutcome } from './worker.js';

export interface EnqueueOptions {
  readonly redis: RedisTarget;
  readonly store: ArtifactStore;
  /** This machine's runs directory, where the run directories are assembled. */
  readonly runsDir: string;
  /** Test points per certification job (default: defaultShardSize). */
  readonly shardSize?: number;
  readonly log: (line: string) => void;
  /** Seconds between progress lines while nothing finishes (default 10). */
  readonly progressEverySeconds?: number;
}

/** How the queued work went: what the README's measurements are made of. */
export interface QueueReport {
  readonly seconds: number;
  /** Jobs run by workers (not found done in the store). */
  readonly jobs: number;
  readonly reused: number;
  /** Per job run: seconds from enqueue to a worker taking it, and seconds on the worker. */
  readonly waits: readonly number[];
  readonly runs: readonly number[];
}

/** Noisy forward passes a certification job should hold: seconds of work, so that the queue's per-job cost (milliseconds) stays small. */
export const PASSES_PER_JOB = 200_000;

/** Test points per job: about PASSES_PER_JOB noisy passes (n0 + n per point), never more than all the points. */
export function defaultShardSize(points: number, passesPerPoint: number): number {
  return Math.min(points, Math.max(1, Math.ceil(PASSES_PER_JOB / passesPerPoint)));
}

function ranges(points: number, size: number): [number, number][] {
  const out: [number, number][] = [];
  for (let from = 0; from < points; from += size) out.push([from, Math.min(points, from + size)]);
  return out;
}

/** Certification settings of a shard, without its range. */
export type ShardSettings = Pick<CertifyShardJob, 'task' | 'sigma' | 'n0' | 'n' | 'alpha' | 'batchSize' | 'points' | 'sequential'>;

/** The shard settings of a plan's certify stage at one sigma. */
function stageShardSettings(cs: CertifyStage, sigma: number): ShardSettings {
  return { task: cs.task, sigma, n0: cs.n0, n: cs.n, alpha: cs.alpha, batchSize: cs.batchSize, points: cs.points, ...(cs.sequential ? { sequential: cs.radii } : {}) };
}

function shardJobs(plan: string, s: ShardSettings, shardSize: number | undefined): CertifyShardJob[] {
  const info = DOWNSTREAM_TASKS[s.task];
  const points = Math.min(s.points, info?.testCount ?? s.points);
  return ranges(points, shardSize ?? defaultShardSize(points, s.n0 + s.n)).map(([from, to]) => ({ version: 1, kind: 'certify-shard', plan, ...s, points, from, to }));
}

/**
 * Trains and certifies `plans` on the worker pool and leaves their run directories in `o.runsDir` ready
 * for run-plan to assemble (it finds every checkpoint, classifier and certified row in place).
 */
export async function runPlansOnQueue(plans: readonly PlanData[], o: EnqueueOptions): Promise<QueueReport> {
  const tracker = new Tracker(openQueue(o.redis), o);
  try {
    const todo = plans.filter((p) => {
      const done = existsSync(runPaths(join(o.runsDir, p.hash)).results);
      if (done) o.log(`[queue] plan ${p.hash}: finished here already`);
      return !done;
    });
    for (const plan of todo) {
      await publishPlan(o.store, plan);
      const stage = trainingStage(plan);
      const cs = plan.stages.find((s): s is CertifyStage => s.kind === 'certify');
      const shards = cs ? cs.sigmas.flatMap((sigma) => shardJobs(plan.hash, stageShardSettings(cs, sigma), o.shardSize)) : [];
      const passFlops = cs ? cs.estimate.flops / Math.max(1, cs.sigmas.length * cs.points * (cs.n0 + cs.n)) : 0;
      const job: StageJob = { version: 1, kind: 'stage', plan: plan.hash, stage };
      const through = plan.stages.findIndex((s) => s.kind === stage);
      const units = plan.stages.slice(0, through + 1).reduce((sum, s) => sum + s.estimate.flops, 0);
      await tracker.submit(job, units, [stageMarkerPath(stage)], async () => {
        for (const shard of shards) await tracker.submit(shard, (shard.to - shard.from) * (shard.n0 + shard.n) * passFlops, [shardPaths(shard).tsv]);
      });
    }
    await tracker.wait();
    for (const plan of todo) {
      const runDir = join(o.runsDir, plan.hash);
      const bytes = await o.store.get(plan.hash, stageMarkerPath(trainingStage(plan)));
      const marker = bytes === null ? null : (JSON.parse(bytes.toString('utf8')) as StageMarker);
      const missing = await pull(o.store, plan.hash, runDir, ['plan.json', ...(marker?.files ?? [])]);
      if (marker === null || missing.length) throw new QueueError(`${o.store.description} lacks ${marker === null ? stageMarkerPath(trainingStage(plan)) : missing.join(', ')} of plan ${plan.hash} although its jobs finished; run the command again`);
      if (marker.threads !== tensorflowThreads()) {
        o.log(
          `[queue] note: plan ${plan.hash} was trained on ${marker.worker} with ${marker.threads} TensorFlow thread(s), a local run here uses ${tensorflowThreads()}; ` +
            'training numerics depend on it, so its checkpoint may differ in the last bits from a local run (for identical ones, give workers and local runs the same TF_NUM_INTRAOP_THREADS)',
        );
      }
      const cs = plan.stages.find((s): s is CertifyStage => s.kind === 'certify');
      for (const sigma of cs?.sigmas ?? []) {
        await assembleShards(o.store, shardJobs(plan.hash, stageShardSettings(cs!, sigma), o.shardSize), runDir, join(runDir, certifyTsvPath(cs!.task, sigma)));
      }
    }
    return tracker.report();
  } finally {
    await tracker.close();
  }
}

/**
 * Certifies a finished run's classifier at `settings` on the worker pool, into the TSV that
 * `robustlab certify` writes locally (runDir/certify-cli/<settings>.tsv), and returns its path.
 */
export async function certifyRunOnQueue(runDir: string, settings: ShardSettings, o: EnqueueOptions): Promise<{ tsvPath: string; report: QueueReport }> {
  const planPath = runPaths(runDir).plan;
  if (!existsSync(planPath)) throw new QueueError(`${runDir} is not a run directory (no plan.json); pass runs/<hash>/ of a run that has fine-tuned`);
  const plan = Plan.fromJSON(readFileSync(planPath, 'utf8')).toJSON();
  const inputs = [runPaths('').checkpoint, runPaths('').classifier(settings.task)];
  for (const path of inputs) {
    if (!existsSync(join(runDir, path))) throw new QueueError(`run ${plan.hash} has no ${path} yet; run the plan (at least through finetune) first`);
  }
  const jobs = shardJobs(plan.hash, settings, o.shardSize);
  // The workers will check every job the same way: a mistake in the settings is a one-line error here, before anything is enqueued.
  for (const job of jobs) checkJobAgainstPlan(validateJob(job), plan);
  await publishPlan(o.store, plan);
  await push(o.store, plan.hash, runDir, inputs);
  const tracker = new Tracker(openQueue(o.redis), o);
  try {
    for (const job of jobs) await tracker.submit(job, (job.to - job.from) * (job.n0 + job.n), [shardPaths(job).tsv]);
    await tracker.wait();
    const tsvPath = join(runDir, 'certify-cli', `${shardConfig(settings)}.tsv`);
    await assembleShards(o.store, jobs, runDir, tsvPath);
    return { tsvPath, report: tracker.report() };
  } finally {
    await tracker.close();
  }
}

async function publishPlan(store: ArtifactStore, plan: PlanData): Promise<void> {
  const text = planJsonText(plan);
  const held = await store.get(plan.hash, 'plan.json');
  if (held === null || held.toString('utf8') !== text) await store.put(plan.hash, [['plan.json', text]]);
}

/**
 * Joins the shards of one sigma, in position order, into `tsvPath` (atomically, under the run's lock),
 * after checking that each holds exactly its points and that all ran on one backend (the noise differs
 * between backends).
 */
async function assembleShards(store: ArtifactStore, jobs: readonly CertifyShardJob[], runDir: string, tsvPath: string): Promise<void> {
  const rows: CertifiedPoint[] = [];
  const backends = new Map<string, string>();
  for (const job of jobs) {
    const paths = shardPaths(job);
    const where = `${store.description}: ${job.plan}/${paths.tsv}`;
    const text = await store.get(job.plan, paths.tsv);
    if (text === null) throw new QueueError(`${where} is missing although its job finished; run the command again`);
    const shard = parseCertifyTsv(text.toString('utf8'), where);
    if (shard.length !== job.to - job.from) throw new QueueError(`${where} holds ${shard.length} rows, not ${job.to - job.from}; remove it from the store and run the command again`);
    rows.push(...shard);
    const meta = await store.get(job.plan, paths.meta);
    if (meta !== null) {
      const { backend, worker } = JSON.parse(meta.toString('utf8')) as { backend: string; worker: string };
      backends.set(backend, worker);
    }
  }
  if (backends.size > 1) {
    throw new QueueError(
      `the shards of ${tsvPath} were certified on different backends (${[...backends].map(([b, w]) => `${b} on ${w}`).join(', ')}), whose noise differs; run every worker on one backend (ROBUSTLAB_BACKEND), remove ${jobs[0]!.plan}/certify-shards/ from the store and run the command again`,
    );
  }
  if (new Set(rows.map((r) => r.index)).size !== rows.length) throw new QueueError(`the shards of ${tsvPath} certify a point twice; remove ${jobs[0]!.plan}/certify-shards/ from the store and run the command again`);
  const lock = acquireRunLock(runDir);
  try {
    writeFileAtomic(tsvPath, formatCertifyTsv(rows));
  } finally {
    lock.release();
  }
}

interface Tracked {
  readonly id: string;
  readonly job: QueueJob;
  readonly units: number;
  /** Store paths whose presence means the job is done. */
  readonly outputs: readonly string[];
  readonly then: (() => Promise<void>) | undefined;
  done: boolean;
  reused: boolean;
}

/** Follows the submitted jobs to the end: done when their outputs are in the store; failed jobs stop it. */
class Tracker {
  private readonly tracked = new Map<string, Tracked>();
  private readonly started = Date.now();
  private readonly waits: number[] = [];
  private readonly runs: number[] = [];
  private firstWork: number | null = null;

  constructor(
    private readonly queue: Queue,
    private readonly o: EnqueueOptions,
  ) {}

  async submit(job: QueueJob, units: number, outputs: readonly string[], then?: () => Promise<void>): Promise<void> {
    const id = jobId(job);
    if (this.tracked.has(id)) return;
    const t: Tracked = { id, job, units, outputs, then, done: false, reused: false };
    this.tracked.set(id, t);
    if (await this.inStore(t)) {
      t.done = true;
      t.reused = true;
      await then?.();
      return;
    }
    const existing = await this.queue.getJob(id);
    if (existing) {
      const state = await existing.getState();
      if (state !== 'failed' && state !== 'completed') return; // waiting, delayed or active: enqueued before, still good
      await existing.remove(); // a failed job is tried afresh; a completed one whose result is gone is run again
    }
    await this.queue.add(job.kind, job, { ...jobOptions(), jobId: id });
  }

  async wait(): Promise<void> {
    const every = (this.o.progressEverySeconds ?? 10) * 1000;
    let lastLine = 0;
    let lastDone = -1;
    let lastCheck = 0;
    let trouble = '';
    for (;;) {
      const pending = [...this.tracked.values()].filter((t) => !t.done);
      if (pending.length === 0) break;
      try {
        const held = await this.heldShards(pending);
        for (const t of pending) {
          if (!(t.job.kind === 'certify-shard' ? held.has(`${t.job.plan}/${t.outputs[0]}`) : await this.inStore(t))) continue;
          t.done = true;
          await this.recordTiming(t.id);
          await t.then?.();
        }
        if (Date.now() - lastCheck > 2000) {
          lastCheck = Date.now();
          await this.checkStates();
        }
        const done = [...this.tracked.values()].filter((t) => t.done).length;
        if (done !== lastDone || Date.now() - lastLine > every) {
          this.o.log(await this.progressLine());
          lastDone = done;
          lastLine = Date.now();
        }
        if (trouble) this.o.log('[queue] Redis is back');
        trouble = '';
      } catch (e) {
        if (e instanceof QueueError) throw e;
        const why = (e as Error).message.split('\n')[0]!;
        if (why !== trouble) this.o.log(`[queue] cannot talk to Redis (${why}); waiting for it`);
        trouble = why;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  report(): QueueReport {
    const all = [...this.tracked.values()];
    return { seconds: (Date.now() - this.started) / 1000, jobs: all.filter((t) => !t.reused).length, reused: all.filter((t) => t.reused).length, waits: this.waits, runs: this.runs };
  }

  async close(): Promise<void> {
    await this.queue.close();
  }

  /** `<plan>/<path>` of the shards the store holds, one listing per shard folder (not one lookup per job). */
  private async heldShards(pending: readonly Tracked[]): Promise<Set<string>> {
    const held = new Set<string>();
    const folders = new Set(pending.filter((t) => t.job.kind === 'certify-shard').map((t) => `${t.job.plan}/${t.outputs[0]!.slice(0, t.outputs[0]!.lastIndexOf('/') + 1)}`));
    for (const folder of folders) {
      const [plan, prefix] = [folder.slice(0, folder.indexOf('/')), folder.slice(folder.indexOf('/') + 1)];
      for (const path of await this.o.store.list(plan, prefix)) held.add(`${plan}/${path}`);
    }
    return held;
  }

  private async inStore(t: Tracked): Promise<boolean> {
    for (const path of t.outputs) if (!(await this.o.store.has(t.job.plan, path))) return false;
    return true;
  }

  private async recordTiming(id: string): Promise<void> {
    const job = await this.queue.getJob(id);
    if (job?.processedOn && job.finishedOn) {
      this.waits.push((job.processedOn - job.timestamp) / 1000);
      this.runs.push((job.finishedOn - job.processedOn) / 1000);
    } else if (job?.processedOn) {
      this.waits.push((job.processedOn - job.timestamp) / 1000);
    }
  }

  /** Failed for good: stop with its error. Gone from the queue: enqueue again. Completed without a result in our store: a misconfigured worker. */
  private async checkStates(): Promise<void> {
    for (const t of this.tracked.values()) {
      if (t.done) continue;
      const job = await this.queue.getJob(t.id);
      if (!job) {
        await this.queue.add(t.job.kind, t.job, { ...jobOptions(), jobId: t.id });
        continue;
      }
      const state = await job.getState();
      if (state === 'failed') {
        throw new QueueError(
          `job ${t.id} (${describeJob(t.job)}) failed after ${job.attemptsMade} attempt(s): ${job.failedReason}; fix the cause and run the command again (finished work is kept in the store; robustlab queue status lists failures)`,
        );
      }
      if (state === 'completed' && !(await this.inStore(t))) {
        const by = (job.returnvalue as JobOutcome | undefined)?.worker ?? 'a worker';
        throw new QueueError(`job ${t.id} completed on ${by}, but ${this.o.store.description} does not have its result: start the workers with the same --store as this command`);
      }
    }
  }

  private async progressLine(): Promise<string> {
    const all = [...this.tracked.values()];
    const done = all.filter((t) => t.done);
    const total = all.reduce((s, t) => s + t.units, 0);
    let doneUnits = done.reduce((s, t) => s + t.units, 0);
    const reusedUnits = done.filter((t) => t.reused).reduce((s, t) => s + t.units, 0);
    const active = await this.queue.getActive();
    for (const job of active) {
      const t = this.tracked.get(String(job.id));
      const fraction = (job.progress as { fraction?: number } | undefined)?.fraction;
      if (t && !t.done && typeof fraction === 'number') doneUnits += Math.min(1, fraction) * t.units;
    }
    const worked = doneUnits - reusedUnits;
    if (this.firstWork === null && (worked > 0 || active.length > 0)) this.firstWork = Date.now();
    const elapsed = this.firstWork === null ? 0 : (Date.now() - this.firstWork) / 1000;
    const rate = worked > 0 && elapsed > 0 ? worked / elapsed : 0;
    const eta = rate > 0 ? formatSeconds((total - doneUnits) / rate) : '?';
    // A job whose result is in the store may still be finishing on its worker: it counts as done.
    const activeHere = active.filter((j) => this.tracked.get(String(j.id))?.done === false).length;
    const reused = done.filter((t) => t.reused).length;
    return (
      `[queue] ${done.length}/${all.length} jobs done${reused ? ` (${reused} found in the store)` : ''}, ${activeHere} active, ` +
      `${all.length - done.length - activeHere} waiting; ${total > 0 ? Math.floor((100 * doneUnits) / total) : 100}% of the work; ETA ${done.length === all.length ? '0s' : eta}`
    );
  }
}

export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const r = Math.max(0, Math.round(s));
  if (r < 60) return `${r}s`;
  if (r < 3600) return `${Math.floor(r / 60)}m${String(r % 60).padStart(2, '0')}s`;
  return `${Math.floor(r / 3600)}h${String(Math.floor((r % 3600) / 60)).padStart(2, '0')}m`;
}
