/**
 * `robustlab queue status`: the worker pool's queue at a glance: jobs waiting, active (where, how far),
 * retrying, failed with their reasons, and the connected workers.
 */
import { checkRedis, exposureWarning, resolveRedis } from '../queue/connection.js';
import { formatSeconds } from '../queue/enqueue.js';
import { queueStatus } from '../queue/status.js';
import { openStore, type ArtifactStore } from '../queue/store.js';
import { parseFlags, UsageError, type Command } from './command.js';

const usage = `robustlab queue status [--redis URL] [--failed N]
  --redis   the queue (default $REDIS_URL, else redis://127.0.0.1:6379)
  --failed  list at most N failed jobs (default 20)`;

export const queueCommand: Command = {
  name: 'queue',
  summary: "the worker pool's queue: jobs waiting, active, failed (with reasons), and its workers",
  usage,
  async run(argv) {
    const { flags, positionals } = parseFlags(argv, { redis: 'string', failed: 'number' });
    if (positionals.length !== 1 || positionals[0] !== 'status') throw new UsageError(`queue takes one subcommand, 'status'${positionals[0] ? `, got '${positionals[0]}'` : ''}; usage: ${usage.split('\n')[0]}`);
    const maxFailed = (flags.failed as number | undefined) ?? 20;
    if (!(Number.isInteger(maxFailed) && maxFailed >= 1)) throw new UsageError(`--failed must be a positive integer, got ${flags.failed}`);
    const target = resolveRedis(flags.redis as string | undefined, '--redis');
    await checkRedis(target);
    const s = await queueStatus(target, maxFailed);
    const lines = [
      `queue on ${target.shown}: ${s.counts.waiting} waiting, ${s.counts.active} active, ${s.counts.delayed} retrying later, ${s.counts.failed} failed, ${s.counts.completed} completed (kept a day)`,
      `workers: ${s.workers.length ? `${s.workers.length} (${s.workers.join(', ')})` : 'none connected'}`,
    ];
    if (s.active.length) lines.push('active:', ...s.active.map((a) => `  ${a.id}  ${a.what}  on ${a.worker}${a.progress ? `  ${a.progress}` : ''}  for ${formatSeconds(a.seconds)}`));
    if (s.failed.length) lines.push(`failed${s.counts.failed > s.failed.length ? ` (latest ${s.failed.length})` : ''}:`, ...s.failed.map((f) => `  ${f.id}  ${f.what}  after ${f.attempts} attempt(s): ${f.reason}`));
    process.stdout.write(lines.join('\n') + '\n');
    return 0;
  },
};

/** --store and --shard-size without --queue: a one-line error. */
export function rejectPoolFlagsWithoutQueue(flags: Record<string, string | number | boolean>): void {
  for (const f of ['store', 'shard-size']) if (flags[f] !== undefined && flags.queue === undefined) throw new UsageError(`--${f} goes with --queue URL (the worker pool)`);
}

/** The --queue / --store / --shard-size flags of an enqueuing command, checked (Redis reached) and opened. */
export async function enqueueFlags(flags: Record<string, string | number | boolean>, storeFallback: string): Promise<{ target: ReturnType<typeof resolveRedis>; store: ArtifactStore; shardSize: number | undefined }> {
  const shardSize = flags['shard-size'] as number | undefined;
  if (shardSize !== undefined && !(Number.isInteger(shardSize) && shardSize >= 1)) throw new UsageError(`--shard-size must be a positive integer (test points per job), got ${shardSize}`);
  const target = resolveRedis(flags.queue as string, '--queue');
  const warning = exposureWarning(target);
  if (warning) process.stderr.write(warning + '\n');
  await checkRedis(target);
  return { target, store: openStore(flags.store as string | undefined, storeFallback, target), shardSize };
}
