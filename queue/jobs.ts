/**
 * Jobs are plans, not code: a job is a small JSON record that names a compiled plan (by its content hash)
 * and a piece of its work. A worker checks every job here, with the DSL's own checkers, before it runs
 * anything, and then checks it once more against the plan it names (which the store holds, and which
 * Plan.fromJSON re-validates and re-compiles). No field is a path, a command or code: the hash, the task
 * (one of the plan's) and the numbers are all the worker derives file names from.
 *
 *   { version: 1, kind: 'stage', plan: '<16 hex>', stage: 'pretrain' | 'finetune' | 'evaluate' | 'certify' }
 *     run the plan up to and including that stage (finetune and evaluate run together, task by task)
 *   { version: 1, kind: 'certify-shard', plan, task, sigma, n0, n, alpha, batchSize, points, from, to[, sequential] }
 *     certify positions [from, to) of the plan's sample of `points` test points of `task` at `sigma`;
 *     with `sequential` (the radii it decides at), by sequential CERTIFY
 *
 * A seed of a sweep is a plan of its own (the seed is part of what the hash names), so seeds, methods
 * and sigmas all become stage and shard jobs.
 */
import { DslError } from '../dsl/errors.js';
import { integer, isPlainObject, oneOf, quoteList, real } from '../dsl/checks.js';
import type { PlanData, StageKind } from '../dsl/plan-types.js';
import { MAX_SIGMA, radiusList, resolveCertify } from '../dsl/validate.js';

export const JOB_VERSION = 1;

/** Stages a stage job may run through (load-data and split-tasks run with pretrain). */
export const JOB_STAGES = ['pretrain', 'finetune', 'evaluate', 'certify'] as const;

export interface StageJob {
  readonly version: 1;
  readonly kind: 'stage';
  readonly plan: string;
  readonly stage: (typeof JOB_STAGES)[number];
}

export interface CertifyShardJob {
  readonly version: 1;
  readonly kind: 'certify-shard';
  readonly plan: string;
  readonly task: string;
  readonly sigma: number;
  readonly n0: number;
  readonly n: number;
  readonly alpha: number;
  /** Noisy copies per forward pass: part of what fixes the noise, so it travels with the job. */
  readonly batchSize: number;
  /** Size of the sample the positions refer to. */
  readonly points: number;
  readonly from: number;
  readonly to: number;
  /** Sequential CERTIFY deciding at these radii; fixed-n CERTIFY when absent. */
  readonly sequential?: readonly number[];
}

export type QueueJob = StageJob | CertifyShardJob;

const FIELDS: Readonly<Record<QueueJob['kind'], readonly string[]>> = {
  stage: ['version', 'kind', 'plan', 'stage'],
  'certify-shard': ['version', 'kind', 'plan', 'task', 'sigma', 'n0', 'n', 'alpha', 'batchSize', 'points', 'from', 'to'],
};
const OPTIONAL_FIELDS: Readonly<Record<QueueJob['kind'], readonly string[]>> = { stage: [], 'certify-shard': ['sequential'] };

const CALL = 'job';
const PLAN_HASH = /^[0-9a-f]{16}$/;
const TASK_NAME = /^[a-z][a-z0-9-]{0,63}$/;

/**
 * The job's shape, checked field by field (a DslError names the field, the value and what is allowed).
 * It does not need the plan; checkJobAgainstPlan does the rest once the plan is loaded.
 */
export function validateJob(raw: unknown): QueueJob {
  if (!isPlainObject(raw)) throw new DslError({ call: CALL, what: 'the job', allowed: 'a JSON object like { version: 1, kind: ... }', value: raw });
  const kind = oneOf<QueueJob['kind']>(CALL, 'kind', raw['kind'], ['stage', 'certify-shard']);
  for (const key of Object.keys(raw)) {
    const known = [...FIELDS[kind], ...OPTIONAL_FIELDS[kind]];
    if (!known.includes(key)) throw new DslError({ call: CALL, what: `the fields of a ${kind} job`, allowed: `among ${quoteList(known)}`, value: key });
  }
  for (const key of FIELDS[kind]) {
    if (raw[key] === undefined) throw new DslError({ call: CALL, problem: `a ${kind} job needs the field '${key}'` });
  }
  integer(CALL, 'version', raw['version'], JOB_VERSION, JOB_VERSION, 'a job written by another robustlab version; enqueue it again');
  const plan = raw['plan'];
  if (typeof plan !== 'string' || !PLAN_HASH.test(plan)) throw new DslError({ call: CALL, what: 'plan', allowed: 'a plan hash (16 lowercase hex digits)', value: plan });
  if (kind === 'stage') return { version: 1, kind, plan, stage: oneOf(CALL, 'stage', raw['stage'], JOB_STAGES) };
  const task = raw['task'];
  if (typeof task !== 'string' || !TASK_NAME.test(task)) throw new DslError({ call: CALL, what: 'task', allowed: 'a downstream task name (lowercase letters, digits, dashes)', value: task });
  const points = integer(CALL, 'points', raw['points'], 1, 1_000_000);
  const from = integer(CALL, 'from', raw['from'], 0, points - 1);
  const to = integer(CALL, 'to', raw['to'], from + 1, points, 'from < to <= points');
  return {
    version: 1,
    kind,
    plan,
    task,
    sigma: real(CALL, 'sigma', raw['sigma'], { gt: 0, le: MAX_SIGMA }),
    n0: integer(CALL, 'n0', raw['n0'], 1, 10_000_000),
    n: integer(CALL, 'n', raw['n'], 1, 10_000_000),
    alpha: real(CALL, 'alpha', raw['alpha'], { gt: 0, lt: 0.5 }),
    batchSize: integer(CALL, 'batchSize', raw['batchSize'], 1, 1_000_000),
    points,
    from,
    to,
    ...(raw['sequential'] === undefined ? {} : { sequential: radiusList(raw['sequential']) }),
  };
}

/**
 * The job against the plan it names: the plan has that stage, or fine-tuned that task on images, and the
 * shard's settings pass the DSL's certify() resolver for this plan's spec.
 */
export function checkJobAgainstPlan(job: QueueJob, plan: PlanData): void {
  const kinds = plan.stages.map((s) => s.kind);
  if (job.kind === 'stage') {
    if (!kinds.includes(job.stage)) throw new DslError({ call: CALL, what: 'stage', allowed: `a stage of plan ${plan.hash}: ${quoteList(kinds.filter((k) => (JOB_STAGES as readonly string[]).includes(k)))}`, value: job.stage });
    return;
  }
  const ft = plan.spec.finetune;
  if (!ft || !ft.tasks.includes(job.task)) throw new DslError({ call: CALL, what: 'task', allowed: `a task plan ${plan.hash} fine-tuned: ${quoteList(ft?.tasks ?? [])}`, value: job.task });
  resolveCertify({ sigmas: [job.sigma], n0: job.n0, n: job.n, alpha: job.alpha, points: job.points, ...(job.sequential ? { radii: job.sequential, sequential: true } : {}) }, plan.spec);
}

/** The stage a plan is trained through before its certification is sharded (its last stage when it certifies nothing). */
export function trainingStage(plan: PlanData): StageJob['stage'] {
  const kinds = plan.stages.map((s) => s.kind);
  const last = kinds.includes('certify') ? kinds[kinds.indexOf('certify') - 1]! : kinds.at(-1)!;
  if (!(JOB_STAGES as readonly StageKind[]).includes(last)) throw new DslError({ call: CALL, problem: `plan ${plan.hash} ends with ${last}, which no job runs through` });
  return last as StageJob['stage'];
}

/**
 * Names a shard's configuration the way `robustlab certify` names its TSVs. The sample's size is left
 * out on purpose: position p is the same point for any sample of more than p points.
 */
export function shardConfig(job: Pick<CertifyShardJob, 'task' | 'sigma' | 'n0' | 'n' | 'alpha' | 'batchSize' | 'sequential'>): string {
  return `${job.task}-sigma-${job.sigma}-n0-${job.n0}-n-${job.n}-alpha-${job.alpha}-batch-${job.batchSize}${job.sequential ? `-sequential-${job.sequential.join('_')}` : ''}`;
}

/** A deterministic id: enqueuing the same work twice finds the job already there. */
export function jobId(job: QueueJob): string {
  return job.kind === 'stage' ? `stage-${job.plan}-${job.stage}` : `shard-${job.plan}-${shardConfig(job)}-${job.from}-${job.to}`;
}

export function describeJob(job: QueueJob): string {
  return job.kind === 'stage'
    ? `plan ${job.plan} through ${job.stage}`
    : `certify plan ${job.plan} ${job.task} sigma ${job.sigma} points ${job.from}-${job.to} of ${job.points} (n0 ${job.n0}, n ${job.n})`;
}
