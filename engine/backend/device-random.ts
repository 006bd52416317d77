/**
 * Seeded random tensors drawn where the tensors live.
 *
 * tfjs 4.22 has no random kernels: `tf.randomNormal` fills a buffer in a JS loop whatever the backend,
 * so on native TensorFlow the noise would be made on the host and copied over for every batch. Here:
 * - on the native 'tensorflow' backend, TensorFlow's own stateless Philox kernels
 *   (`StatelessRandomNormal`, `StatelessRandomUniform`) run in the TensorFlow runtime (on its device:
 *   CPU threads, or the GPU with tfjs-node-gpu), with (seed, stream) as the op's 2-element seed;
 * - on 'wasm' and 'cpu', whose tensor memory is host memory anyway, a seeded xoshiro128** generator
 *   (Blackman & Vigna) fills one Float32Array in a single tight loop, then one `tf.tensor` upload: there
 *   is no device to stay on, and one upload is all the copying there is.
 *
 * Guarantee: the values are a function of (seed, stream, shape) alone on a given backend (the two
 * generators differ, so the same (seed, stream) gives different — equally distributed — values on
 * 'tensorflow' and on 'wasm'/'cpu'; 'wasm' and 'cpu' give identical values). Different streams are
 * meant to be used as independent sources: the (seed, stream) pair is hashed into the generator's
 * state (xoshiro) or key (Philox), so streams are not adjacent slices of one sequence.
 */
import * as tf from '@tensorflow/tfjs';
import { EngineError } from '../errors.js';
import { nativeBackend, typeAttr } from './native-ops.js';

export interface RandomStreamOptions {
  /** The experiment's seed: an integer in [0, 2^32). */
  readonly seed: number;
  /** Which independent stream of that seed: an integer in [0, 2^32). */
  readonly stream: number;
}

export interface RandomNormalOptions extends RandomStreamOptions {
  readonly mean?: number;
  readonly stddev?: number;
}

/** A float32 tensor of the given shape with i.i.d. N(mean, stddev^2) entries, fixed by (seed, stream, shape). */
export function randomNormal(shape: readonly number[], options: RandomNormalOptions): tf.Tensor {
  const { mean = 0, stddev = 1 } = options;
  checkStream(options);
  checkShape(shape);
  if (!(Number.isFinite(mean) && Number.isFinite(stddev) && stddev >= 0)) {
    throw new EngineError(`randomNormal needs a finite mean and a finite stddev >= 0; got mean ${mean}, stddev ${stddev}`);
  }
  if (tf.getBackend() === 'tensorflow') {
    return tf.tidy(() => {
      const standard = statelessOp('StatelessRandomNormal', shape, options);
      if (mean === 0 && stddev === 1) return standard;
      return standard.mul(tf.scalar(stddev)).add(tf.scalar(mean));
    });
  }
  return tf.tensor(fillNormal(size(shape), mean, stddev, hostGeneratorState(options)), shape.slice(), 'float32');
}

/** A float32 tensor of the given shape with i.i.d. Uniform[0, 1) entries, fixed by (seed, stream, shape). */
export function randomUniform(shape: readonly number[], options: RandomStreamOptions): tf.Tensor {
  checkStream(options);
  checkShape(shape);
  if (tf.getBackend() === 'tensorflow') return tf.tidy(() => statelessOp('StatelessRandomUniform', shape, options));
  return tf.tensor(fillUniform(size(shape), hostGeneratorState(options)), shape.slice(), 'float32');
}

/**
 * Folds integers (a seed, a point index, a batch number, ...) into one 32-bit seed. Equal parts give
 * equal seeds; different parts give unrelated seeds (collisions have probability about 2^-32 per pair).
 */
export function deriveSeed(...parts: readonly number[]): number {
  let h = 0x6a09e667;
  for (const part of parts) {
    if (!Number.isSafeInteger(part) || part < 0) throw new EngineError(`deriveSeed takes non-negative integers; got ${part}`);
    // Both 32-bit halves of the part count, so indices beyond 2^32 stay distinct.
    h = mix32(h ^ mix32(part >>> 0));
    h = mix32(h ^ mix32(Math.floor(part / 0x1_0000_0000) + 0x9e3779b9));
  }
  return h;
}

/** murmur3's 32-bit finaliser: a bijection on uint32 that spreads every input bit over the output. */
function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

function checkStream({ seed, stream }: RandomStreamOptions): void {
  for (const [name, v] of [['seed', seed], ['stream', stream]] as const) {
    if (!Number.isInteger(v) || v < 0 || v >= 0x1_0000_0000) {
      throw new EngineError(`random ${name} must be an integer in [0, 2^32); got ${v} (use deriveSeed to fold larger or several numbers)`);
    }
  }
}

function checkShape(shape: readonly number[]): void {
  if (!shape.every((d) => Number.isInteger(d) && d >= 0)) throw new EngineError(`random tensor shape must be non-negative integers; got [${shape.join(', ')}]`);
}

function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

// ---------------------------------------------------------------------------------------------------
// Native TensorFlow: stateless Philox ops, executed through tfjs-node's eager op binding.

/** Standard normal (or uniform [0, 1)) float32 values from TensorFlow's Philox, seeded by [seed, stream]. */
function statelessOp(op: 'StatelessRandomNormal' | 'StatelessRandomUniform', shape: readonly number[], { seed, stream }: RandomStreamOptions): tf.Tensor {
  const attrs = [typeAttr('dtype', 'float32'), typeAttr('T', 'int32'), typeAttr('Tseed', 'int32')];
  // `| 0` reinterprets the uint32 bits as int32 (the seed tensor's dtype); the map stays one-to-one.
  const shapeTensor = tf.tensor1d(shape.slice(), 'int32');
  const seedTensor = tf.tensor1d([seed | 0, stream | 0], 'int32');
  return nativeBackend().executeSingleOutput(op, attrs, [shapeTensor, seedTensor]);
}

// ---------------------------------------------------------------------------------------------------
// Host generator for wasm / cpu: xoshiro128** (period 2^128 - 1, passes BigCrush), state from (seed, stream).

function hostGeneratorState({ seed, stream }: RandomStreamOptions): Uint32Array {
  const s = new Uint32Array(4);
  const key = mix32(mix32(seed ^ 0x243f6a88) ^ (stream + 0x13198a2e));
  // splitmix-style expansion of (key, stream): four well-mixed words, never all zero.
  for (let i = 0; i < 4; i++) s[i] = mix32(key + Math.imul(i + 1, 0x9e3779b9)) ^ mix32(stream ^ Math.imul(i + 7, 0x7f4a7c15));
  if ((s[0]! | s[1]! | s[2]! | s[3]!) === 0) s[0] = 1;
  return s;
}

/*
 * The two fill loops below keep the generator state in local variables and inline xoshiro128**'s step:
 * they run once per tensor element (millions of times per certified point), and a function call or a
 * typed-array access per step would cost several times the arithmetic.
 */

/** Uniform [0, 1) float32 values: the top 24 bits of each output, so every value is exactly representable. */
function fillUniform(n: number, state: Uint32Array): Float32Array {
  const out = new Float32Array(n);
  let s0 = state[0]!, s1 = state[1]!, s2 = state[2]!, s3 = state[3]!;
  for (let i = 0; i < n; i++) {
    const r = Math.imul(rotl(Math.imul(s1, 5), 7), 9);
    const t = s1 << 9;
    s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t; s3 = rotl(s3, 11);
    out[i] = (r >>> 8) * 5.960464477539063e-8; // 2^-24
  }
  return out;
}

/** N(mean, stddev^2) float32 values by Marsaglia's polar method (two normals per accepted pair, no trig). */
function fillNormal(n: number, mean: number, stddev: number, state: Uint32Array): Float32Array {
  const out = new Float32Array(n);
  let s0 = state[0]!, s1 = state[1]!, s2 = state[2]!, s3 = state[3]!;
  let i = 0;
  while (i < n) {
    let u: number, v: number, q: number;
    do {
      let r = Math.imul(rotl(Math.imul(s1, 5), 7), 9);
      let t = s1 << 9;
      s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t; s3 = rotl(s3, 11);
      u = (r >>> 0) * 4.656612873077393e-10 - 1; // 2^-31: [-1, 1)
      r = Math.imul(rotl(Math.imul(s1, 5), 7), 9);
      t = s1 << 9;
      s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t; s3 = rotl(s3, 11);
      v = (r >>> 0) * 4.656612873077393e-10 - 1;
      q = u * u + v * v;
    } while (q >= 1 || q === 0);
    const m = Math.sqrt((-2 * Math.log(q)) / q) * stddev;
    out[i++] = mean + u * m;
    if (i < n) out[i++] = mean + v * m;
  }
  return out;
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
