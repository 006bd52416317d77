/**
 * The plans a reproducible experiment runs, by experiment name: what `robustlab reproduce <name> --queue`
 * hands to the worker pool. They come from the same functions the experiments call, so the pool trains
 * exactly the runs the experiment then reads back. Experiments without such a list run on the enqueuing
 * machine: the theory simulations (not made of plans) and task-robust-pilots (which builds its plans
 * inside its run function; exporting them would let the pool take them too).
 */
import type { PlanData } from '../dsl/plan-types.js';
import { certifiedPlans } from '../experiments/certified.js';
import type { ExperimentOptions } from '../experiments/common.js';
import { TASK_ROBUST_CV, TASK_ROBUST_NLP, taskRobustPlans } from '../experiments/task-robust.js';

type PlanOptions = Pick<ExperimentOptions, 'scale' | 'seeds' | 'only'>;

const PLANS: Readonly<Record<string, (o: PlanOptions) => PlanData[]>> = {
  'task-robust-cv': (o) => taskRobustPlans(TASK_ROBUST_CV, o.scale, o.seeds, o.only).map((p) => p.plan.toJSON()),
  'task-robust-nlp': (o) => taskRobustPlans(TASK_ROBUST_NLP, o.scale, o.seeds, o.only).map((p) => p.plan.toJSON()),
  certified: (o) => certifiedPlans(o.scale, o.only).map((p) => p.plan.toJSON()),
};

/** The experiment's plans, or null when it is not made of plans. */
export function experimentPlans(name: string, o: PlanOptions): PlanData[] | null {
  return PLANS[name]?.(o) ?? null;
}
