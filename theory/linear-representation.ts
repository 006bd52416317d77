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
 *
 * Minimax pre-training is not an eigenspace choice: u_r and u_{r+1} compete for the last dimension of B,
 * and min_B max_i loss_i (and its smooth version F_eta) is reached by a mixture cos(t) u_r + sin(t) u_{r+1}
 * that balances the pattern tasks' loss h^2 sin^2(t) against the semantic task's b^2 cos^2(t).
 * `softmaxRepresentation` computes that limit of softmax-weighted training; `minimaxRepresentation`
 * restricts B to eigenspaces B(p) and keeps u_{r+1} whole, which the training does not do.
 */
import { groupDroStep, smoothMax, softmaxTaskWeights } from '../engine/pretrain/softmax-weights.js';
import { TheoryError } from './errors.js';
import { dot, largestPrincipalAngle, orthonormalColumns, symmetricEigen } from './linear-algebra.js';
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
 * the gap is the price of restricting to eigenspaces (the problem is not convex in B). Kept for comparison:
 * training does not stay in eigenspaces (see `softmaxRepresentation`).
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

export interface SoftmaxRepresentation {
  /** d x r, orthonormal columns, row-major. */
  readonly basis: Float64Array;
  /** p = softmax(eta * loss(basis)): the task weights at the end. */
  readonly weights: Float64Array;
  /** Population losses sigma^2 + ||(I - B B^T) w_i||^2 of the upstream tasks at the end. */
  readonly losses: Float64Array;
  /** F_eta(losses): the smoothed worst-task loss that the iterations descend. */
  readonly smoothedWorst: number;
  /** ||(I - B B^T) M(p) B||_F at the end: 0 exactly at a stationary point of F_eta over r-dimensional subspaces. */
  readonly stationarity: number;
  readonly iterations: number;
}

/**
 * The population limit of softmax-weighted pre-training: a minimiser over r-dimensional subspaces of
 * F_eta(B) = (1/eta) log sum_i exp(eta loss_i(B)), by the paper's algorithm run on the population losses in
 * float64: p = softmax(eta * loss(B)) (the engine's float64 reference), then a gradient step on
 * sum_i p_i loss_i, whose gradient in B is -2 M(p) B, and back to orthonormal columns; it stops when the
 * part of that gradient outside span B (zero exactly at a stationary point) is below `tolerance`.
 * F_eta is not convex over subspaces and a start can end at a stationary point that is not the minimum, so
 * the descent runs from `starts` random orthonormal frames and keeps the lowest F_eta.
 * eta = 0 gives average pre-training (the top-r eigenspace of M(uniform) from a generic start).
 *
 * Unlike `minimaxRepresentation` this is not restricted to eigenspaces B(p) of fixed weights: where the worst
 * tasks compete for one dimension, the minimiser takes a mixture of their directions (at a tie of eigenvalues
 * of M(p)), and this — not the eigenspace — is what the engine's softmax training converges to as n_up grows.
 */
export function softmaxRepresentation(
  model: RepresentationModel,
  eta: number,
  options: { seed?: number; starts?: number; tolerance?: number; maxIterations?: number } = {},
): SoftmaxRepresentation {
  if (!(eta >= 0 && Number.isFinite(eta))) throw new TheoryError(`softmaxRepresentation: eta must be a finite number >= 0, got ${eta}`);
  const { d, r } = model;
  const ws = model.upstream.map((t) => t.weights);
  const tolerance = options.tolerance ?? 1e-10;
  const starts = options.starts ?? 4;
  if (!(Number.isInteger(starts) && starts >= 1)) throw new TheoryError(`softmaxRepresentation: starts must be an integer >= 1, got ${starts}`);
  const maxIterations = options.maxIterations ?? 20_000;
  const widest = Math.max(...ws.map((w) => dot(w, w)));
  // M(p) B = sum_i p_i w_i (w_i^T B), and its part outside span B (the Riemannian gradient, up to -2).
  const weightedProduct = (b: Float64Array, p: Float64Array): Float64Array => {
    const out = new Float64Array(d * r);
    for (const [i, w] of ws.entries()) {
      const coef = new Float64Array(r);
      for (let row = 0; row < d; row++) for (let c = 0; c < r; c++) coef[c] += w[row]! * b[row * r + c]!;
      for (let row = 0; row < d; row++) for (let c = 0; c < r; c++) out[row * r + c] += p[i]! * w[row]! * coef[c]!;
    }
    return out;
  };
  const outsideNorm = (b: Float64Array, g: Float64Array): number => {
    const coef = new Float64Array(r * r); // B^T G
    for (let row = 0; row < d; row++) for (let p = 0; p < r; p++) for (let q = 0; q < r; q++) coef[p * r + q] += b[row * r + p]! * g[row * r + q]!;
    let s = 0;
    for (let row = 0; row < d; row++) {
      for (let q = 0; q < r; q++) {
        let e = g[row * r + q]!;
        for (let p = 0; p < r; p++) e -= b[row * r + p]! * coef[p * r + q]!;
        s += e * e;
      }
    }
    return Math.sqrt(s);
  };
  const state = (b: Float64Array) => {
    const losses = upstreamLosses(model, b);
    const p = softmaxTaskWeights(losses, eta);
    const g = weightedProduct(b, p);
    return { b, losses, p, g, f: smoothMax(losses, eta), stationarity: outsideNorm(b, g) };
  };
  // Armijo backtracking on the step (grown by 1.25 after each accepted step, halved on a rejected one): an
  // accepted step lowers F_eta by at least 1e-4 * step * ||grad||^2 or, once that decrease is below float64
  // resolution, leaves F_eta unchanged to rounding and lowers the gradient; so F_eta never rises.
  const descend = (start: Float64Array) => {
    let step = 1 / (2 * widest + 4 * eta * widest ** 2);
    let at = state(start);
    let iterations = 0;
    while (at.stationarity > tolerance && iterations < maxIterations) {
      iterations++;
      const next = state(orthonormalColumns(at.b.map((v, i) => v + 2 * step * at.g[i]!), d, r));
      const decrease = at.f - next.f;
      const rounding = 1e-15 * Math.abs(at.f);
      if (decrease >= 1e-4 * step * (2 * at.stationarity) ** 2 || (decrease >= -rounding && next.stationarity < at.stationarity)) {
        at = next;
        step *= 1.25;
      } else {
        step /= 2;
      }
    }
    return { ...at, iterations };
  };
  const rng = gaussianSource(options.seed ?? 1, 12);
  const ends = Array.from({ length: starts }, () => descend(orthonormalColumns(rng.fillNormal(new Float64Array(d * r)), d, r)));
  const best = ends.reduce((a, b) => (b.f < a.f ? b : a));
  return { basis: best.b, weights: best.p, losses: best.losses, smoothedWorst: best.f, stationarity: best.stationarity, iterations: best.iterations };
}

/**
 * The representations no upstream loss can tell apart from `basis`: itself and its reflection along the
 * semantic direction u (x -> x - 2 <u, x> u). The reflection maps the semantic task w to -w (its head
 * absorbs the sign) and fixes every pattern task, so each minimiser of F_eta has a twin; they differ where B
 * mixes u_r and u_{r+1}, and a learned B is compared with the nearer of the two.
 */
export function equivalentRepresentations(model: RepresentationModel, basis: Float64Array): Float64Array[] {
  const { d, r } = model;
  const w = model.upstream[model.upstream.length - 1]!.weights;
  const length = Math.sqrt(dot(w, w));
  const u = w.map((v) => v / length);
  const reflected = Float64Array.from(basis);
  for (let c = 0; c < r; c++) {
    let along = 0;
    for (let i = 0; i < d; i++) along += u[i]! * basis[i * r + c]!;
    for (let i = 0; i < d; i++) reflected[i * r + c]! -= 2 * along * u[i]!;
  }
  return [basis, reflected];
}

/** Largest principal angle (radians) from `basis` to the nearer of `population` and its equivalent twin. */
export function angleToPopulation(model: RepresentationModel, basis: Float64Array, population: Float64Array): number {
  return Math.min(...equivalentRepresentations(model, population).map((p) => largestPrincipalAngle(basis, p, model.d, model.r)));
}
