/**
 * Convex upstream tasks L_i(theta) for the convergence analysis: least squares and L2-regularised
 * logistic regression on seeded Gaussian data. Each task states the constants the analysis needs as
 * guarantees valid everywhere: `smoothness` >= lambda_max(Hessian) and `strongConvexity` <=
 * lambda_min(Hessian) at every theta.
 */
import { gram, matTVec, matVec, symmetricEigen } from './linear-algebra.js';
import type { GaussianSource } from './random.js';

export interface ConvexTask {
  readonly kind: 'least-squares' | 'logistic';
  readonly dim: number;
  loss(theta: ArrayLike<number>): number;
  gradient(theta: ArrayLike<number>): Float64Array;
  /** d x d row-major. */
  hessian(theta: ArrayLike<number>): Float64Array;
  /** Global upper bound on the largest Hessian eigenvalue (the task is L_i-smooth). */
  readonly smoothness: number;
  /** Global lower bound on the smallest Hessian eigenvalue (the task is mu_i-strongly convex). */
  readonly strongConvexity: number;
}

/**
 * L(theta) = ||X theta - y||^2 / (2n), kept as the quadratic 1/2 theta^T A theta - b^T theta + c with
 * A = X^T X / n, so every evaluation costs O(d^2) whatever n is. Its smoothness and strong convexity are
 * exactly the extreme eigenvalues of A.
 */
export function leastSquaresTask(x: Float64Array, y: Float64Array, n: number, d: number): ConvexTask {
  const a = gram(x, n, d, n);
  const b = matTVec(x, n, d, y).map((v) => v / n);
  let c = 0;
  for (let i = 0; i < n; i++) c += y[i]! ** 2;
  c /= 2 * n;
  const eig = symmetricEigen(a, d);
  return {
    kind: 'least-squares',
    dim: d,
    loss(theta) {
      const at = matVec(a, d, d, theta);
      let s = c;
      for (let j = 0; j < d; j++) s += theta[j]! * (0.5 * at[j]! - b[j]!);
      return s;
    },
    gradient(theta) {
      const g = matVec(a, d, d, theta);
      for (let j = 0; j < d; j++) g[j]! -= b[j]!;
      return g;
    },
    hessian: () => Float64Array.from(a),
    smoothness: eig.values[0]!,
    strongConvexity: eig.values[d - 1]!,
  };
}

/** log(1 + exp(z)) without overflow or loss of precision for large |z|. */
function softplus(z: number): number {
  return z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
}

/**
 * L(theta) = mean_j log(1 + exp(-y_j <x_j, theta>)) + (lambda/2) ||theta||^2 with labels y_j in {-1, +1}.
 * The logistic Hessian is (1/n) sum s_j (1 - s_j) x_j x_j^T + lambda I with s_j (1 - s_j) <= 1/4, so the
 * task is (lambda_max(X^T X)/(4n) + lambda)-smooth and lambda-strongly convex everywhere.
 */
export function logisticTask(x: Float64Array, y: Float64Array, n: number, d: number, lambda: number): ConvexTask {
  const eig = symmetricEigen(gram(x, n, d, n), d);
  const margins = (theta: ArrayLike<number>): Float64Array => {
    const m = matVec(x, n, d, theta);
    for (let i = 0; i < n; i++) m[i]! *= y[i]!;
    return m;
  };
  const sq = (theta: ArrayLike<number>): number => {
    let s = 0;
    for (let j = 0; j < d; j++) s += theta[j]! ** 2;
    return s;
  };
  return {
    kind: 'logistic',
    dim: d,
    loss(theta) {
      const m = margins(theta);
      let s = 0;
      for (let i = 0; i < n; i++) s += softplus(-m[i]!);
      return s / n + 0.5 * lambda * sq(theta);
    },
    gradient(theta) {
      const m = margins(theta);
      // d/dm softplus(-m) = -sigmoid(-m); chain rule through m_j = y_j <x_j, theta>.
      const coef = new Float64Array(n);
      for (let i = 0; i < n; i++) coef[i] = (-y[i]! / (1 + Math.exp(m[i]!))) / n;
      const g = matTVec(x, n, d, coef);
      for (let j = 0; j < d; j++) g[j]! += lambda * theta[j]!;
      return g;
    },
    hessian(theta) {
      const m = margins(theta);
      const h = new Float64Array(d * d);
      for (let i = 0; i < n; i++) {
        const s = 1 / (1 + Math.exp(-m[i]!));
        const w = (s * (1 - s)) / n;
        for (let a = 0; a < d; a++) {
          const xa = x[i * d + a]! * w;
          for (let b = a; b < d; b++) h[a * d + b] += xa * x[i * d + b]!;
        }
      }
      for (let a = 0; a < d; a++) {
        h[a * d + a] += lambda;
        for (let b = 0; b < a; b++) h[a * d + b] = h[b * d + a]!;
      }
      return h;
    },
    smoothness: eig.values[0]! / 4 + lambda,
    strongConvexity: lambda,
  };
}

/**
 * A least-squares task on fresh seeded data: n Gaussian inputs whose coordinates have scales drawn in
 * [0.5, 1.5] (so tasks differ in curvature), a task-specific ground-truth vector of norm `signal`, and
 * Gaussian label noise of standard deviation `noise`.
 */
export function seededLeastSquares(rng: GaussianSource, n: number, d: number, signal: number, noise: number): ConvexTask {
  const scales = Float64Array.from({ length: d }, () => 0.5 + rng.uniform());
  const x = new Float64Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) x[i * d + j] = rng.normal() * scales[j]!;
  const w = rng.fillNormal(new Float64Array(d));
  const wNorm = Math.hypot(...w);
  const y = matVec(x, n, d, w.map((v) => (v * signal) / wNorm));
  for (let i = 0; i < n; i++) y[i]! += noise * rng.normal();
  return leastSquaresTask(x, y, n, d);
}

/**
 * A logistic-regression task on fresh seeded data: Gaussian inputs and labels drawn from the logistic
 * model P(y = 1 | x) = sigmoid(<w, x>) with the given true parameter w.
 */
export function seededLogistic(rng: GaussianSource, n: number, w: Float64Array, lambda: number): ConvexTask {
  const d = w.length;
  const x = rng.fillNormal(new Float64Array(n * d));
  const z = matVec(x, n, d, w);
  const y = z.map((zi) => (rng.uniform() < 1 / (1 + Math.exp(-zi)) ? 1 : -1));
  return logisticTask(x, y, n, d, lambda);
}
