/**
 * Named trainable parameters. Models are plain functions over a Parameters map (nanoGPT style: one
 * readable module per model), initialised from a SeededRandom so a run is reproducible, and
 * serialisable to flat Float32 arrays for checkpoints.
 */
import * as tf from '@tensorflow/tfjs';
import type { SeededRandom } from '../random.js';

export type Parameters = Map<string, tf.Variable>;

let variableCounter = 0;
/** tfjs variable names must be unique per process; ours are addressed by their map key. */
function uniqueName(name: string): string {
  return `${name}#${variableCounter++}`;
}

export interface SavedTensor {
  readonly name: string;
  readonly shape: readonly number[];
  readonly values: Float32Array;
}

/** Glorot-uniform initialisation: U(-a, a) with a = sqrt(6 / (fanIn + fanOut)). */
export function glorot(rng: SeededRandom, shape: number[], fanIn: number, fanOut: number): tf.Tensor {
  const a = Math.sqrt(6 / (fanIn + fanOut));
  const size = shape.reduce((x, y) => x * y, 1);
  const v = new Float32Array(size);
  for (let i = 0; i < size; i++) v[i] = (rng.next() * 2 - 1) * a;
  return tf.tensor(v, shape);
}

export function normalInit(rng: SeededRandom, shape: number[], std: number): tf.Tensor {
  const size = shape.reduce((x, y) => x * y, 1);
  const v = new Float32Array(size);
  for (let i = 0; i < size; i++) v[i] = rng.normal() * std;
  return tf.tensor(v, shape);
}

export function addParam(params: Parameters, name: string, init: tf.Tensor, trainable = true): tf.Variable {
  if (params.has(name)) throw new Error(`parameter ${name} defined twice`);
  const v = tf.variable(init, trainable, uniqueName(name));
  init.dispose();
  params.set(name, v);
  return v;
}

export function param(params: Parameters, name: string): tf.Variable {
  const v = params.get(name);
  if (!v) throw new Error(`missing parameter ${name}`);
  return v;
}

export function countParameters(params: Parameters): number {
  let n = 0;
  for (const v of params.values()) n += v.size;
  return n;
}

export async function saveParameters(params: Parameters, prefix = ''): Promise<SavedTensor[]> {
  const out: SavedTensor[] = [];
  for (const [name, v] of params) out.push({ name: prefix + name, shape: v.shape, values: (await v.data()) as Float32Array });
  return out;
}

/** Assigns saved values to existing parameters; every parameter must be present with its shape. */
export function loadParameters(params: Parameters, saved: readonly SavedTensor[], prefix = ''): void {
  const byName = new Map(saved.map((s) => [s.name, s]));
  for (const [name, v] of params) {
    const s = byName.get(prefix + name);
    if (!s) throw new Error(`checkpoint has no parameter ${prefix + name}`);
    if (s.shape.length !== v.shape.length || s.shape.some((d, i) => d !== v.shape[i])) {
      throw new Error(`checkpoint parameter ${prefix + name} has shape [${s.shape}], model expects [${v.shape}]`);
    }
    v.assign(tf.tensor(s.values, v.shape));
  }
}

/** A deep copy (new variables) — fine-tuning one downstream task must not change another's encoder. */
export function cloneParameters(params: Parameters, trainable = true): Parameters {
  const out: Parameters = new Map();
  for (const [name, v] of params) out.set(name, tf.variable(v.clone(), trainable, uniqueName(name)));
  return out;
}

export function disposeParameters(params: Parameters): void {
  for (const v of params.values()) v.dispose();
  params.clear();
}
