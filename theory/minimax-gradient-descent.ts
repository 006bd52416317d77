/**
 * Full-batch gradient methods on k convex tasks, in float64, with the task weighting of the engine:
 * - softmax: p = softmaxTaskWeights(L(theta), eta), the gradient of F_eta (eta = 0 is average training);
 * - group DRO: p <- groupDroStep(p, L(theta), eta), exponentiated-gradient ascent on the weights.
 * Then theta <- theta - step * sum_i p_i grad L_i(theta).
 */
import { groupDroStep, softmaxTaskWeights } from '../engine/pretrain/softmax-weights.js';
import type { ConvexTask } from './convex-tasks.js';
import { distance } from './linear-algebra.js';
import { taskLosses } from './minimax-optimum.js';

export type TaskWeighting = { readonly kind: 'softmax'; readonly eta: number } | { readonly kind: 'group-dro'; readonly eta: number };

export interface DescentTrace {
  /** The checkpoints T (number of steps taken), ascending. */
  readonly steps: readonly number[];
  /** max_i L_i(theta_T) at each checkpoint. */
  readonly maxLoss: readonly number[];
  /** Task weights used at each checkpoint's step. */
  readonly weights: readonly Float64Array[];
  /** max_t ||theta_t - theta_0||: the iterates stay in the ball of this radius around theta_0. */
  readonly farthest: number;
}

/** Runs max(checkpoints) steps from theta0 with a constant step size, recording the max task loss at each checkpoint. */
export function minimaxGradientDescent(
  tasks: readonly ConvexTask[],
  theta0: ArrayLike<number>,
  weighting: TaskWeighting,
  stepSize: number,
  checkpoints: readonly number[],
): DescentTrace {
  const steps = [...new Set(checkpoints)].sort((a, b) => a - b);
  const last = steps[steps.length - 1] ?? 0;
  const d = theta0.length;
  const theta = Float64Array.from(theta0);
  let p = new Float64Array(tasks.length).fill(1 / tasks.length);
  const maxLoss: number[] = [];
  const weights: Float64Array[] = [];
  let farthest = 0;
  let next = 0;
  for (let t = 0; ; t++) {
    const losses = taskLosses(tasks, theta);
    p = weighting.kind === 'softmax' ? softmaxTaskWeights(losses, weighting.eta) : groupDroStep(p, losses, weighting.eta);
    if (t === steps[next]) {
      maxLoss.push(Math.max(...losses));
      weights.push(p);
      next++;
    }
    if (t === last) break;
    const direction = new Float64Array(d);
    tasks.forEach((task, i) => {
      const g = task.gradient(theta);
      for (let j = 0; j < d; j++) direction[j] += p[i]! * g[j]!;
    });
    for (let j = 0; j < d; j++) theta[j]! -= stepSize * direction[j]!;
    farthest = Math.max(farthest, distance(theta, theta0));
  }
  return { steps, maxLoss, weights, farthest };
}
