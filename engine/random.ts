/**
 * Host-side seeded randomness for the data pipeline (minibatch indices, masks of token positions,
 * parameter initialisation). xoshiro128** (Blackman & Vigna): fast, 128-bit state, and the state is
 * four integers, so a checkpoint stores it and a resumed run draws exactly the same sequence.
 *
 * Why there are two generators: this one makes the few numbers the host needs (indices, token positions,
 * initial weights), in an order that a checkpoint can capture as four integers. Per-pixel noise and patch
 * masks are millions of numbers per step, so backend/device-random.ts draws them where the tensors live
 * (TensorFlow's stateless Philox on the native backend), as a pure function of (seed, stream, shape) that
 * needs no state to checkpoint. One generator could not do both without copying noise from the host to the
 * device every step.
 */
export class SeededRandom {
  private s: Uint32Array;

  constructor(seed: number, stream = 0) {
    // splitmix32 expands (seed, stream) into a well-mixed non-zero state.
    let x = (Math.trunc(seed) ^ Math.imul(stream + 1, 0x9e3779b9)) >>> 0;
    this.s = new Uint32Array(4);
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      this.s[i] = (z ^ (z >>> 16)) >>> 0;
    }
    if ((this.s[0]! | this.s[1]! | this.s[2]! | this.s[3]!) === 0) this.s[0] = 1;
  }

  static fromState(state: readonly number[]): SeededRandom {
    if (state.length !== 4 || state.some((v) => !Number.isInteger(v) || v < 0 || v > 0xffffffff)) {
      throw new RangeError(`SeededRandom.fromState: expected four uint32 values, got ${JSON.stringify(state)}`);
    }
    const r = new SeededRandom(0);
    r.s = Uint32Array.from(state);
    return r;
  }

  state(): number[] {
    return Array.from(this.s);
  }

  /** Next uint32. */
  nextUint32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1]!, 5), 7), 9) >>> 0;
    const t = s[1]! << 9;
    s[2]! ^= s[0]!;
    s[3]! ^= s[1]!;
    s[1]! ^= s[2]!;
    s[0]! ^= s[3]!;
    s[2]! ^= t;
    s[3] = rotl(s[3]!, 11);
    return result;
  }

  /** Uniform in [0, 1) with 32 bits of resolution. */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Standard normal (Box-Muller; one value per call, simple rather than fast — used for initialisation only). */
  normal(): number {
    const u = 1 - this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }

  /** In-place Fisher-Yates shuffle. */
  shuffle<T extends { length: number; [i: number]: unknown }>(a: T): T {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = a[i];
      a[i] = a[j];
      a[j] = tmp;
    }
    return a;
  }

  /** `count` indices drawn uniformly with replacement from `pool` (or from [0, pool) when a number). */
  sample(pool: ArrayLike<number> | number, count: number): Int32Array {
    const out = new Int32Array(count);
    if (typeof pool === 'number') for (let i = 0; i < count; i++) out[i] = this.int(pool);
    else for (let i = 0; i < count; i++) out[i] = pool[this.int(pool.length)]!;
    return out;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
