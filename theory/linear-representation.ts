/**
 * The linear representation model of the sample-complexity analysis.
 *
 * x ~ N(0, I_d); upstream task i has y = <w_i, x> + noise. A representation is a d x r matrix B with
 * orthonormal columns; with the best linear head on B^T x, task i's population loss is
 * sigma^2 + ||(I - B B^T) w_i||^2 (the part of w_i outside span B is lost). Pre-training with task
 * weights p picks B(p) = top-r eigenspace of M(p) = sum_i p_i w_i w_i^T, which minimises
 * sum_i p_i ||(I - B B^T) w_i||^2 over all B (Eckart-Young): p uniform is average pre-training.
 *
 * Tasks (a random orthonormal frame u_1..u_{r+1} in R^d):
 * - pattern tasks, two per core direction j = 1..r-1: w = a u_j +- h u_r (large signal a = 1 on the
 *   core "pattern" directions, a shared nuisance u_r with small per-task loading h; the +- pairs make
 *   M(p) exactly block-diagonal in the frame);
 * - one semantic task: w = b u_{r+1}, b = 0.5.
 * The signal ratio rho = (pooled variance on u_r) / (pooled variance on u_{r+1}) = m h^2 / b^2 (m pattern
 * tasks) says how much more the pooled upstream data shows the nuisance pattern than the semantics:
 * rho > 1 makes average pre-training keep u_r and drop the semantic direction, although each pattern
 * task loses only h^2 < b^2 without u_r (when rho < m), which is the trade the minimax makes.
 */
import { groupDroStep } from '../engine/pretrain/softmax-weights.js';
import { dot, orthonormalColumns, symmetricEigen } from './linear-algebra.js';
import { gaussianSource } from './random.js';

export interface LinearTask {
  readonly name: string;
  /** The true linear map w (upstream) or v (downstream), length d. */
  readonly weights: Float64Array;
}

export interface RepresentationModel {
  readonly d: number;
  readonly r: number;
  readonly signalRatio: number;
  /** Standard deviation of the label noise, upstream and downstream. */
  readonly noise: number;
  readonly upstream: readonly LinearTask[];
  /** Unit-norm downstream tasks: each pattern task's direction, and the semantic direction. */
  readonly downstream: readonly LinearTask[];
}

export function linearRepresentationModel(options: { d: number; r: number; signalRatio: number; seed: number; noise?: number }): RepresentationModel {
  const { d, r, signalRatio, seed } = options;
  if (!(Number.isInteger(r) && r >= 2 && d >= r + 1)) throw new RangeError(`linearRepresentationModel: need integers r >= 2 and d >= r + 1, got d = ${d}, r = ${r}`);
  const frame = orthonormalColumns(gaussianSource(seed, 11).fillNormal(new Float64Array(d * (r + 1))), d, r + 1);
  const column = (j: number) => Float64Array.from({ length: d }, (_, i) => frame[i * (r + 1) + j]!);
  const m = 2 * (r - 1);
  const a = 1;
  const b = 0.5;
  const h = b * Math.sqrt(signalRatio / m);
  const upstream: LinearTask[] = [];
  for (let j = 0; j < r - 1; j++) {
    for (const sign of [1, -1]) {
      const core = column(j);
      const nuisance = column(r - 1);
      upstream.push({ name: `pattern ${j + 1}${sign > 0 ? '+' : '-'}`, weights: core.map((c, i) => a * c + sign * h * nuisance[i]!) });
    }
  }
  upstream.push({ name: 'semantic', weights: column(r).map((c) => b * c) });
  const downstream = upstream.map((t) => {
    const length = Math.sqrt(dot(t.weights, t.weights));
    return { name: t.name, weights: t.weights.map((v) => v / length) };
  });
  return { d, r, signalRatio, noise: options.noise ?? 0.5, upstream, downstream };
}

/** ||(I - B B^T) v||^2 for B (d x r, orthonormal columns, row-major). */
export function outsideSpan(basis: Float64Array, d: number, r: number, v: ArrayLike<number>): number {
  const coef = new Float64Array(r);
  for (let i = 0; i < d; i++) for (let j = 0; j < r; j++) coef[j] += basis[i * r + j]! * v[i]!;
  return Math.max(dot(v, v) - dot(coef, coef), 0);
}

/** Population losses sigma^2 + ||(I - B B^T) w_i||^2 of the upstream tasks under representation B. */
export function upstreamLosses(model: RepresentationModel, basis: Float64Array): Float64Array {
  return Float64Array.from(model.upstream, (t) => model.noise ** 2 + outsideSpan(basis, model.d, model.r, t.weights));
}

export interface WeightedRepresentation {
  /** d x r, orthonormal columns, row-major. */
  readonly basis: Float64Array;
  /** min_B sum_i p_i loss_i(B) = sigma^2 + sum_i p_i ||w_i||^2 - (sum of the top r eigenvalues of M(p)). */
  readonly weightedLoss: number;
}

/**
 * B(p) = top-r eigenspace of M(p) = W diag(p) W^T, computed from the k x k matrix
 * diag(p)^(1/2) W^T W diag(p)^(1/2), which has the same non-zero eigenvalues (k is small, d need not be).
 */
export function weightedRepresentation(model: RepresentationModel, p: ArrayLike<number>): WeightedRepresentation {
  const { d, r } = model;
  const ws = model.upstream.map((t) => t.weights);
  const k = ws.length;
  const root = Float64Array.from({ length: k }, (_, i) => Math.sqrt(p[i]!));
  const small = new Float64Array(k * k);
  for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) small[i * k + j] = root[i]! * root[j]! * dot(ws[i]!, ws[j]!);
  const eig = symmetricEigen(small, k);
  if (!(eig.values[r - 1]! > 0)) throw new RangeError(`weightedRepresentation: the weighted tasks span fewer than r = ${r} directions`);
  const basis = new Float64Array(d * r);
  for (let c = 0; c < r; c++) {
    const scale = 1 / Math.sqrt(eig.values[c]!);
    for (let i = 0; i < k; i++) {
      const coef = root[i]! * eig.vectors[i * k + c]! * scale;
      if (coef === 0) continue;
      for (let row = 0; row < d; row++) basis[row * r + c] += coef * ws[i]![row]!;
    }
  }
  let top = 0;
  for (let c = 0; c < r; c++) top += eig.values[c]!;
  const total = ws.reduce((s, w, i) => s + p[i]! * dot(w, w), 0);
  return { basis: orthonormalColumns(basis, d, r), weightedLoss: model.noise ** 2 + total - top };
}

export function averageRepresentation(model: RepresentationModel): Float64Array {
  const k = model.upstream.length;
  return weightedRepresentation(model, new Float64Array(k).fill(1 / k)).basis;
}

export interface MinimaxRepresentation {
  readonly basis: Float64Array;
  readonly weights: Float64Array;
  /** max_i loss_i(basis): the worst upstream population loss of the chosen representation. */
  readonly primal: number;
  /** max over visited p of min_B sum_i p_i loss_i(B): a lower bound on the minimax value over all B. */
  readonly dual: number;
}

/**
 * Task-robust pre-training in the population: min over B of max_i loss_i(B), with B restricted to the
 * weighted eigenspaces B(p). Procedure: exponentiated-gradient ascent on the concave dual
 * g(p) = min_B sum_i p_i loss_i(B), whose supergradient at p is loss(B(p)) (Danskin), i.e. the engine's
 * `groupDroStep` with step eta_t = 2 / (loss scale * sqrt(t + 1)); we keep the visited B(p) with the
 * smallest worst-task loss. g is a lower bound at every p, so `dual <= min_B max_i loss_i <= primal`;
 * the gap is the price of restricting to eigenspaces (the problem is not convex in B).
 */
export function minimaxRepresentation(model: RepresentationModel, iterations = 400): MinimaxRepresentation {
  const k = model.upstream.length;
  let p: Float64Array = new Float64Array(k).fill(1 / k);
  let best = { basis: new Float64Array(0), weights: p, primal: Infinity };
  let dual = -Infinity;
  let scale = 0;
  for (let t = 0; t < iterations; t++) {
    const rep = weightedRepresentation(model, p);
    const losses = upstreamLosses(model, rep.basis);
    const worst = Math.max(...losses);
    if (t === 0) scale = worst;
    dual = Math.max(dual, rep.weightedLoss);
    if (worst < best.primal) best = { basis: rep.basis, weights: p, primal: worst };
    p = groupDroStep(p, losses, 2 / (scale * Math.sqrt(t + 1)));
  }
  return { ...best, dual };
}
