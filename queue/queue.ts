/**
 * The one BullMQ queue of the pool, its job options and its timing.
 *
 * - A job is tried 3 times, with exponential back-off between tries; after the third failure it is
 *   parked in the failed set with its error (`robustlab queue status` lists it).
 * - A worker holds a lock on its job and renews it while it works (the engine returns to the event loop
 *   after every training step and every certified point). A worker killed mid-job stops renewing it;
 *   after the lock's duration BullMQ's stalled-job check moves the job back to the queue, and another
 *   worker takes it (at most twice per job, then it fails as stalled).
 * - Finished jobs stay in Redis for a day (so status can count them); failed ones until cleared.
 *
 * Advanced, for tests and slow networks: ROBUSTLAB_QUEUE_LOCK_MS (lock duration, default 60000; the
 * stalled check runs every half of it) and ROBUSTLAB_QUEUE_BACKOFF_MS (first retry delay, default 5000).
 */
import { Queue, type JobsOptions } from 'bullmq';
import { bullConnection, type RedisTarget } from './connection.js';
import { QueueError } from './errors.js';

export const QUEUE_NAME = 'jobs';
/** Redis keys of the queue start with robustlab:jobs: (the store's with robustlab:store:). */
export const QUEUE_PREFIX = 'robustlab';
export const ATTEMPTS = 3;
export const MAX_STALLED = 2;

function envMs(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const v = Number(raw);
  if (!(Number.isInteger(v) && v >= 100)) throw new QueueError(`${name} must be a whole number of milliseconds >= 100, got '${raw}'`);
  return v;
}

export function lockDurationMs(): number {
  return envMs('ROBUSTLAB_QUEUE_LOCK_MS', 60_000);
}

export function jobOptions(): JobsOptions {
  return {
    attempts: ATTEMPTS,
    backoff: { type: 'exponential', delay: envMs('ROBUSTLAB_QUEUE_BACKOFF_MS', 5_000) },
    removeOnComplete: { age: 24 * 3600 },
    removeOnFail: false,
  };
}

export function openQueue(target: RedisTarget): Queue {
  const queue = new Queue(QUEUE_NAME, { connection: bullConnection(target), prefix: QUEUE_PREFIX });
  queue.on('error', () => {
    // Connection trouble: the callers retry and say so.
  });
  return queue;
}
