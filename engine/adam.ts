/**
 * Adam (Kingma & Ba 2015) over a Parameters map. Written here rather than using tf.train.adam so its
 * state (step count and moments, keyed by parameter name) goes into checkpoints by name and a
 * resumed run continues with exactly the same updates.
 */
import * as tf from '@tensorflow/tfjs';
import type { Parameters, SavedTensor } from './parameters.js';

export interface AdamConfig {
  readonly lr: number;
  readonly beta1?: number;
  readonly beta2?: number;
  readonly epsilon?: number;
}

export class Adam {
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();
  private t = 0;
  private readonly b1: number;
  private readonly b2: number;
  private readonly eps: number;

  constructor(private readonly params: Parameters, private readonly names: readonly string[], private readonly cfg: AdamConfig) {
    this.b1 = cfg.beta1 ?? 0.9;
    this.b2 = cfg.beta2 ?? 0.999;
    this.eps = cfg.epsilon ?? 1e-8;
    for (const n of names) {
      const p = params.get(n);
      if (!p) throw new Error(`Adam: no parameter ${n}`);
      this.m.set(n, tf.tidy(() => tf.variable(tf.zerosLike(p), false)));
      this.v.set(n, tf.tidy(() => tf.variable(tf.zerosLike(p), false)));
    }
  }

  get step(): number {
    return this.t;
  }

  /**
   * Computes f's gradients w.r.t. the optimised parameters and applies one update. `f` returns the
   * scalar to minimise; its value is returned (kept: the caller disposes it).
   */
  minimize(f: () => tf.Scalar): tf.Scalar {
    this.t += 1;
    const lrT = (this.cfg.lr * Math.sqrt(1 - this.b2 ** this.t)) / (1 - this.b1 ** this.t);
    const vars = this.names.map((n) => this.params.get(n)!);
    return tf.tidy(() => {
      const { value, grads } = tf.variableGrads(f, vars);
      for (const n of this.names) {
        const p = this.params.get(n)!;
        const g = grads[p.name];
        if (!g) continue; // parameter unused by this objective
        const m = this.m.get(n)!;
        const v = this.v.get(n)!;
        m.assign(tf.add(tf.mul(m, this.b1), tf.mul(g, 1 - this.b1)));
        v.assign(tf.add(tf.mul(v, this.b2), tf.mul(tf.square(g), 1 - this.b2)));
        p.assign(tf.sub(p, tf.mul(tf.div(m, tf.add(tf.sqrt(v), this.eps)), lrT)));
      }
      return value;
    });
  }

  async save(prefix = 'adam.'): Promise<{ tensors: SavedTensor[]; step: number }> {
    const tensors: SavedTensor[] = [];
    for (const n of this.names) {
      tensors.push({ name: `${prefix}m.${n}`, shape: this.m.get(n)!.shape, values: (await this.m.get(n)!.data()) as Float32Array });
      tensors.push({ name: `${prefix}v.${n}`, shape: this.v.get(n)!.shape, values: (await this.v.get(n)!.data()) as Float32Array });
    }
    return { tensors, step: this.t };
  }

  load(saved: readonly SavedTensor[], step: number, prefix = 'adam.'): void {
    const byName = new Map(saved.map((s) => [s.name, s]));
    for (const n of this.names) {
      for (const [key, store] of [['m', this.m], ['v', this.v]] as const) {
        const s = byName.get(`${prefix}${key}.${n}`);
        if (!s) throw new Error(`checkpoint has no optimizer state ${prefix}${key}.${n}`);
        store.get(n)!.assign(tf.tensor(s.values, store.get(n)!.shape));
      }
    }
    this.t = step;
  }

  dispose(): void {
    for (const x of [...this.m.values(), ...this.v.values()]) x.dispose();
  }
}
