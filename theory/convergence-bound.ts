/**
 * The convex convergence guarantee of softmax-weighted gradient descent and the constants it needs.
 *
 * Claim: if every task is convex, L-smooth and G-Lipschitz on a convex region containing the iterates,
 * gradient descent on F_eta with step 1/(L + eta G^2) started at theta_0 satisfies, for every T,
 *     max_i L_i(theta_T) - OPT <= (L + eta G^2) R^2 / (2T) + log(k) / eta,   R = ||theta_0 - theta*||.
 * Proof sketch: Hess F_eta = sum p_i H_i + eta Cov_p(grad L) <= (L + eta G^2) I on the region, so GD with
 * step 1/M on the M-smooth convex F_eta gives F_eta(theta_T) - F_eta(u) <= M ||theta_0 - u||^2 / (2T) for
 * any u; take u = theta* and use max L <= F_eta <= max L + log(k)/eta. With eta = sqrt(T log k)/(G R) the
 * bound is L R^2/(2T) + 1.5 G R sqrt(log k / T).
 *
 * How the constants are computed (all float64, from the problem, never fitted to the runs):
 * - theta* and OPT: `certifyMinimax` (primal/dual certificate); R = ||theta_0 - theta*||.
 * - L = max_i L_i with L_i each task's global smoothness (an eigenvalue bound, see convex-tasks.ts).
 * - Region: the ball B(theta_0, rho) with rho = 2 max_eta ||theta_0 - argmin F_eta|| over eta in
 *   {0, 4^-3/l, ..., 4^8/l} and theta*. GD with step <= 1/M never moves away from argmin F_eta, so its
 *   iterates stay within 2 ||theta_0 - argmin F_eta|| of theta_0; every run checks this a posteriori
 *   (`DescentTrace.farthest <= rho`), which is what makes the bound rigorous for that run.
 * - G = max_i (||grad L_i(theta_0)|| + L_i rho) >= max_i sup_{B(theta_0, rho)} ||grad L_i|| (smoothness
 *   bounds how fast a gradient can grow away from theta_0).
 */
import type { ConvexTask } from './convex-tasks.js';
import { distance, norm } from './linear-algebra.js';
import { certifyMinimax, smoothedMinimiser, taskLosses, type MinimaxCertificate } from './minimax-optimum.js';

export interface ConvergenceConstants {
  readonly k: number;
  readonly smoothness: number;
  readonly lipschitz: number;
  /** R = ||theta_0 - theta*||. */
  readonly radius: number;
  /** Radius of the ball around theta_0 on which `lipschitz` holds. */
  readonly region: number;
  readonly optimum: MinimaxCertificate;
}

export function convergenceConstants(tasks: readonly ConvexTask[], theta0: ArrayLike<number>): ConvergenceConstants {
  const optimum = certifyMinimax(tasks, theta0);
  const radius = distance(theta0, optimum.theta);
  let theta = smoothedMinimiser(tasks, 0, theta0);
  const scale = taskLosses(tasks, theta).reduce((a, b) => a + b, 0) / tasks.length;
  let farthest = Math.max(radius, distance(theta0, theta));
  for (let j = -3; j <= 8; j++) {
    theta = smoothedMinimiser(tasks, 4 ** j / scale, theta);
    farthest = Math.max(farthest, distance(theta0, theta));
  }
  const region = 2 * farthest;
  const lipschitz = Math.max(...tasks.map((t) => norm(t.gradient(theta0)) + t.smoothness * region));
  const smoothness = Math.max(...tasks.map((t) => t.smoothness));
  return { k: tasks.length, smoothness, lipschitz, radius, region, optimum };
}

/** (L + eta G^2) R^2 / (2T) + log(k) / eta: the guaranteed max-task gap after T steps. */
export function convergenceBound(c: ConvergenceConstants, eta: number, steps: number): number {
  return ((c.smoothness + eta * c.lipschitz ** 2) * c.radius ** 2) / (2 * steps) + Math.log(c.k) / eta;
}

/** Step size 1/(L + eta G^2): the inverse smoothness of F_eta on the region. */
export function convergenceStepSize(c: ConvergenceConstants, eta: number): number {
  return 1 / (c.smoothness + eta * c.lipschitz ** 2);
}

/** eta = sqrt(T log k)/(G R), which balances the two terms and gives the O(G R sqrt(log k / T)) rate. */
export function scheduledEta(c: ConvergenceConstants, steps: number): number {
  return Math.sqrt(steps * Math.log(c.k)) / (c.lipschitz * c.radius);
}
