/**
 * Seeded randomness for splits, subsamples, projections and k-means. Every split in datasets/ is a pure
 * function of its seed, so the same seed gives byte-identical index lists on every machine.
 */

/** mulberry32: a 32-bit generator, uniform in [0, 1). Small, fast, and identical across JS engines. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fisher-Yates shuffle in place. */
export function shuffleInPlace<T extends { length: number; [i: number]: unknown }>(xs: T, random: () => number): T {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = xs[i];
    xs[i] = xs[j];
    xs[j] = t;
  }
  return xs;
}

/** 0..n-1 in a seeded random order. */
export function permutation(n: number, seed: number): Int32Array {
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  return shuffleInPlace(p, seededRandom(seed));
}

/** A standard normal draw (Box-Muller). */
export function gaussian(random: () => number): number {
  let u = 0;
  while (u === 0) u = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

/**
 * A seeded subsample of `indices` of at most `max` entries, in seeded random order; all of them (shuffled)
 * when `max` is undefined or not smaller. Subsampling never changes which side of a split an example is on.
 */
export function subsample(indices: Int32Array, max: number | undefined, seed: number): Int32Array {
  const shuffled = shuffleInPlace(Int32Array.from(indices), seededRandom(seed));
  return max === undefined || max >= shuffled.length ? shuffled : shuffled.slice(0, Math.max(0, Math.floor(max)));
}
