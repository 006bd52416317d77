/**
 * Small dense float64 linear algebra for the theory simulations (d up to a few dozen). Matrices are
 * row-major Float64Arrays: entry (i, j) of an n x m matrix is a[i * m + j]. Written plainly: at these
 * sizes clarity beats blocking, and float64 is what lets OPT be certified to 1e-8 relative.
 */

export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

export function norm(a: ArrayLike<number>): number {
  return Math.sqrt(dot(a, a));
}

/** ||a - b||. */
export function distance(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return Math.sqrt(s);
}

/** y = A x for an n x m matrix A. */
export function matVec(a: Float64Array, n: number, m: number, x: ArrayLike<number>): Float64Array {
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < m; j++) s += a[i * m + j]! * x[j]!;
    y[i] = s;
  }
  return y;
}

/** y = A^T x for an n x m matrix A. */
export function matTVec(a: Float64Array, n: number, m: number, x: ArrayLike<number>): Float64Array {
  const y = new Float64Array(m);
  for (let i = 0; i < n; i++) {
    const xi = x[i]!;
    if (xi === 0) continue;
    for (let j = 0; j < m; j++) y[j] += a[i * m + j]! * xi;
  }
  return y;
}

/** A^T A / scale for an n x m matrix A (an m x m Gram matrix). */
export function gram(a: Float64Array, n: number, m: number, scale = 1): Float64Array {
  const g = new Float64Array(m * m);
  for (let r = 0; r < n; r++) {
    for (let i = 0; i < m; i++) {
      const ai = a[r * m + i]!;
      for (let j = i; j < m; j++) g[i * m + j] += ai * a[r * m + j]!;
    }
  }
  for (let i = 0; i < m; i++) {
    for (let j = i; j < m; j++) {
      g[i * m + j]! /= scale;
      g[j * m + i] = g[i * m + j]!;
    }
  }
  return g;
}

/**
 * Cholesky factor L (lower triangular, A = L L^T) of a symmetric positive-definite n x n matrix.
 * Throws if A is not numerically positive definite, so a failed factorisation is never silent.
 */
export function cholesky(a: Float64Array, n: number): Float64Array {
  const l = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    let diag = a[j * n + j]!;
    for (let k = 0; k < j; k++) diag -= l[j * n + k]! ** 2;
    if (!(diag > 0)) throw new RangeError(`cholesky: matrix is not positive definite (pivot ${j} is ${diag})`);
    const ljj = Math.sqrt(diag);
    l[j * n + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      let s = a[i * n + j]!;
      for (let k = 0; k < j; k++) s -= l[i * n + k]! * l[j * n + k]!;
      l[i * n + j] = s / ljj;
    }
  }
  return l;
}

/** Solves A x = b given the Cholesky factor L of A. */
export function choleskySolve(l: Float64Array, n: number, b: ArrayLike<number>): Float64Array {
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[i]!;
    for (let k = 0; k < i; k++) s -= l[i * n + k]! * y[k]!;
    y[i] = s / l[i * n + i]!;
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i]!;
    for (let k = i + 1; k < n; k++) s -= l[k * n + i]! * x[k]!;
    x[i] = s / l[i * n + i]!;
  }
  return x;
}

/** Solves a general square system A x = b by Gaussian elimination with partial pivoting (A is not modified). */
export function luSolve(a: Float64Array, n: number, b: ArrayLike<number>): Float64Array {
  const m = Float64Array.from(a);
  const x = Float64Array.from(b);
  for (let c = 0; c < n; c++) {
    let pivot = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r * n + c]!) > Math.abs(m[pivot * n + c]!)) pivot = r;
    if (m[pivot * n + c] === 0) throw new RangeError(`luSolve: matrix is singular (column ${c})`);
    if (pivot !== c) {
      for (let j = 0; j < n; j++) {
        const t = m[c * n + j]!;
        m[c * n + j] = m[pivot * n + j]!;
        m[pivot * n + j] = t;
      }
      const t = x[c]!;
      x[c] = x[pivot]!;
      x[pivot] = t;
    }
    const inv = 1 / m[c * n + c]!;
    for (let r = c + 1; r < n; r++) {
      const f = m[r * n + c]! * inv;
      if (f === 0) continue;
      for (let j = c; j < n; j++) m[r * n + j]! -= f * m[c * n + j]!;
      x[r]! -= f * x[c]!;
    }
  }
  for (let r = n - 1; r >= 0; r--) {
    let s = x[r]!;
    for (let j = r + 1; j < n; j++) s -= m[r * n + j]! * x[j]!;
    x[r] = s / m[r * n + r]!;
  }
  return x;
}

export interface SymmetricEigen {
  /** Eigenvalues, largest first. */
  readonly values: Float64Array;
  /** n x n, row-major; column j is the unit eigenvector of values[j]. */
  readonly vectors: Float64Array;
}

/**
 * Eigen-decomposition of a symmetric n x n matrix by cyclic Jacobi rotations. Jacobi is slow for large
 * n but accurate to a few ulps relative to ||A|| (eigenvalues and orthonormal eigenvectors), which is
 * what smoothness constants and top-r eigenspaces need.
 */
export function symmetricEigen(a: Float64Array, n: number): SymmetricEigen {
  const m = Float64Array.from(a);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  let total = 0;
  for (let i = 0; i < n * n; i++) total += m[i]! ** 2;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) off += m[i * n + j]! ** 2;
    if (off <= 1e-30 * total || off === 0) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = m[p * n + q]!;
        if (apq === 0) continue;
        const theta = (m[q * n + q]! - m[p * n + p]!) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const mkp = m[k * n + p]!;
          const mkq = m[k * n + q]!;
          m[k * n + p] = c * mkp - s * mkq;
          m[k * n + q] = s * mkp + c * mkq;
        }
        for (let k = 0; k < n; k++) {
          const mpk = m[p * n + k]!;
          const mqk = m[q * n + k]!;
          m[p * n + k] = c * mpk - s * mqk;
          m[q * n + k] = s * mpk + c * mqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p]!;
          const vkq = v[k * n + q]!;
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => m[j * n + j]! - m[i * n + i]!);
  const values = new Float64Array(n);
  const vectors = new Float64Array(n * n);
  order.forEach((src, dst) => {
    values[dst] = m[src * n + src]!;
    for (let k = 0; k < n; k++) vectors[k * n + dst] = v[k * n + src]!;
  });
  return { values, vectors };
}

/**
 * Orthonormalises the m columns of an n x m matrix (modified Gram-Schmidt, twice for stability);
 * applied to a Gaussian matrix it gives a uniformly random orthonormal frame.
 */
export function orthonormalColumns(a: Float64Array, n: number, m: number): Float64Array {
  const q = Float64Array.from(a);
  for (let j = 0; j < m; j++) {
    for (let pass = 0; pass < 2; pass++) {
      for (let i = 0; i < j; i++) {
        let s = 0;
        for (let k = 0; k < n; k++) s += q[k * m + i]! * q[k * m + j]!;
        for (let k = 0; k < n; k++) q[k * m + j]! -= s * q[k * m + i]!;
      }
    }
    let s = 0;
    for (let k = 0; k < n; k++) s += q[k * m + j]! ** 2;
    const inv = 1 / Math.sqrt(s);
    for (let k = 0; k < n; k++) q[k * m + j]! *= inv;
  }
  return q;
}

/**
 * The largest principal angle (radians, in [0, pi/2]) between the column spans of two d x r matrices with
 * orthonormal columns: sin^2 of it is the largest eigenvalue of E^T E, E = (I - A A^T) B. Computed from the
 * sines rather than arccos of the cosines, so an angle of 1e-6 rad is resolved, not rounded to 0.
 */
export function largestPrincipalAngle(a: Float64Array, b: Float64Array, d: number, r: number): number {
  const coef = new Float64Array(r * r); // A^T B
  for (let i = 0; i < d; i++) for (let p = 0; p < r; p++) for (let q = 0; q < r; q++) coef[p * r + q] += a[i * r + p]! * b[i * r + q]!;
  const e = Float64Array.from(b); // B - A (A^T B)
  for (let i = 0; i < d; i++) for (let q = 0; q < r; q++) for (let p = 0; p < r; p++) e[i * r + q]! -= a[i * r + p]! * coef[p * r + q]!;
  const sin2 = symmetricEigen(gram(e, d, r), r).values[0]!;
  return Math.asin(Math.sqrt(Math.min(Math.max(sin2, 0), 1)));
}
