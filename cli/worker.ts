/**
 * `robustlab worker`: a worker of the pool. Takes jobs from the queue's Redis until stopped, one at a
 * time, with a line per job. SIGTERM (or Ctrl-C) finishes the current job and then stops; a second one
 * returns the job to the queue at once. `--concurrency N` runs N worker processes here (tfjs computes on
 * one JavaScript thread per process, so processes are what runs jobs side by side).
 *
 * Threads: TensorFlow's training numerics depend on its intra-op thread count (its inference does not:
 * certified rows are the same whatever the threads). So by default every worker process keeps
 * TensorFlow's default, as a local run on this machine does, and trains the same checkpoints; `--threads K`
 * trades that for speed when several processes share the cores (checkpoints then equal a local run made
 * with TF_NUM_INTRAOP_THREADS=K).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { availableParallelism, hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultRunsDir } from '../engine/run-plan.js';
import { checkRedis, exposureWarning, resolveRedis } from '../queue/connection.js';
import { openStore } from '../queue/store.js';
import { startWorker, type RunningWorker } from '../queue/worker.js';
import { parseFlags, UsageError, type Command } from './command.js';

const usage = `robustlab worker [--redis URL] [--store DIR|redis] [--work DIR] [--concurrency N] [--threads K] [--name NAME]
  --redis        the queue (default $REDIS_URL, else redis://127.0.0.1:6379); put a password in REDIS_URL, not here
  --store        where plans, checkpoints and certified shards travel: a folder every worker and the
                 enqueuing command reach (default: the runs directory), or 'redis' (the queue's Redis, small models)
  --work         this worker's scratch runs directory (default <tmp>/robustlab-worker-<uid>)
  --concurrency  worker processes on this machine (default 1)
  --threads      TensorFlow threads per worker process (sets TF_NUM_INTRAOP_THREADS; default TensorFlow's
                 own, as in a local run). Certification is the same whatever K; trained checkpoints equal
                 those of runs made with the same K (e.g. --concurrency 2 --threads 1 on 2 cores)
  --name         shown in logs and in 'robustlab queue status' (default <host>-<pid>)`;

const log = (line: string) => process.stderr.write(line + '\n');

export const workerCommand: Command = {
  name: 'worker',
  summary: 'run jobs from the worker pool (BullMQ on Redis) until stopped: plan stages and certification shards',
  usage,
  async run(argv) {
    const { flags, positionals } = parseFlags(argv, { redis: 'string', store: 'string', work: 'string', concurrency: 'number', threads: 'number', name: 'string' });
    if (positionals.length) throw new UsageError(`worker takes no positional arguments, got '${positionals[0]}'; usage: ${usage.split('\n')[0]}`);
    const concurrency = (flags.concurrency as number | undefined) ?? 1;
    if (!(Number.isInteger(concurrency) && concurrency >= 1 && concurrency <= 64)) throw new UsageError(`--concurrency must be an integer from 1 to 64, got ${flags.concurrency}`);
    const threads = flags.threads as number | undefined;
    if (threads !== undefined && !(Number.isInteger(threads) && threads >= 1 && threads <= 1024)) throw new UsageError(`--threads must be a positive integer, got ${flags.threads}`);
    // Read by TensorFlow when the native backend loads (below, or in the forked workers): before any of it.
    if (threads !== undefined) process.env['TF_NUM_INTRAOP_THREADS'] = String(threads);
    const target = resolveRedis(flags.redis as string | undefined, '--redis');
    const warning = exposureWarning(target);
    if (warning) log(warning);
    await checkRedis(target);
    const name = (flags.name as string | undefined) ?? `${hostname()}-${process.pid}`;
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(name)) throw new UsageError(`--name takes letters, digits, '.', '_' and '-' (at most 64), got '${name}'`);
    if (concurrency > 1) return supervise(argv, concurrency, name);

    // Signals are handled from the start: one during start-up stops the worker as soon as it is up.
    let worker: RunningWorker | null = null;
    let signals = 0;
    let finish: (code: number) => void = () => {};
    const stopped = new Promise<number>((resolve) => (finish = resolve));
    const stop = () =>
      void worker!.stop().then(() => {
        log(`[worker ${name}] stopped`);
        if (process.connected) {
          // Forked by --concurrency: let go of the parent's channel, which would keep this process alive.
          process.removeAllListeners('disconnect');
          process.disconnect();
        }
        finish(0);
      });
    const onSignal = (signal: NodeJS.Signals) => {
      signals++;
      if (worker === null) {
        if (signals > 1) process.exit(0);
        log(`[worker ${name}] ${signal} while starting: stopping once started`);
      } else if (signals === 1) {
        log(`[worker ${name}] ${signal}: finishing the current job, then stopping (${signal} again returns it to the queue now)`);
        stop();
      } else {
        void worker.returnCurrentJob().then(
          (id) => {
            log(`[worker ${name}] ${id === null ? 'no job to return' : `returned job ${id} to the queue`}; stopped`);
            process.exit(0);
          },
          (e: unknown) => {
            log(`[worker ${name}] could not return the job (${(e as Error).message}); it goes back to the queue when its lock expires`);
            process.exit(1);
          },
        );
      }
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    // A worker forked by --concurrency stops with its parent, however the parent ended.
    if (process.send) process.on('disconnect', () => process.exit(1));
    worker = await startWorker({
      redis: target,
      store: openStore(flags.store as string | undefined, defaultRunsDir(), target),
      workDir: (flags.work as string | undefined) ?? join(tmpdir(), `robustlab-worker-${process.getuid?.() ?? 'user'}`),
      name,
      log,
    });
    if (signals > 0) stop();
    return stopped;
  },
};

/** Runs `n` single-job worker processes and passes signals on; exits when they all have. */
function supervise(argv: readonly string[], n: number, name: string): Promise<number> {
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--concurrency' || a === '--name' || a === '--threads') i++;
    else if (!/^--(concurrency|name|threads)=/.test(a)) rest.push(a);
  }
  const threads = process.env['TF_NUM_INTRAOP_THREADS'];
  log(`[worker ${name}] ${n} worker processes, ${threads ? `${threads} TensorFlow thread(s)` : `TensorFlow's default threads (${availableParallelism()} cores)`} each`);
  const children: ChildProcess[] = [];
  let failed = 0;
  let stopping = false;
  return new Promise<number>((resolve) => {
    let running = n;
    for (let i = 1; i <= n; i++) {
      const child = fork(process.argv[1]!, ['worker', ...rest, '--name', `${name}-${i}`], { env: process.env, stdio: 'inherit' });
      child.on('exit', (code, signal) => {
        // A worker stopped by our SIGTERM before it could handle signals had taken no job: a clean stop.
        if (code !== 0 && !(stopping && signal === 'SIGTERM')) {
          failed++;
          log(`[worker ${name}] worker ${name}-${i} ended (${signal ?? `exit ${code}`})`);
        }
        if (--running === 0) resolve(failed ? 1 : 0);
      });
      children.push(child);
    }
    const pass = (signal: NodeJS.Signals) => {
      stopping = true;
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill(signal);
    };
    process.on('SIGTERM', () => pass('SIGTERM'));
    // Ctrl-C reaches the whole process group: the workers have it already.
    process.on('SIGINT', () => undefined);
  });
}
