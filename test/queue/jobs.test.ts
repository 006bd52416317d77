/**
 * The pool's contracts that need no Redis: a job is data checked with the DSL's checkers (a malformed
 * one is a one-line DslError naming the field), nothing from a job reaches a path outside the store,
 * Redis URLs (default loopback, rediss, a password only from REDIS_URL, never shown), and the commands'
 * one-line errors for a bad URL, an unreachable Redis or a misplaced flag.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { certifyCommand } from '../../cli/certify.js';
import { isUserError, type Command } from '../../cli/command.js';
import { queueCommand } from '../../cli/queue.js';
import { reproduceCommand } from '../../cli/reproduce.js';
import { workerCommand } from '../../cli/worker.js';
import { pretrain } from '../../dsl/index.js';
import { DslError } from '../../dsl/errors.js';
import { exposureWarning, redact, resolveRedis } from '../../queue/connection.js';
import { defaultShardSize } from '../../queue/enqueue.js';
import { experimentPlans } from '../../queue/experiment-plans.js';
import { checkJobAgainstPlan, jobId, shardConfig, trainingStage, validateJob } from '../../queue/jobs.js';
import { PathStore } from '../../queue/store.js';
import { certifiedPlans } from '../../experiments/certified.js';
import { TASK_ROBUST_CV, taskRobustPlans } from '../../experiments/task-robust.js';
import { shardPaths } from '../../queue/worker.js';

const certifying = pretrain({ dataset: 'fashionMnist', steps: 5, batchSize: 4, width: 4, depth: 1 })
  .finetune('fashion-tops', { steps: 5 })
  .evaluate({ maxExamples: 50 })
  .certify({ sigmas: [0.25, 0.5], n0: 5, n: 40, points: 6 })
  .compile({ target: 'cpu' })
  .toJSON();
const probing = pretrain({ dataset: 'fashionMnist', steps: 5 }).finetune('fashion-tops').compile({ target: 'cpu' }).toJSON();
const shard = { version: 1, kind: 'certify-shard', plan: certifying.hash, task: 'fashion-tops', sigma: 0.5, n0: 5, n: 40, alpha: 0.001, batchSize: 1000, points: 6, from: 2, to: 4 };

function dslErrorOf(f: () => unknown): DslError {
  try {
    f();
  } catch (e) {
    if (e instanceof DslError) return e;
    throw e;
  }
  throw new Error('expected a DslError');
}

describe('jobs are data, checked like a Spec', () => {
  it('accepts the two kinds and gives each a deterministic id without a colon', () => {
    expect(validateJob({ version: 1, kind: 'stage', plan: certifying.hash, stage: 'evaluate' })).toEqual({ version: 1, kind: 'stage', plan: certifying.hash, stage: 'evaluate' });
    expect(validateJob(shard)).toEqual(shard);
    const id = jobId(validateJob(shard));
    expect(id).toBe(`shard-${certifying.hash}-fashion-tops-sigma-0.5-n0-5-n-40-alpha-0.001-batch-1000-2-4`);
    expect(id).not.toContain(':');
    expect(jobId(validateJob(JSON.parse(JSON.stringify(shard))))).toBe(id);
    // A sequential shard carries the radii it decides at; they name its own TSVs.
    const sequential = { ...shard, sequential: [0, 0.5] };
    expect(validateJob(sequential)).toEqual(sequential);
    expect(jobId(validateJob(sequential))).toBe(`shard-${certifying.hash}-fashion-tops-sigma-0.5-n0-5-n-40-alpha-0.001-batch-1000-sequential-0_0.5-2-4`);
    expect(() => checkJobAgainstPlan(validateJob(sequential), certifying)).not.toThrow();
    expect(dslErrorOf(() => validateJob({ ...shard, sequential: [0.5, 0] })).message).toMatch(/radii must be strictly increasing/);
  });

  it('rejects a malformed job with one line that names the field, the value and what is allowed', () => {
    const cases: [unknown, RegExp][] = [
      ['rm -rf /', /^job: the job must be a JSON object like \{ version: 1, kind: \.\.\. \}, got 'rm -rf \/'$/],
      [{ kind: 'exec', cmd: 'ls' }, /^job: kind must be one of 'stage', 'certify-shard', got 'exec'$/],
      [{ version: 1, kind: 'stage', plan: certifying.hash, stage: 'pretrain', module: './evil.js' }, /^job: the fields of a stage job must be among 'version', 'kind', 'plan', 'stage', got 'module'$/],
      [{ version: 1, kind: 'stage', plan: certifying.hash }, /^job: a stage job needs the field 'stage'$/],
      [{ version: 2, kind: 'stage', plan: certifying.hash, stage: 'pretrain' }, /^job: version must be an integer between 1 and 1, got 2 \(hint: a job written by another robustlab version; enqueue it again\)$/],
      [{ ...shard, plan: '../../../etc/pass' }, /^job: plan must be a plan hash \(16 lowercase hex digits\), got '\.\.\/\.\.\/\.\.\/etc\/pass'$/],
      [{ ...shard, plan: certifying.hash.toUpperCase() }, /^job: plan must be a plan hash/],
      [{ ...shard, task: '../finetune/x' }, /^job: task must be a downstream task name \(lowercase letters, digits, dashes\), got '\.\.\/finetune\/x'$/],
      [{ ...shard, sigma: 'NaN' }, /^job: sigma must be a number in \(0, 4\], got 'NaN'$/],
      [{ ...shard, from: 4, to: 4 }, /^job: to must be an integer between 5 and 6, got 4 \(hint: from < to <= points\)$/],
      [{ ...shard, to: 7 }, /^job: to must be an integer between 3 and 6, got 7/],
      [{ ...shard, batchSize: 0 }, /^job: batchSize must be an integer between 1 and 1000000, got 0$/],
      [{ ...shard, alpha: 0.7 }, /^job: alpha must be a number in \(0, 0\.5\), got 0\.7$/],
      [{ ...shard, stage: 'pretrain' }, /^job: the fields of a certify-shard job must be among .*, got 'stage'$/],
    ];
    for (const [raw, message] of cases) {
      const e = dslErrorOf(() => validateJob(raw));
      expect(e.message, JSON.stringify(raw)).toMatch(message);
      expect(e.userError).toBe(true);
    }
  });

  it('checks a job against the plan it names with the DSL resolvers (stage present, task fine-tuned, certify settings valid)', () => {
    expect(() => checkJobAgainstPlan(validateJob(shard), certifying)).not.toThrow();
    expect(dslErrorOf(() => checkJobAgainstPlan(validateJob({ version: 1, kind: 'stage', plan: probing.hash, stage: 'certify' }), probing)).message).toMatch(
      /^job: stage must be a stage of plan [0-9a-f]{16}: 'pretrain', 'finetune', got 'certify'$/,
    );
    expect(dslErrorOf(() => checkJobAgainstPlan(validateJob({ ...shard, task: 'mnist-digits' }), certifying)).message).toMatch(/task must be a task plan [0-9a-f]{16} fine-tuned: 'fashion-tops', got 'mnist-digits'/);
    expect(dslErrorOf(() => checkJobAgainstPlan(validateJob({ ...shard, n0: 40 }), certifying)).message).toMatch(/^certify\(\{ n0, n \}\): n0 must be smaller than n = 40, got 40/);
  });

  it('trains a plan through the stage before certify, or through its last stage', () => {
    expect(trainingStage(certifying)).toBe('evaluate');
    expect(trainingStage(probing)).toBe('finetune');
    expect(defaultShardSize(500, 100 + 10_000)).toBe(20); // a full sigma: 25 jobs of ~200,000 noisy passes
    expect(defaultShardSize(10, 10 + 100)).toBe(10); // the smoke certification: one job per sigma
    expect(defaultShardSize(100, 1000 + 1_000_000)).toBe(1);
  });

  it("reproduce --queue hands the pool the experiment's own plans (none for the theory simulations)", () => {
    expect(experimentPlans('certified', { scale: 'smoke' })!.map((p) => p.hash)).toEqual(certifiedPlans('smoke').map((p) => p.plan.hash));
    const arm = TASK_ROBUST_CV.scales.smoke.seeds[0]!;
    expect(experimentPlans('task-robust-cv', { scale: 'smoke', seeds: [arm] })!.map((p) => p.hash)).toEqual(taskRobustPlans(TASK_ROBUST_CV, 'smoke', [arm]).map((p) => p.plan.hash));
    expect(experimentPlans('convex-convergence', { scale: 'smoke' })).toBeNull();
  });
});

describe('the store holds run files only', () => {
  const root = mkdtempSync(join(tmpdir(), 'rl-store-'));
  const store = new PathStore(root);
  const h = certifying.hash;

  it('writes atomically where the run store would, and lists shards', async () => {
    const paths = shardPaths(validateJob(shard) as Parameters<typeof shardPaths>[0]);
    await store.put(h, [['plan.json', '{}\n'], [paths.meta, '{"backend":"cpu"}\n'], [paths.tsv, 'index\n']]);
    expect(readFileSync(join(root, h, 'certify-shards', shardConfig(shard as never), '2-4.tsv'), 'utf8')).toBe('index\n');
    expect(await store.has(h, 'plan.json')).toBe(true);
    expect((await store.get(h, 'pretrain/checkpoint.bin'))).toBeNull();
    expect((await store.list(h, `certify-shards/${shardConfig(shard as never)}/`)).sort()).toEqual([paths.meta, paths.tsv].sort());
    await store.put(h, [['finetune/fashion-tops@20.bin', 'x'], ['stages/evaluate.json', '{}'], ['pretrain/metrics.csv', 'step\n']]);
    expect(await store.has(h, 'finetune/fashion-tops@20.bin')).toBe(true);
    expect(readdirSync(join(root, h), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('refuses any other path: traversal, absolute paths, foreign names, a hash that is not one', async () => {
    for (const [hash, path] of [
      [h, '../../../etc/passwd'],
      [h, '/etc/passwd'],
      [h, 'finetune/../../x.bin'],
      [h, 'pretrain/evil.sh'],
      [h, 'certify-shards/a/../../b/1-2.tsv'],
      ['..', 'plan.json'],
      ['0123456789abcdef/..', 'plan.json'],
    ] as const) {
      await expect(store.put(hash, [[path, 'x']]), `${hash} ${path}`).rejects.toThrow(/^the store holds run files only; refused /);
      await expect(store.get(hash, path)).rejects.toThrow(/refused/);
    }
    expect(existsSync(join(root, '..', 'etc'))).toBe(false);
  });
});

describe('Redis URLs', () => {
  it('default to this machine; take REDIS_URL without a flag; rediss means TLS', () => {
    expect(resolveRedis(undefined, '--redis', {})).toMatchObject({ shown: 'redis://127.0.0.1:6379', loopback: true, options: { host: '127.0.0.1', port: 6379, db: 0 } });
    const env = { REDIS_URL: 'rediss://:s3cret@queue.lab:6380/2' };
    const t = resolveRedis(undefined, '--redis', env);
    expect(t.options).toMatchObject({ host: 'queue.lab', port: 6380, db: 2, password: 's3cret', tls: { servername: 'queue.lab' } });
    expect(t.shown).toBe('rediss://queue.lab:6380/2');
    expect(exposureWarning(t)).toBeNull();
  });

  it('take a password from REDIS_URL for the same server only, and never show it', () => {
    const env = { REDIS_URL: 'redis://:s3cret@10.0.0.5:6379' };
    expect(resolveRedis('redis://10.0.0.5:6379', '--queue', env).options.password).toBe('s3cret');
    expect(resolveRedis('redis://10.0.0.6:6379', '--queue', env).options.password).toBeUndefined();
    expect(resolveRedis('redis://:other@10.0.0.5', '--queue', env).options.password).toBe('other');
    expect(redact('redis://user:s3cret@h:1')).toBe('redis://user:***@h:1');
    expect(exposureWarning(resolveRedis('redis://10.0.0.6:6379', '--queue', env))).toMatch(/^warning: Redis at redis:\/\/10\.0\.0\.6:6379 has no password and no TLS; /);
  });

  it('reject what is not a Redis URL with one line naming the flag', () => {
    expect(() => resolveRedis('http://h:6379', '--queue')).toThrow(/^--queue must be a Redis URL like redis:\/\/127\.0\.0\.1:6379 or rediss:\/\/host:6380 \(the scheme is http, not redis or rediss\), got 'http:\/\/h:6379'$/);
    expect(() => resolveRedis('redis://h:99999', '--redis')).toThrow(/\(not a URL\)|bad port/);
    expect(() => resolveRedis('redis://h/x', '--redis')).toThrow(/the database '\/x' is not a number from 0 to 15/);
    expect(() => resolveRedis('redis://:pw@h:1?x=1', '--redis')).toThrow(/query strings .* got 'redis:\/\/:\*\*\*@h:1\?x=1'/);
    expect(() => resolveRedis(undefined, '--redis', { REDIS_URL: 'localhost:6379' })).toThrow(/^REDIS_URL must be a Redis URL/);
  });
});

async function userErrorOf(cmd: Command, argv: readonly string[]): Promise<Error> {
  const thrown = await cmd.run(argv).then(() => null, (e: unknown) => e);
  if (!isUserError(thrown)) throw new Error(`${cmd.name} ${argv.join(' ')}: expected a user error, got ${thrown instanceof Error ? thrown.stack : String(thrown)}`);
  return thrown;
}

async function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

describe('pool commands: every user mistake is one line saying what to do', () => {
  it('bad URL, unreachable Redis, misplaced flags, unknown subcommand', async () => {
    const port = await closedPort();
    const cases: [Command, string[], RegExp][] = [
      [workerCommand, ['--redis', 'localhost:6379'], /^--redis must be a Redis URL like/],
      [workerCommand, ['--redis', `redis://127.0.0.1:${port}`], new RegExp(`^cannot reach Redis at redis://127\\.0\\.0\\.1:${port} \\(connect ECONNREFUSED 127\\.0\\.0\\.1:${port}\\); start it \\(redis-server --bind 127\\.0\\.0\\.1 --appendonly yes\\) or pass the right URL$`)],
      [workerCommand, ['--concurrency', '0'], /^--concurrency must be an integer from 1 to 64, got 0$/],
      [queueCommand, ['stats'], /^queue takes one subcommand, 'status', got 'stats'/],
      [queueCommand, ['status', '--redis', `redis://127.0.0.1:${port}`], /^cannot reach Redis at/],
      [reproduceCommand, ['certifed', '--queue', `redis://127.0.0.1:${port}`], /^unknown experiment 'certifed'; choose one of /],
      [reproduceCommand, ['certified', '--store', '/shared/runs'], /^--store goes with --queue URL \(the worker pool\)$/],
      [reproduceCommand, ['certified', '--queue', `redis://127.0.0.1:${port}`, '--shard-size', '0'], /^--shard-size must be a positive integer \(test points per job\), got 0$/],
      [certifyCommand, [join(tmpdir(), 'no-such-run'), '--queue', `redis://127.0.0.1:${port}`], /no-such-run is not a run directory \(no plan\.json\)/],
    ];
    for (const [cmd, argv, message] of cases) {
      const e = await userErrorOf(cmd, argv);
      expect(e.message, `${cmd.name} ${argv.join(' ')}`).toMatch(message);
      expect(e.message.split('\n')).toHaveLength(1);
    }
  });
});
