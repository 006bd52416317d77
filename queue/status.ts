/**
 * What the pool is doing: jobs waiting, active (on which worker, how far), retrying and failed (with
 * their reasons), and the connected workers. `robustlab queue status` prints it.
 */
import type { RedisTarget } from './connection.js';
import { describeJob, validateJob } from './jobs.js';
import { openQueue } from './queue.js';

export interface QueueStatus {
  readonly counts: { readonly waiting: number; readonly active: number; readonly delayed: number; readonly failed: number; readonly completed: number };
  readonly workers: readonly string[];
  readonly active: readonly { readonly id: string; readonly what: string; readonly worker: string; readonly progress: string; readonly seconds: number }[];
  readonly failed: readonly { readonly id: string; readonly what: string; readonly attempts: number; readonly reason: string }[];
}

function what(data: unknown, name: string): string {
  try {
    return describeJob(validateJob(data));
  } catch {
    return `malformed job '${name}'`;
  }
}

export async function queueStatus(target: RedisTarget, maxFailed = 20): Promise<QueueStatus> {
  const queue = openQueue(target);
  try {
    const c = await queue.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'failed', 'completed');
    const active = await queue.getActive();
    const failed = await queue.getFailed(0, maxFailed - 1);
    const clients = await queue.getWorkers();
    return {
      counts: { waiting: (c['waiting'] ?? 0) + (c['prioritized'] ?? 0), active: c['active'] ?? 0, delayed: c['delayed'] ?? 0, failed: c['failed'] ?? 0, completed: c['completed'] ?? 0 },
      workers: clients.map((w) => (w['rawname'] ?? '').split(':w:')[1] ?? w['addr'] ?? '?').sort(),
      active: active.map((j) => {
        const p = j.progress as { fraction?: number; note?: string } | number | undefined;
        const progress = typeof p === 'object' && p !== null && typeof p.fraction === 'number' ? `${Math.floor(100 * p.fraction)}%${p.note ? ` (${p.note})` : ''}` : '';
        return { id: String(j.id), what: what(j.data, j.name), worker: j.processedBy ?? '?', progress, seconds: j.processedOn ? (Date.now() - j.processedOn) / 1000 : 0 };
      }),
      failed: failed.map((j) => ({ id: String(j.id), what: what(j.data, j.name), attempts: j.attemptsMade, reason: j.failedReason ?? '' })),
    };
  } finally {
    await queue.close();
  }
}
