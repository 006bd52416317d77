/**
 * The worker pool on real services (issue #21): a redis-server of its own, worker processes of the real
 * CLI, BullMQ in between. A sharded run gives the same files as a local run, a worker killed mid-shard
 * changes nothing, a malformed job fails with its reason, a job that fails three times stops the
 * enqueuing command, and a Redis restarted mid-run does not stop it.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { certifyCommand } from '../../cli/certify.js';
import { isUserError } from '../../cli/command.js';
import type { PlanData } from '../../dsl/plan-types.js';
import { initBackend } from '../../engine/backend/selection.js';
import { certifyClassifier } from '../../engine/certify/stage.js';
import { openRunClassifier } from '../../engine/open-run.js';
import { runPlan } from '../../engine/run-plan.js';
import { loadCheckpoint } from '../../engine/store/checkpoint.js';
import { runPaths } from '../../engine/store/run-store.js';
import { resolveRedis } from '../../queue/connection.js';
import { planJsonText } from '../../queue/artifacts.js';
import { runPlansOnQueue } from '../../queue/enqueue.js';
import { jobId, shardConfig, type CertifyShardJob } from '../../queue/jobs.js';
import { QUEUE_NAME, QUEUE_PREFIX } from '../../queue/queue.js';
import { PathStore } from '../../queue/store.js';
import { halfWritten, resultFacts, tinyPipeline, tsvFacts } from '../reliability/tiny-run.js';
import { cli, redisServerAvailable, startRedis, TLS_CERT, type CliProcess, type TestRedis } from './redis-server.js';

const available = redisServerAvailable();
const tmp = mkdtempSync(join(tmpdir(), 'rl-pool-'));
let backend: string;
let redis: TestRedis;
let plan: PlanData;
let reference: string;
const workers: CliProcess[] = [];

/** A CLI process that is killed when the test ends, however it ends (so a failure cannot leak a worker into the next test). */
function owned(p: CliProcess): CliProcess {
  workers.push(p);
  onTestFinished(() => {
    if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  });
  return p;
}

/** A worker of the real CLI; resolves once it waits for jobs. */
async function worker(name: string, store: string): Promise<CliProcess> {
  const w = owned(cli(['worker', '--redis', redis.url, '--store', store, '--work', join(tmp, `scratch-${name}`), '--name', name], backend));
  await w.waitFor(/waiting for jobs/);
  return w;
}

async function stop(w: CliProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  w.child.kill('SIGTERM');
  return w.exited;
}

/** SHA-256 of a checkpoint's tensors (names, shapes, values): what training produced, without its timing metadata. */
function weightsHash(path: string): string {
  const h = createHash('sha256');
  for (const t of loadCheckpoint(path).tensors) h.update(`${t.name}:${t.shape.join('x')};`).update(new Uint8Array(t.values.buffer, t.values.byteOffset, t.values.byteLength));
  return h.digest('hex');
}

/** A local certification of the reference run at these settings (the TSV `robustlab certify` writes). */
async function localCertify(s: { sigma: number; n0: number; n: number; points: number; sequential?: readonly number[] }, dir: string): Promise<string> {
  const { plan: p, classifier } = openRunClassifier(reference);
  const path = join(dir, 'local.tsv');
  const mode = s.sequential ? { radii: s.sequential, sequential: true as const } : { radii: [0] };
  await certifyClassifier({ task: classifier.task, sigmas: [s.sigma], n0: s.n0, n: s.n, alpha: 0.001, points: s.points, batchSize: 1000, seed: p.seed, planHash: p.hash, ...mode }, classifier, () => path, undefined, () => {});
  return path;
}

function openTestQueue(): Queue {
  return new Queue(QUEUE_NAME, { connection: { host: '127.0.0.1', port: redis.port }, prefix: QUEUE_PREFIX });
}

async function waitForState(queue: Queue, id: string, state: string, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while ((await queue.getJobState(id)) !== state) {
    if (Date.now() > until) throw new Error(`job ${id} is ${await queue.getJobState(id)}, not ${state}, after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// Each test takes 5-15 s on an idle 2-core machine; the limit leaves room for a machine shared with other jobs.
describe.skipIf(!available)('worker pool (BullMQ on a real redis-server)', { timeout: 300_000 }, () => {
  beforeAll(async () => {
    backend = (await initBackend()).name;
    redis = await startRedis(join(tmp, 'redis'));
    plan = tinyPipeline(backend).compile({ target: 'cpu' }).toJSON();
    reference = (await runPlan(plan, { runsDir: join(tmp, 'reference'), quiet: true })).runDir;
  }, 300_000);

  afterAll(async () => {
    for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
    await redis?.stop();
  });

  it('two workers train the smoke plan and certify it in shards: the checkpoint, the results and the TSV equal a local run', async () => {
    const store = join(tmp, 'store');
    const [a, b] = await Promise.all([worker('pool-a', store), worker('pool-b', store)]);
    const runsDir = join(tmp, 'assembled');
    const lines: string[] = [];
    const report = await runPlansOnQueue([plan], { redis: resolveRedis(redis.url, '--queue'), store: new PathStore(store), runsDir, shardSize: 1, log: (l) => lines.push(l) });
    expect(report.jobs).toBe(1 + 6); // one stage job, then one shard per test point
    expect(lines.at(-1)).toMatch(/^\[queue\] 7\/7 jobs done, 0 active, 0 waiting; 100% of the work; ETA 0s$/);
    expect(lines.some((l) => /ETA \d+s$/.test(l) && !l.includes('100%'))).toBe(true);
    expect(lines.filter((l) => l.includes('TensorFlow thread'))).toEqual([]); // trained with the threads a local run uses

    // The pool's training equals the local one, whichever worker ran it.
    const p = runPaths(join(store, plan.hash));
    expect(weightsHash(p.checkpoint)).toBe(weightsHash(runPaths(reference).checkpoint));
    expect(weightsHash(p.classifier('fashion-tops'))).toBe(weightsHash(runPaths(reference).classifier('fashion-tops')));
    // The assembled TSV equals the local one but for the time column, and run-plan completes from it without certifying.
    const tsv = runPaths(join(runsDir, plan.hash)).certifyTsv('fashion-tops', 0.5);
    expect(tsvFacts(tsv)).toEqual(tsvFacts(runPaths(reference).certifyTsv('fashion-tops', 0.5)));
    const before = readFileSync(tsv, 'utf8');
    const result = await runPlan(plan, { runsDir, quiet: true });
    expect(readFileSync(tsv, 'utf8')).toBe(before);
    expect(resultFacts(result.runDir)).toEqual(resultFacts(reference));
    expect(halfWritten(result.runDir)).toEqual([]);
    expect(halfWritten(join(store, plan.hash))).toEqual([]);

    // Both workers took jobs, and SIGTERM stops each one cleanly.
    for (const w of [a, b]) expect(w.output()).toMatch(/: done in /);
    for (const w of [a, b]) expect(await stop(w)).toEqual({ code: 0, signal: null });
    for (const w of [a, b]) expect(w.output()).toMatch(/SIGTERM: finishing the current job, then stopping[^\n]*\n(.*\n)*\[worker pool-.\] stopped/);
  });

  it('a worker SIGKILLed mid-shard: the stalled job is retried on another worker, and the TSV still equals the local one', async () => {
    const store = join(tmp, 'store-kill');
    const settings = { sigma: 0.25, n0: 10, n: 20_000, points: 4 };
    const local = localCertify(settings, mkdtempSync(join(tmp, 'local-kill-')));
    const first = await worker('kill-a', store);
    const enqueue = owned(cli(['certify', reference, '--queue', redis.url, '--store', store, '--sigma', '0.25', '--n0', '10', '--n', '20000', '--points', '4', '--shard-size', '2'], backend));
    // Kill once the first worker has certified a point of its shard (rows stream to its scratch).
    const config = shardConfig({ task: 'fashion-tops', sigma: 0.25, n0: 10, n: 20_000, alpha: 0.001, batchSize: 1000 });
    const partials = join(tmp, 'scratch-kill-a', plan.hash, 'certify-shards', config);
    let killedRange = '';
    const until = Date.now() + 60_000;
    while (!killedRange) {
      if (Date.now() > until) throw new Error(`the first worker never certified a point:\n${first.output()}`);
      for (const range of existsSync(partials) ? readdirSync(partials) : []) {
        const f = join(partials, range, 'partial.tsv');
        if (existsSync(f) && readFileSync(f, 'utf8').split('\n').length - 1 >= 2) killedRange = range;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    first.child.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');
    const second = await worker('kill-b', store);
    const done = await enqueue.exited;
    expect(done.code, enqueue.output()).toBe(0);

    const [from, to] = killedRange.split('-').map(Number) as [number, number];
    const shard: CertifyShardJob = { version: 1, kind: 'certify-shard', plan: plan.hash, task: 'fashion-tops', sigma: 0.25, n0: 10, n: 20_000, alpha: 0.001, batchSize: 1000, points: 4, from, to };
    const queue = openTestQueue();
    try {
      // The enqueuing command is done once the shard is in the store; BullMQ records the job a moment later.
      await waitForState(queue, jobId(shard), 'completed');
      const job = (await queue.getJob(jobId(shard)))!;
      expect(job.returnvalue.worker).toBe('kill-b'); // the retry ran on the other worker...
      expect(job.stalledCounter + job.attemptsStarted).toBeGreaterThanOrEqual(2); // ...after BullMQ found the job stalled
    } finally {
      await queue.close();
    }
    expect(second.output()).toContain(`${from}-${to}: done in`);
    // The killed worker's partial rows never reached the store; the shard there holds each of its points once.
    expect(readFileSync(join(store, plan.hash, 'certify-shards', config, `${from}-${to}.tsv`), 'utf8').trimEnd().split('\n')).toHaveLength(1 + to - from);
    const tsv = join(reference, 'certify-cli', `${config}.tsv`);
    expect(tsvFacts(tsv)).toEqual(tsvFacts(await local));
    expect(await stop(second)).toEqual({ code: 0, signal: null });
  });

  it('a malformed job fails at once with a typed reason; a job failing 3 times stops the enqueuing command (exit 2) and queue status lists it', async () => {
    // This worker's store holds the plan (so jobs can be checked against it) but nothing trained.
    const store = join(tmp, 'store-strict');
    await new PathStore(store).put(plan.hash, [['plan.json', planJsonText(plan)]]);
    const w = await worker('strict', store);
    const queue = openTestQueue();
    try {
      const bad: [string, unknown, RegExp][] = [
        ['shell', { kind: 'shell', cmd: 'rm -rf /' }, /^rejected, nothing was run: job: kind must be one of 'stage', 'certify-shard', got 'shell'$/],
        ['escape', { version: 1, kind: 'stage', plan: '../../etc/passwd', stage: 'pretrain' }, /^rejected, nothing was run: job: plan must be a plan hash \(16 lowercase hex digits\), got '\.\.\/\.\.\/etc\/passwd'$/],
        ['extra', { version: 1, kind: 'stage', plan: plan.hash, stage: 'pretrain', script: 'x.js' }, /job: the fields of a stage job must be among .*, got 'script'/],
        ['task', { version: 1, kind: 'certify-shard', plan: plan.hash, task: 'mnist-digits', sigma: 0.5, n0: 5, n: 40, alpha: 0.01, batchSize: 1000, points: 6, from: 0, to: 2 }, /job: task must be a task plan [0-9a-f]{16} fine-tuned: 'fashion-tops', got 'mnist-digits'/],
        ['n0', { version: 1, kind: 'certify-shard', plan: plan.hash, task: 'fashion-tops', sigma: 0.5, n0: 50, n: 40, alpha: 0.01, batchSize: 1000, points: 6, from: 0, to: 2 }, /certify\(\{ n0, n \}\): n0 must be smaller than n = 40, got 50/],
      ];
      for (const [id, data] of bad) await queue.add('bad', data, { jobId: `bad-${id}`, attempts: 3 });
      // Well-formed, but its plan is in no store: worth retrying, and it fails for good after 3 tries.
      await queue.add('stage', { version: 1, kind: 'stage', plan: 'ffffffffffffffff', stage: 'pretrain' }, { jobId: 'unknown-plan', attempts: 3, backoff: { type: 'fixed', delay: 100 } });
      await waitForState(queue, 'unknown-plan', 'failed');
      const unknown = (await queue.getJob('unknown-plan'))!;
      expect(unknown.attemptsMade).toBe(3);
      expect(unknown.failedReason).toMatch(/^plan ffffffffffffffff is not in this worker's store \(.*store-strict\); start workers with the --store the enqueuing command used$/);
      for (const [id, , reason] of bad) {
        await waitForState(queue, `bad-${id}`, 'failed');
        const job = (await queue.getJob(`bad-${id}`))!;
        expect(job.failedReason, id).toMatch(reason);
        expect(job.attemptsMade, `${id} is not retried`).toBe(1);
      }
    } finally {
      await queue.close();
    }
    // Settings no worker would accept are refused before anything is enqueued, with the same check.
    const counts = await (async () => {
      const q = openTestQueue();
      try {
        return await q.getJobCounts();
      } finally {
        await q.close();
      }
    })();
    const refused = await certifyCommand.run([reference, '--queue', redis.url, '--store', store, '--sigma', '5']).then(() => null, (e: unknown) => e as Error);
    expect(isUserError(refused)).toBe(true);
    expect(refused!.message).toBe('job: sigma must be a number in (0, 4], got 5');
    const q = openTestQueue();
    expect(await q.getJobCounts()).toEqual(counts);
    await q.close();

    // The enqueuing command uses another store than the worker: the worker never finds the trained classifier.
    const enqueue = owned(cli(['certify', reference, '--queue', redis.url, '--store', join(tmp, 'elsewhere'), '--sigma', '0.5', '--n0', '5', '--n', '40', '--points', '2', '--shard-size', '2'], backend));
    const { code } = await enqueue.exited;
    expect(code, enqueue.output()).toBe(2);
    const last = enqueue.output().trimEnd().split('\n').at(-1)!;
    expect(last).toMatch(/^robustlab certify: job shard-[0-9a-f]{16}-\S+ \(certify plan .*\) failed after 3 attempt\(s\): plan [0-9a-f]{16} is not trained in the store yet \(.*store-strict has no pretrain\/checkpoint\.bin, finetune\/fashion-tops\.bin\); its stage job must finish first; fix the cause and run the command again/);
    expect(enqueue.output()).not.toMatch(/\n\s+at /); // one line, no stack trace
    const status = cli(['queue', 'status', '--redis', redis.url], backend);
    expect((await status.exited).code).toBe(0);
    expect(status.output()).toMatch(/workers: 1 \(strict\)/);
    expect(status.output()).toMatch(/failed:\n(.*\n)*  bad-shell  malformed job 'bad'  after 1 attempt\(s\): rejected, nothing was run: job: kind must be/);
    expect(status.output()).toMatch(/  shard-\S+  certify plan .* after 3 attempt\(s\): plan [0-9a-f]{16} is not trained in the store yet/);
    expect(status.output()).toMatch(/  unknown-plan  plan ffffffffffffffff through pretrain  after 3 attempt\(s\): plan ffffffffffffffff is not in this worker's store/);
    expect(await stop(w)).toEqual({ code: 0, signal: null });
  });

  it('sequential certification on the pool (certify --sequential --queue) assembles the TSV a local sequential run writes', async () => {
    const store = join(tmp, 'store-sequential');
    const w = await worker('pool-sequential', store);
    const radii = [0, 0.25, 0.5, 0.75, 1];
    const local = localCertify({ sigma: 0.5, n0: 5, n: 400, points: 6, sequential: radii }, mkdtempSync(join(tmp, 'local-sequential-')));
    const enqueue = owned(cli(['certify', reference, '--queue', redis.url, '--store', store, '--sigma', '0.5', '--n0', '5', '--n', '400', '--points', '6', '--shard-size', '2', '--sequential'], backend));
    const { code } = await enqueue.exited;
    expect(code, enqueue.output()).toBe(0);
    expect(enqueue.output()).toMatch(/sequential \(\d+ noisy passes\)/);
    const config = shardConfig({ task: 'fashion-tops', sigma: 0.5, n0: 5, n: 400, alpha: 0.001, batchSize: 1000, sequential: radii });
    const tsv = join(reference, 'certify-cli', `${config}.tsv`);
    expect(tsvFacts(tsv)).toEqual(tsvFacts(await local));
    // Each row records its own draws: at most n, and fewer where the point was decided early.
    const draws = tsvFacts(tsv).slice(1).map((l) => Number(l.split('\t').at(-1)));
    expect(draws.every((d) => d <= 400)).toBe(true);
    expect(draws.some((d) => d < 400)).toBe(true);
    expect(await stop(w)).toEqual({ code: 0, signal: null });
  });

  it('enqueue, restart Redis, then finish: over TLS with the password only in REDIS_URL, and nothing shared but Redis, the run completes with the local TSV', async () => {
    const password = 'pool-test-secret';
    const secure = await startRedis(join(tmp, 'redis-tls'), { password });
    try {
      // The password travels in REDIS_URL only; the command lines name the server without it.
      const env = { REDIS_URL: `rediss://:${password}@localhost:${secure.port}`, NODE_EXTRA_CA_CERTS: TLS_CERT };
      const settings = { sigma: 1, n0: 5, n: 400, points: 6 };
      const local = localCertify(settings, mkdtempSync(join(tmp, 'local-restart-')));
      const enqueue = owned(cli(['certify', reference, '--queue', secure.url, '--store', 'redis', '--sigma', '1', '--n0', '5', '--n', '400', '--points', '6', '--shard-size', '2'], backend, env));
      await enqueue.waitFor(/\[queue\] 0\/3 jobs done, 0 active, 3 waiting/);
      await secure.restart();
      const w = owned(cli(['worker', '--redis', secure.url, '--store', 'redis', '--work', join(tmp, 'scratch-tls'), '--name', 'after-restart'], backend, env));
      const { code } = await enqueue.exited;
      expect(code, enqueue.output()).toBe(0);
      expect(w.output()).toMatch(/queue: rediss:\/\/localhost:\d+[^\n]*\n(.*\n)*.*done in/);
      expect(enqueue.output()).not.toContain(password);
      const config = shardConfig({ task: 'fashion-tops', sigma: 1, n0: 5, n: 400, alpha: 0.001, batchSize: 1000 });
      expect(tsvFacts(join(reference, 'certify-cli', `${config}.tsv`))).toEqual(tsvFacts(await local));
      expect(await stop(w)).toEqual({ code: 0, signal: null });
      // Without the password, a one-line error that says where it goes.
      const refused = cli(['queue', 'status', '--redis', secure.url], backend, { NODE_EXTRA_CA_CERTS: TLS_CERT, REDIS_URL: '' });
      expect((await refused.exited).code).toBe(2);
      expect(refused.output().trimEnd()).toMatch(/^robustlab queue: Redis at rediss:\/\/localhost:\d+ refused the credentials \(NOAUTH .*\); put the right ones in REDIS_URL, e\.g\. REDIS_URL=redis:\/\/:PASSWORD@host:port$/);
    } finally {
      await secure.stop();
    }
  });
});
