/**
 * Seeded float64 randomness for the theory simulations. The generator is the engine's xoshiro128**
 * (`SeededRandom`), so a (seed, stream) pair names one reproducible sequence everywhere in the project;
 * this file adds what the simulations need on top of it: uniforms with 53 bits of resolution (two
 * uint32 draws) and a Box-Muller Gaussian sampler that uses both outputs of each transform.
 */
import { SeededRandom } from '../engine/random.js';

export interface GaussianSource {
  /** Uniform in (0, 1) with 53 bits of resolution (never exactly 0, so log() is safe). */
  uniform(): number;
  /** Standard normal N(0, 1). */
  normal(): number;
  /** Fills `out` with independent N(0, 1) draws and returns it. */
  fillNormal(out: Float64Array): Float64Array;
}

/** A seeded N(0, 1) sampler; `stream` gives independent sequences for the same seed. */
export function gaussianSource(seed: number, stream = 0): GaussianSource {
  const rng = new SeededRandom(seed, stream);
  let spare = NaN;
  const uniform = (): number => {
    const hi = rng.nextUint32() >>> 5; // 27 bits
    const lo = rng.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo + 0.5) / 9007199254740992;
  };
  const normal = (): number => {
    if (!Number.isNaN(spare)) {
      const z = spare;
      spare = NaN;
      return z;
    }
    const radius = Math.sqrt(-2 * Math.log(uniform()));
    const angle = 2 * Math.PI * uniform();
    spare = radius * Math.sin(angle);
    return radius * Math.cos(angle);
  };
  return {
    uniform,
    normal,
    fillNormal(out) {
      for (let i = 0; i < out.length; i++) out[i] = normal();
      return out;
    },
  };
}
