/**
 * Convex convergence of the task-robust (minimax) algorithm: softmax-weighted gradient descent on k
 * convex tasks, measured against the guarantee of convergence-bound.ts and against a certified OPT,
 * with average training (eta = 0) and Group DRO beside it.
 */
import { table } from 'arquero';
import type { ExperimentResult, FigureSpec, Scale } from './experiment-result.js';
import { convergenceBound, convergenceConstants, convergenceStepSize, scheduledEta, type ConvergenceConstants } from '../theory/convergence-bound.js';
import { seededLeastSquares, seededLogistic, type ConvexTask } from '../theory/convex-tasks.js';
import { minimaxGradientDescent } from '../theory/minimax-gradient-descent.js';
import { gaussianSource } from '../theory/random.js';

export interface ConvexInstance {
  readonly name: string;
  readonly tasks: readonly ConvexTask[];
  readonly theta0: Float64Array;
}

/**
 * The three problem instances, each on its own seeded data: 4 least-squares tasks whose targets differ
 * in scale (d = 8, n = 60 each), 5 L2-regularised logistic-regression tasks whose true parameters
 * scatter around a shared direction (d = 6, n = 100, lambda = 0.05), and a mix of 3 of each (d = 8). theta_0 = 0.
 */
export function convexInstances(seed: number): ConvexInstance[] {
  const leastSquares = (rng: ReturnType<typeof gaussianSource>, count: number, d: number) =>
    Array.from({ length: count }, (_, i) => seededLeastSquares(rng, 60, d, 1 + i, 0.5));
  // Logistic tasks share a direction (the first axis) and differ in a random task-specific part, so the
  // minimax point is away from theta_0 = 0 and the tasks genuinely conflict.
  const logistic = (rng: ReturnType<typeof gaussianSource>, count: number, d: number) =>
    Array.from({ length: count }, () => {
      const w = rng.fillNormal(new Float64Array(d)).map((v) => 1.5 * v);
      w[0]! += 2;
      return seededLogistic(rng, 100, w, 0.05);
    });
  const mixed = gaussianSource(seed, 3);
  return [
    { name: 'least-squares', tasks: leastSquares(gaussianSource(seed, 1), 4, 8), theta0: new Float64Array(8) },
    { name: 'logistic', tasks: logistic(gaussianSource(seed, 2), 5, 6), theta0: new Float64Array(6) },
    { name: 'mixed', tasks: [...leastSquares(mixed, 3, 8), ...logistic(mixed, 3, 8)], theta0: new Float64Array(8) },
  ];
}

/** Ordinary least-squares slope of log(y) on log(x). */
export function logLogSlope(x: readonly number[], y: readonly number[]): number {
  const lx = x.map(Math.log);
  const ly = y.map(Math.log);
  const mx = lx.reduce((a, b) => a + b, 0) / lx.length;
  const my = ly.reduce((a, b) => a + b, 0) / ly.length;
  let sxy = 0;
  let sxx = 0;
  lx.forEach((v, i) => {
    sxy += (v - mx) * (ly[i]! - my);
    sxx += (v - mx) ** 2;
  });
  return sxy / sxx;
}

export interface InstanceConvergence {
  readonly instance: string;
  readonly constants: ConvergenceConstants;
  /** Runs on the eta_T = sqrt(T log k)/(G R) schedule, one run per T. */
  readonly schedule: readonly { steps: number; eta: number; gap: number; bound: number; farthest: number }[];
  /** Fitted log-log slope of the measured gap against T on the schedule. */
  readonly slope: number;
  /** Fixed-eta runs: gap and bound at every checkpoint. */
  readonly sweep: readonly { eta: number; steps: number; gap: number; bound: number; farthest: number }[];
  /** Average training (eta = 0, step 1/L) and Group DRO (step 1/L) at every checkpoint. */
  readonly baselines: readonly { method: string; steps: number; gap: number }[];
}

/**
 * Runs one instance. Gaps are max_i L_i(theta_T) - OPT with OPT taken as the certified dual lower bound,
 * so a reported gap is never smaller than the true one (the bound check is conservative).
 */
export function convergeInstance(instance: ConvexInstance, checkpoints: readonly number[]): InstanceConvergence {
  const { tasks, theta0 } = instance;
  const c = convergenceConstants(tasks, theta0);
  const opt = c.optimum.dual;
  const schedule = checkpoints.map((steps) => {
    const eta = scheduledEta(c, steps);
    const run = minimaxGradientDescent(tasks, theta0, { kind: 'softmax', eta }, convergenceStepSize(c, eta), [steps]);
    return { steps, eta, gap: run.maxLoss[0]! - opt, bound: convergenceBound(c, eta, steps), farthest: run.farthest };
  });
  const last = checkpoints[checkpoints.length - 1]!;
  const etaLast = scheduledEta(c, last);
  const sweep = [1 / 64, 1 / 16, 1 / 4, 1, 4, 16].flatMap((factor) => {
    const eta = etaLast * factor;
    const run = minimaxGradientDescent(tasks, theta0, { kind: 'softmax', eta }, convergenceStepSize(c, eta), checkpoints);
    return run.steps.map((steps, i) => ({ eta, steps, gap: run.maxLoss[i]! - opt, bound: convergenceBound(c, eta, steps), farthest: run.farthest }));
  });
  const baselineStep = 1 / c.smoothness;
  const average = minimaxGradientDescent(tasks, theta0, { kind: 'softmax', eta: 0 }, baselineStep, checkpoints);
  // Group DRO's weight step: exponentiated gradient with the same eta scale as the schedule's last run,
  // divided by T (its weights accumulate eta * sum_t L(theta_t), so after T steps they match softmax(eta L)).
  const groupDro = minimaxGradientDescent(tasks, theta0, { kind: 'group-dro', eta: etaLast / last }, baselineStep, checkpoints);
  const baselines = [
    ...average.steps.map((steps, i) => ({ method: 'average (eta = 0)', steps, gap: average.maxLoss[i]! - opt })),
    ...groupDro.steps.map((steps, i) => ({ method: 'group DRO', steps, gap: groupDro.maxLoss[i]! - opt })),
  ];
  return {
    instance: instance.name,
    constants: c,
    schedule,
    slope: logLogSlope(
      schedule.map((s) => s.steps),
      schedule.map((s) => s.gap),
    ),
    sweep,
    baselines,
  };
}

const logAxes = (x: string, y: string) => ({
  xaxis: { title: { text: x }, type: 'log' },
  yaxis: { title: { text: y }, type: 'log' },
});

export function convexConvergence(options: { scale: Scale; seed: number }): ExperimentResult {
  const started = performance.now();
  const checkpoints = options.scale === 'smoke' ? [10, 30, 100, 300, 1000] : [10, 30, 100, 300, 1000, 3000, 10000];
  const results = convexInstances(options.seed).map((instance) => convergeInstance(instance, checkpoints));
  const held = (r: InstanceConvergence) =>
    r.schedule.every((s) => s.gap <= s.bound && s.farthest <= r.constants.region) &&
    r.sweep.every((s) => s.gap <= s.bound && s.farthest <= r.constants.region);

  const instances = table({
    instance: results.map((r) => r.instance),
    k: results.map((r) => r.constants.k),
    L: results.map((r) => r.constants.smoothness),
    G: results.map((r) => r.constants.lipschitz),
    R: results.map((r) => r.constants.radius),
    region_radius: results.map((r) => r.constants.region),
    opt_primal: results.map((r) => r.constants.optimum.primal),
    opt_dual: results.map((r) => r.constants.optimum.dual),
    opt_relative_gap: results.map((r) => r.constants.optimum.relativeGap),
    active_tasks: results.map((r) => r.constants.optimum.active.length),
    slope: results.map((r) => r.slope),
    bound_held: results.map(held),
  });
  const schedule = table({
    instance: results.flatMap((r) => r.schedule.map(() => r.instance)),
    steps: results.flatMap((r) => r.schedule.map((s) => s.steps)),
    eta: results.flatMap((r) => r.schedule.map((s) => s.eta)),
    gap: results.flatMap((r) => r.schedule.map((s) => s.gap)),
    bound: results.flatMap((r) => r.schedule.map((s) => s.bound)),
  });
  const sweep = table({
    instance: results.flatMap((r) => r.sweep.map(() => r.instance)),
    eta: results.flatMap((r) => r.sweep.map((s) => s.eta)),
    steps: results.flatMap((r) => r.sweep.map((s) => s.steps)),
    gap: results.flatMap((r) => r.sweep.map((s) => s.gap)),
    bound: results.flatMap((r) => r.sweep.map((s) => s.bound)),
  });
  const baselines = table({
    instance: results.flatMap((r) => [...r.baselines.map(() => r.instance), ...r.schedule.map(() => r.instance)]),
    method: results.flatMap((r) => [...r.baselines.map((b) => b.method), ...r.schedule.map(() => 'minimax (eta schedule)')]),
    steps: results.flatMap((r) => [...r.baselines.map((b) => b.steps), ...r.schedule.map((s) => s.steps)]),
    gap: results.flatMap((r) => [...r.baselines.map((b) => b.gap), ...r.schedule.map((s) => s.gap)]),
  });

  const gapAxis = 'max-task gap max_i L_i(theta_T) - OPT (loss units, log)';
  const stepsAxis = 'steps T (log)';
  const figures: FigureSpec[] = [
    {
      name: 'convex-gap-vs-steps',
      data: results.flatMap((r) => [
        { type: 'scatter', mode: 'lines+markers', name: `${r.instance}: measured`, x: r.schedule.map((s) => s.steps), y: r.schedule.map((s) => s.gap) },
        { type: 'scatter', mode: 'lines', line: { dash: 'dash' }, name: `${r.instance}: bound`, x: r.schedule.map((s) => s.steps), y: r.schedule.map((s) => s.bound) },
      ]),
      layout: { title: { text: 'Max-task gap vs T on the schedule eta = sqrt(T log k)/(G R), with the guaranteed bound' }, ...logAxes(stepsAxis, gapAxis) },
    },
    {
      name: 'convex-eta-sweep',
      data: results.flatMap((r) => {
        const atLast = r.sweep.filter((s) => s.steps === checkpoints[checkpoints.length - 1]);
        return [
          { type: 'scatter', mode: 'lines+markers', name: `${r.instance}: measured`, x: atLast.map((s) => s.eta), y: atLast.map((s) => s.gap) },
          { type: 'scatter', mode: 'lines', line: { dash: 'dash' }, name: `${r.instance}: bound`, x: atLast.map((s) => s.eta), y: atLast.map((s) => s.bound) },
        ];
      }),
      layout: { title: { text: `Effect of eta at T = ${checkpoints[checkpoints.length - 1]} (step 1/(L + eta G^2))` }, ...logAxes('eta (1/loss units, log)', gapAxis) },
    },
    {
      name: 'convex-baselines',
      data: results.flatMap((r) => {
        const methods = ['average (eta = 0)', 'group DRO'];
        return [
          ...methods.map((m) => {
            const rows = r.baselines.filter((b) => b.method === m);
            return { type: 'scatter', mode: 'lines+markers', name: `${r.instance}: ${m}`, x: rows.map((b) => b.steps), y: rows.map((b) => b.gap) };
          }),
          { type: 'scatter', mode: 'lines+markers', name: `${r.instance}: minimax (schedule)`, x: r.schedule.map((s) => s.steps), y: r.schedule.map((s) => s.gap) },
        ];
      }),
      layout: { title: { text: 'Average training plateaus; minimax and Group DRO approach OPT' }, ...logAxes(stepsAxis, gapAxis) },
    },
  ];

  const fmt = (v: number) => v.toPrecision(3);
  const lines = results.map((r) => {
    const c = r.constants;
    const avg = r.baselines.filter((b) => b.method === 'average (eta = 0)');
    const dro = r.baselines.filter((b) => b.method === 'group DRO');
    const lastS = r.schedule[r.schedule.length - 1]!;
    return (
      `| ${r.instance} | ${c.k} | ${fmt(c.smoothness)} | ${fmt(c.lipschitz)} | ${fmt(c.radius)} | ${c.optimum.primal.toPrecision(10)} | ${c.optimum.relativeGap.toExponential(1)} | ` +
      `${r.slope.toFixed(3)} | ${fmt(lastS.gap)} / ${fmt(lastS.bound)} | ${fmt(avg[avg.length - 1]!.gap)} | ${fmt(dro[dro.length - 1]!.gap)} | ${held(r) ? 'yes' : 'NO'} |`
    );
  });
  const allHeld = results.every(held);
  const ratios = results.flatMap((r) => r.schedule.map((s) => s.bound / s.gap));
  const looseness = { min: Math.min(...ratios), max: Math.max(...ratios) };
  const slopesHeld = results.every((r) => r.slope <= -0.45);
  const summary = [
    `## Convex convergence of softmax-weighted gradient descent (${options.scale}, seed ${options.seed})`,
    '',
    'Setting: k convex tasks on seeded Gaussian data (least squares; L2-regularised logistic regression; a mix), ' +
      'full-batch gradient descent on F_eta = smoothMax(L, eta) with step 1/(L + eta G^2) from theta_0 = 0, float64. ' +
      'OPT is certified independently by a primal point and dual weights (weak duality); gaps are measured against the dual value. ' +
      'L is the largest task smoothness (an eigenvalue bound), G bounds every task gradient on a ball around theta_0 that the iterates are checked to stay in, R = ||theta_0 - theta*||.',
    '',
    '| instance | k | L | G | R | OPT | OPT rel. certificate | slope on eta ~ sqrt(T) | gap / bound at last T | average gap at last T | group DRO gap at last T | gap <= bound at every T and eta |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...lines,
    '',
    `Claim "max-task gap <= (L + eta G^2) R^2/(2T) + log(k)/eta": ${allHeld ? 'held at every T, every eta and every instance' : 'VIOLATED on some run (see table)'}.`,
    `Claim "rate O(1/sqrt(T)) on eta ~ sqrt(T log k)/(G R)": fitted slopes ${results.map((r) => r.slope.toFixed(3)).join(', ')} ` +
      `(${slopesHeld ? 'all <= -0.45: held' : 'not all <= -0.45: NOT held'}). ` +
      `The bound is loose by a factor ${fmt(looseness.min)}-${fmt(looseness.max)} on the schedule (G is a worst case over the region), but the measured rate matches it.`,
    `Average training (eta = 0) plateaus at a positive max-task gap, since it minimises the mean, not the max; Group DRO (weight step eta_T/T, step 1/L) is shown at equal steps: it reaches gaps ${results.map((r) => fmt(r.baselines.filter((b) => b.method === 'group DRO').at(-1)!.gap)).join(', ')} at the last T, ` +
      'so on these smooth, strongly convex problems it is competitive with (or better than) the softmax schedule, whose eta is tuned to the worst-case bound rather than to the problem.',
  ].join('\n');

  return {
    name: 'theory-convex-convergence',
    title: 'Convex convergence of task-robust (minimax) pre-training',
    scale: options.scale,
    tables: { instances, schedule, 'eta-sweep': sweep, baselines },
    figures,
    summary,
    seconds: (performance.now() - started) / 1000,
    backend: 'cpu (float64 JavaScript)',
  };
}
