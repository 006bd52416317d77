/**
 * Paired statistics for the verdicts, from a maintained statistics library (@stdlib), not hand-written special
 * functions:
 * - pairedDifference: paired differences over seeds (seed s gives every arm the same initialisation, data
 *   order and probe split): their mean, a 95% t confidence interval (Student's t quantile from
 *   @stdlib/stats-base-dists-t-quantile), and the two-sided Wilcoxon signed-rank p-value
 *   (@stdlib/stats-wilcoxon: exact distribution for fewer than 50 pairs without ties or zeros, else the
 *   normal approximation with continuity correction; zero differences dropped, Wilcoxon's method).
 * - binomialInterval: the exact (Clopper-Pearson) 95% interval of a proportion (@stdlib/stats-binomial-test).
 * - mcnemarExact: two classifiers on the same points: the exact McNemar test (a two-sided binomial test of the
 *   discordant pairs, @stdlib/stats-binomial-test), and the exact conditional 95% interval of the difference in
 *   accuracy: with b points right only for the first, c only for the second and m = b + c, the difference is
 *   m (2 pi - 1) / N for pi = b / m, whose Clopper-Pearson interval gives the difference's.
 * - verdictOf: 'holds' when the interval lies above 0, 'reversed' below, else "no difference detected".
 */
import binomialTest from '@stdlib/stats-binomial-test';
import tQuantile from '@stdlib/stats-base-dists-t-quantile';
import wilcoxon from '@stdlib/stats-wilcoxon';

export interface PairedDifference {
  /** Mean of method - baseline over the pairs. */
  readonly meanDiff: number;
  readonly ci95: readonly [number, number];
  /** Two-sided Wilcoxon signed-rank p-value (1 when every difference is 0). */
  readonly p: number;
  readonly n: number;
  /** Name of the test, with the library that computed it. */
  readonly test: string;
}

export const PAIRED_TEST = 'paired t 95% CI; Wilcoxon signed-rank p (@stdlib/stats-wilcoxon)';

export function pairedDifference(method: readonly number[], baseline: readonly number[]): PairedDifference {
  if (method.length !== baseline.length) throw new Error(`pairedDifference: ${method.length} values against ${baseline.length}`);
  const n = method.length;
  if (n < 2) throw new Error(`pairedDifference: need at least 2 pairs, got ${n}`);
  const d = method.map((m, i) => m - baseline[i]!);
  const mean = d.reduce((a, b) => a + b, 0) / n;
  const sd = Math.sqrt(d.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
  const half = tQuantile(0.975, n - 1) * (sd / Math.sqrt(n));
  const p = d.every((x) => x === 0) ? 1 : (wilcoxon(d, { alternative: 'two-sided' }) as { pValue: number }).pValue;
  return { meanDiff: mean, ci95: [mean - half, mean + half], p, n, test: PAIRED_TEST };
}

/** Exact (Clopper-Pearson) 95% interval of a proportion successes / n. */
export function binomialInterval(successes: number, n: number): readonly [number, number] {
  if (!(Number.isInteger(successes) && Number.isInteger(n) && n >= 1 && successes >= 0 && successes <= n)) throw new Error(`binomialInterval: ${successes} of ${n}`);
  const ci = binomialTest(successes, n, { p: 0.5 }).ci;
  return [ci[0]!, ci[1]!];
}

export const MCNEMAR_TEST = 'exact McNemar (binomial test of discordant points, @stdlib/stats-binomial-test); exact conditional 95% CI';

/** First minus second classifier, paired on the same points (true = right on that point). */
export function mcnemarExact(first: readonly boolean[], second: readonly boolean[]): PairedDifference & { readonly onlyFirst: number; readonly onlySecond: number } {
  if (first.length !== second.length || first.length === 0) throw new Error(`mcnemarExact: ${first.length} points against ${second.length}`);
  const N = first.length;
  let b = 0;
  let c = 0;
  first.forEach((x, i) => {
    if (x && !second[i]) b++;
    if (!x && second[i]) c++;
  });
  const m = b + c;
  if (m === 0) return { meanDiff: 0, ci95: [0, 0], p: 1, n: N, test: MCNEMAR_TEST, onlyFirst: 0, onlySecond: 0 };
  const r = binomialTest(b, m, { p: 0.5 });
  return { meanDiff: (b - c) / N, ci95: [(m * (2 * r.ci[0]! - 1)) / N, (m * (2 * r.ci[1]! - 1)) / N], p: r.pValue, n: N, test: MCNEMAR_TEST, onlyFirst: b, onlySecond: c };
}

/** The verdict sentence of a paired difference: the sign of its 95% interval. */
export function verdictOf(d: Pick<PairedDifference, 'ci95'>): 'holds' | 'reversed' | `no difference detected (CI [${string}, ${string}])` {
  const [lo, hi] = d.ci95;
  if (lo > 0) return 'holds';
  if (hi < 0) return 'reversed';
  return `no difference detected (CI [${points(lo)}, ${points(hi)}])`;
}

/** A fraction as signed percentage points, e.g. 0.0123 -> '+1.2'. */
export function points(x: number): string {
  return `${x >= 0 ? '+' : ''}${(100 * x).toFixed(1)}`;
}
