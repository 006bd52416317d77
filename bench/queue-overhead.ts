/**
 * What the worker pool costs over a local run (the README's scale-out numbers). On one trained smoke
 * model of the certified experiment:
 *
 * - the smoke certification (its plan's certify stage: 3 sigmas x 10 points, n0 10, n 100) and, with
 *   --full, one full-scale sigma (500 points, n0 100, n 10,000), each run
 *   - locally, in this process, with 2 TensorFlow threads, and
 *   - through the queue (BullMQ on a redis-server of its own, shared-folder store, default shard size),
 *     with 1 warm worker process of 2 threads and with 2 warm workers of 1 thread each (equal total threads),
 *   timed from the start to the assembled TSV (and results.json for the smoke plan);
 * - the latency of a job with nothing to compute (its shard already in the store): enqueue to completion.
 *
 * Usage: npm run build && node dist/bench/queue-overhead.js [--full] [--repeats=3]
 * Needs redis-server (apt-get install redis-server). The machine should be otherwise idle.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import type { PlanData } from '../dsl/plan-types.js';
import { initBackend } from '../engine/backend/selection.js';
import { certifyClassifier } from '../engine/certify/stage.js';
import { openRunClassifier } from '../engine/open-run.js';
import { projectRoot } from '../engine/project-root.js';
import { runPlan } from '../engine/run-plan.js';
import { certifiedPlans } from '../experiments/certified.js';
import { resolveRedis } from '../queue/connection.js';
import { certifyRunOnQueue, runPlansOnQueue, type QueueReport } from '../queue/enqueue.js';
import { QUEUE_NAME, QUEUE_PREFIX } from '../queue/queue.js';
import { PathStore } from '../queue/store.js';

const full = process.argv.includes('--full');
const repeats = Number(process.argv.find((a) => a.startsWith('--repeats='))?.split('=')[1] ?? 3);
process.env['TF_NUM_INTRAOP_THREADS'] ??= '2';
process.env['TF_CPP_MIN_LOG_LEVEL'] ??= '2';
const tmp = mkdtempSync(join(tmpdir(), 'rl-queue-bench-'));
const quiet = () => {};

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

function waitForLine(child: ChildProcess, pattern: RegExp, count = 1): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = 0;
    let text = '';
    child.stderr!.on('data', (d: Buffer) => {
      text += d.toString();
      const lines = text.split('\n');
      text = lines.pop()!;
      for (const l of lines) if (pattern.test(l) && ++seen === count) resolve();
    });
    child.once('exit', () => reject(new Error(`exited before ${pattern}`)));
  });
}

/** Warm workers (`node dist/cli.js worker`), `threads` TensorFlow threads each. */
async function startWorkers(n: number, threads: number, url: string, store: string): Promise<ChildProcess[]> {
  const workers = Array.from({ length: n }, (_, i) =>
    spawn(process.execPath, [join(projectRoot(), 'dist', 'cli.js'), 'worker', '--redis', url, '--store', store, '--work', join(tmp, `scratch-${n}-${i}`), '--name', `bench-${n}-${i}`], {
      env: { ...process.env, TF_NUM_INTRAOP_THREADS: String(threads) },
      stdio: ['ignore', 'ignore', 'pipe'],
    }),
  );
  await Promise.all(workers.map((w) => waitForLine(w, /waiting for jobs/)));
  return workers;
}

async function stopWorkers(workers: ChildProcess[]): Promise<void> {
  await Promise.all(workers.map((w) => new Promise<void>((resolve) => (w.once('exit', () => resolve()), w.kill('SIGTERM')))));
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

async function main(): Promise<void> {
  const backend = (await initBackend()).name;
  const port = await freePort();
  const redisDir = join(tmp, 'redis');
  mkdirSync(redisDir);
  const redisProc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--dir', redisDir], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 500));
  const url = `redis://127.0.0.1:${port}`;
  const target = resolveRedis(url, '--queue');
  try {
    const plan: PlanData = certifiedPlans('smoke', ['mixture pre-training, clean fine-tuning (one model)'])[0]!.plan.toJSON();
    const trained = join(tmp, 'trained');
    await runPlan(plan, { runsDir: trained, through: 'evaluate', quiet: true });
    const cs = plan.stages.find((s) => s.kind === 'certify')!;
    if (cs.kind !== 'certify') throw new Error('no certify stage');
    console.log(`backend ${backend}; smoke plan ${plan.hash}: ${cs.sigmas.length} sigmas x ${cs.points} points, n0 ${cs.n0}, n ${cs.n}; repeats ${repeats}`);

    const fresh = (name: string) => {
      const dir = join(tmp, name);
      rmSync(dir, { recursive: true, force: true });
      cpSync(join(trained, plan.hash), join(dir, plan.hash), { recursive: true });
      return dir;
    };
    const rows: string[] = [];
    const latency: { waits: number[]; runs: number[] } = { waits: [], runs: [] };
    const keep = (r: QueueReport) => (latency.waits.push(...r.waits), latency.runs.push(...r.runs));

    // The smoke certification: the plan's certify stage, assembled into results.json.
    const smokeLocal: number[] = [];
    for (let i = 0; i < repeats; i++) {
      const runs = fresh(`smoke-local-${i}`);
      const t0 = performance.now();
      await runPlan(plan, { runsDir: runs, quiet: true });
      smokeLocal.push((performance.now() - t0) / 1000);
    }
    rows.push(`| smoke certification (${cs.sigmas.length} x ${cs.points} points, n ${cs.n}) | local, 2 threads | ${median(smokeLocal).toFixed(2)} s | |`);
    for (const [n, threads] of [[1, 2], [2, 1]] as const) {
      const store = fresh(`smoke-store-${n}`);
      const workers = await startWorkers(n, threads, url, store);
      const times: number[] = [];
      let jobs = 0;
      for (let i = 0; i < repeats; i++) {
        rmSync(join(store, plan.hash, 'certify-shards'), { recursive: true, force: true });
        const runs = fresh(`smoke-queue-${n}-${i}`);
        const t0 = performance.now();
        const report = await runPlansOnQueue([plan], { redis: target, store: new PathStore(store), runsDir: runs, log: quiet });
        await runPlan(plan, { runsDir: runs, quiet: true });
        times.push((performance.now() - t0) / 1000);
        jobs = report.jobs;
        keep(report);
      }
      await stopWorkers(workers);
      rows.push(`| smoke certification | queue, ${n} worker${n > 1 ? 's' : ''} x ${threads} thread${threads > 1 ? 's' : ''} (${jobs} jobs) | ${median(times).toFixed(2)} s | ${(median(times) - median(smokeLocal)).toFixed(2)} s (${((100 * median(times)) / median(smokeLocal) - 100).toFixed(0)}%) |`);
    }

    if (full) {
      const settings = { task: cs.task, sigma: 0.5, n0: 100, n: 10_000, alpha: 0.001, batchSize: 1000, points: 500 };
      const runs = fresh('full-local');
      const { plan: p, classifier } = openRunClassifier(join(runs, plan.hash));
      const t0 = performance.now();
      await certifyClassifier({ ...settings, sigmas: [settings.sigma], radii: [0], seed: p.seed, planHash: p.hash }, classifier, () => join(runs, 'full.tsv'), undefined, quiet);
      const local = (performance.now() - t0) / 1000;
      rows.push(`| one full sigma (500 points, n0 100, n 10,000) | local, 2 threads | ${local.toFixed(1)} s | |`);
      for (const [n, threads] of [[1, 2], [2, 1]] as const) {
        const store = fresh(`full-store-${n}`);
        const workers = await startWorkers(n, threads, url, store);
        const runDir = join(fresh(`full-queue-${n}`), plan.hash);
        const t1 = performance.now();
        const { report } = await certifyRunOnQueue(runDir, settings, { redis: target, store: new PathStore(store), runsDir: join(runDir, '..'), log: quiet });
        const seconds = (performance.now() - t1) / 1000;
        keep(report);
        await stopWorkers(workers);
        rows.push(`| one full sigma | queue, ${n} worker${n > 1 ? 's' : ''} x ${threads} thread${threads > 1 ? 's' : ''} (${report.jobs} jobs) | ${seconds.toFixed(1)} s | ${(seconds - local).toFixed(1)} s (${((100 * seconds) / local - 100).toFixed(0)}%) |`);
      }
    }

    // Latency of a job with nothing to compute: a shard the store already holds (queue + checks + store lookup).
    const store = fresh('latency-store');
    const workers = await startWorkers(1, 2, url, store);
    const settings = { task: cs.task, sigma: cs.sigmas[0]!, n0: cs.n0, n: cs.n, alpha: cs.alpha, batchSize: cs.batchSize, points: 2 };
    await certifyRunOnQueue(join(store, plan.hash), { ...settings }, { redis: target, store: new PathStore(store), runsDir: store, shardSize: 2, log: quiet });
    const queue = new Queue(QUEUE_NAME, { connection: { host: '127.0.0.1', port }, prefix: QUEUE_PREFIX });
    const empty: number[] = [];
    for (let i = 0; i < 20; i++) {
      const t0 = performance.now();
      const job = await queue.add('certify-shard', { version: 1, kind: 'certify-shard', plan: plan.hash, ...settings, from: 0, to: 2 }, { jobId: `latency-${i}` });
      while ((await queue.getJobState(job.id!)) !== 'completed') await new Promise((r) => setTimeout(r, 2));
      empty.push((performance.now() - t0) / 1000);
    }
    await queue.close();
    await stopWorkers(workers);

    console.log('\n| work | how | wall time | over local |\n|---|---|---:|---:|');
    for (const r of rows) console.log(r);
    console.log(`\njob latency: a job with nothing to compute, enqueue to completed: median ${(1000 * median(empty)).toFixed(0)} ms (${empty.length} jobs, 1 warm worker)`);
    console.log(`jobs above: enqueue to start median ${median(latency.waits).toFixed(2)} s, on the worker median ${median(latency.runs).toFixed(2)} s (${latency.runs.length} jobs)`);
  } finally {
    redisProc.kill('SIGTERM');
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
