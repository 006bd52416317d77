/**
 * An independent, certified value of OPT = min_theta max_i L_i(theta) for convex tasks.
 *
 * Certificate: for any theta, max_i L_i(theta) >= OPT (primal upper bound); for any p in the simplex,
 * D(p) = min_theta sum_i p_i L_i(theta) <= OPT (weak duality: sum_i p_i L_i <= max_i L_i pointwise).
 * When the two meet to 1e-8 relative, OPT is known to that accuracy whatever solver produced theta and p.
 *
 * Solver (any would do, the certificate does not trust it): Newton's method on the smoothed max
 * F_eta = smoothMax(L(theta), eta) along a continuation eta = 0, 4/l, 16/l, ... (l the mean loss), which
 * identifies the active tasks and their weights, then Newton's method on the KKT system of the
 * epigraph form  min t  s.t.  L_i(theta) <= t,  polished with an active-set loop until the multipliers
 * are >= 0 and no inactive task exceeds t.
 */
import { smoothMax, softmaxTaskWeights } from '../engine/pretrain/softmax-weights.js';
import type { ConvexTask } from './convex-tasks.js';
import { cholesky, choleskySolve, dot, luSolve } from './linear-algebra.js';

export function taskLosses(tasks: readonly ConvexTask[], theta: ArrayLike<number>): Float64Array {
  return Float64Array.from(tasks, (t) => t.loss(theta));
}

export function maxTaskLoss(tasks: readonly ConvexTask[], theta: ArrayLike<number>): number {
  return Math.max(...taskLosses(tasks, theta));
}

/**
 * Damped Newton minimisation of a smooth strongly convex objective given value, gradient and Hessian
 * (Armijo backtracking; stops when the Newton decrement no longer changes the value in float64).
 */
function newtonMinimise(
  start: ArrayLike<number>,
  evaluate: (theta: Float64Array) => { value: number; gradient: Float64Array; hessian: Float64Array },
  value: (theta: Float64Array) => number,
): Float64Array {
  const d = start.length;
  let theta = Float64Array.from(start);
  for (let iter = 0; iter < 200; iter++) {
    const { value: f, gradient, hessian } = evaluate(theta);
    const step = choleskySolve(cholesky(hessian, d), d, gradient);
    const decrement = dot(gradient, step);
    if (!(decrement > 1e-28 * (1 + Math.abs(f)))) break;
    let t = 1;
    let next = theta;
    for (let halvings = 0; halvings < 60; halvings++, t /= 2) {
      next = theta.map((v, j) => v - t * step[j]!);
      if (value(next) <= f - 1e-4 * t * decrement) break;
    }
    if (next.every((v, j) => v === theta[j])) break;
    theta = next;
    if (decrement < 1e-24 * (1 + Math.abs(f))) break;
  }
  return theta;
}

/** Sum_i p_i (value, gradient, Hessian) of the tasks at theta. */
function weightedModel(tasks: readonly ConvexTask[], p: ArrayLike<number>, theta: Float64Array) {
  const d = theta.length;
  let value = 0;
  const gradient = new Float64Array(d);
  const hessian = new Float64Array(d * d);
  tasks.forEach((task, i) => {
    const pi = p[i]!;
    if (pi === 0) return;
    value += pi * task.loss(theta);
    const g = task.gradient(theta);
    const h = task.hessian(theta);
    for (let j = 0; j < d; j++) gradient[j] += pi * g[j]!;
    for (let j = 0; j < d * d; j++) hessian[j] += pi * h[j]!;
  });
  return { value, gradient, hessian };
}

export interface DualBound {
  /** A certified lower bound on D(p) = min_theta sum_i p_i L_i(theta), hence on OPT. */
  readonly value: number;
  /** The inner minimiser theta(p). */
  readonly theta: Float64Array;
}

/**
 * Weak-duality lower bound D(p) <= OPT for weights p in the simplex. The inner minimum is found by
 * Newton's method (one exact step for quadratics); its residual is accounted for, not ignored: with
 * mu = sum_i p_i mu_i the strong-convexity modulus, min f >= f(theta) - ||grad f(theta)||^2 / (2 mu).
 */
export function dualLowerBound(tasks: readonly ConvexTask[], p: ArrayLike<number>, start?: ArrayLike<number>): DualBound {
  const d = tasks[0]!.dim;
  const theta = newtonMinimise(
    start ?? new Float64Array(d),
    (th) => weightedModel(tasks, p, th),
    (th) => tasks.reduce((s, task, i) => (p[i]! === 0 ? s : s + p[i]! * task.loss(th)), 0),
  );
  const { value, gradient } = weightedModel(tasks, p, theta);
  const mu = tasks.reduce((s, task, i) => s + p[i]! * task.strongConvexity, 0);
  return { value: value - dot(gradient, gradient) / (2 * mu), theta };
}

/**
 * The minimiser of F_eta(theta) = (1/eta) log sum_i exp(eta L_i(theta)) (eta = 0: the average loss),
 * by Newton's method. grad F = sum p_i g_i and Hess F = sum p_i H_i + eta (sum p_i g_i g_i^T - gbar gbar^T)
 * with p = softmax(eta L).
 */
export function smoothedMinimiser(tasks: readonly ConvexTask[], eta: number, start: ArrayLike<number>): Float64Array {
  const d = tasks[0]!.dim;
  const evaluate = (theta: Float64Array) => {
    const losses = taskLosses(tasks, theta);
    const p = softmaxTaskWeights(losses, eta);
    const grads = tasks.map((t) => t.gradient(theta));
    const { gradient, hessian } = weightedModel(tasks, p, theta);
    if (eta > 0) {
      grads.forEach((g, i) => {
        for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) hessian[a * d + b] += eta * p[i]! * g[a]! * g[b]!;
      });
      for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) hessian[a * d + b] -= eta * gradient[a]! * gradient[b]!;
    }
    return { value: smoothMax(losses, eta), gradient, hessian };
  };
  return newtonMinimise(start, evaluate, (theta) => smoothMax(taskLosses(tasks, theta), eta));
}

/**
 * Newton's method on the KKT conditions of min t s.t. L_i(theta) <= t for i in the active set S:
 * sum_S p_i grad L_i = 0, L_i(theta) = t (i in S), sum_S p_i = 1. Unknowns (theta, p_S, t).
 */
function solveKkt(tasks: readonly ConvexTask[], active: number[], theta0: Float64Array, p0: Float64Array) {
  const d = theta0.length;
  const s = active.length;
  const size = d + s + 1;
  const theta = Float64Array.from(theta0);
  const p = Float64Array.from(active, (i) => p0[i]!);
  let t = Math.max(...active.map((i) => tasks[i]!.loss(theta)));
  let residualNorm = Infinity;
  for (let iter = 0; iter < 50; iter++) {
    const grads = active.map((i) => tasks[i]!.gradient(theta));
    const r = new Float64Array(size);
    const jac = new Float64Array(size * size);
    active.forEach((i, a) => {
      const h = tasks[i]!.hessian(theta);
      for (let u = 0; u < d; u++) {
        r[u] += p[a]! * grads[a]![u]!;
        for (let v = 0; v < d; v++) jac[u * size + v] += p[a]! * h[u * d + v]!;
        jac[u * size + d + a] = grads[a]![u]!;
        jac[(d + a) * size + u] = grads[a]![u]!;
      }
      r[d + a] = tasks[i]!.loss(theta) - t;
      jac[(d + a) * size + d + s] = -1;
      jac[(d + s) * size + d + a] = 1;
    });
    r[d + s] = p.reduce((x, y) => x + y, 0) - 1;
    const next = Math.max(...r.map(Math.abs));
    if (next === 0 || (iter > 3 && next >= residualNorm)) break;
    residualNorm = next;
    const delta = luSolve(jac, size, r);
    for (let u = 0; u < d; u++) theta[u]! -= delta[u]!;
    for (let a = 0; a < s; a++) p[a]! -= delta[d + a]!;
    t -= delta[d + s]!;
  }
  const weights = new Float64Array(tasks.length);
  active.forEach((i, a) => (weights[i] = p[a]!));
  return { theta, weights, t };
}

export interface MinimaxCertificate {
  /** A near-optimal minimax point theta*. */
  readonly theta: Float64Array;
  /** Near-optimal dual weights p* (the task weights of the minimax problem). */
  readonly weights: Float64Array;
  /** max_i L_i(theta*) >= OPT. */
  readonly primal: number;
  /** D(p*) <= OPT, certified (inner-minimisation residual accounted for). */
  readonly dual: number;
  /** (primal - dual) / |primal|: OPT is known to this relative accuracy. */
  readonly relativeGap: number;
  /** Tasks with positive weight at the optimum. */
  readonly active: readonly number[];
}

/** Certifies OPT = min_theta max_i L_i(theta) by a primal point and dual weights (see the file comment). */
export function certifyMinimax(tasks: readonly ConvexTask[], start?: ArrayLike<number>): MinimaxCertificate {
  const k = tasks.length;
  let theta = smoothedMinimiser(tasks, 0, start ?? new Float64Array(tasks[0]!.dim));
  const scale = taskLosses(tasks, theta).reduce((a, b) => a + b, 0) / k;
  let eta = 0;
  for (eta = 4 / scale; eta <= 4 ** 11 / scale; eta *= 4) theta = smoothedMinimiser(tasks, eta, theta);
  let p = softmaxTaskWeights(taskLosses(tasks, theta), eta / 4);
  let active = Array.from(p.keys()).filter((i) => p[i]! > 1e-9);
  let best = { theta, weights: p };
  for (let round = 0; round < 2 * k; round++) {
    const kkt = solveKkt(tasks, active, theta, p);
    if (!kkt.theta.every(Number.isFinite)) break;
    const losses = taskLosses(tasks, kkt.theta);
    const negative = active.filter((i) => kkt.weights[i]! < 0).sort((i, j) => kkt.weights[i]! - kkt.weights[j]!);
    const violated = Array.from(losses.keys()).filter((i) => !active.includes(i) && losses[i]! > kkt.t);
    if (negative.length > 0) active = active.filter((i) => i !== negative[0]);
    else if (violated.length > 0) active = [...active, violated[0]!].sort((a, b) => a - b);
    theta = kkt.theta;
    p = kkt.weights.map((w) => Math.max(w, 0));
    const total = p.reduce((a, b) => a + b, 0);
    p = p.map((w) => w / total);
    best = { theta, weights: p };
    if (negative.length === 0 && violated.length === 0) break;
  }
  const primal = maxTaskLoss(tasks, best.theta);
  const dual = dualLowerBound(tasks, best.weights, best.theta).value;
  return {
    theta: best.theta,
    weights: best.weights,
    primal,
    dual,
    relativeGap: (primal - dual) / Math.abs(primal),
    active: Array.from(best.weights.keys()).filter((i) => best.weights[i]! > 0),
  };
}

