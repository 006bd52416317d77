/**
 * Adam (Kingma & Ba 2015) over a Parameters map. Written here rather than using tf.train.adam so its
 * state (step count and moments, keyed by parameter name) goes into checkpoints by name and a
 * resumed run continues with exactly the same updates.
 *
 * Three implementations of the same update, chosen by backend when the optimizer is made:
 * - native with our fused kernels (engine/backend/fused-kernels.ts): every parameter, its moments and gradient
 *   in one kernel call per step (one pass over memory, vectorised, two threads for large parameters);
 * - native without them (a stock tfjs-node): the moments live in TensorFlow resource variables and each
 *   parameter takes one `ResourceApplyAdam` kernel (plus a buffer hand-over in and a read out), instead
 *   of 12 element-wise kernels and 12 passes over memory;
 * - wasm / cpu: the same formula in tfjs ops.
 * All three compute m <- m + (g - m)(1 - b1), v <- v + (g^2 - v)(1 - b2), p <- p - lr_t m / (sqrt(v) + eps)
 * with lr_t = lr sqrt(1 - b2^t) / (1 - b1^t), TensorFlow's formulation; on the native backend the three
 * give bit-identical parameters (test/engine/adam.test.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { adamKernel, fusedKernelsAvailable } from '../backend/fused-kernels.js';
import { NativeVariable, onNativeBackend, resourceApplyAdam, type AdamScalars } from '../backend/native-ops.js';
import type { Parameters, SavedTensor } from './parameters.js';

export interface AdamConfig {
  readonly lr: number;
  /** Multiplier of lr at step t (1-based), e.g. a warm-up then cosine decay; default 1 at every step. */
  readonly schedule?: (t: number) => number;
  readonly beta1?: number;
  readonly beta2?: number;
  readonly epsilon?: number;
  /**
   * 'fused' (default): our one-call kernel on the native backend (else TensorFlow's ResourceApplyAdam),
   * tfjs ops elsewhere;
   * 'resource': ResourceApplyAdam on the native backend even where our kernel exists;
   * 'ops': tfjs ops on every backend (the last two for comparisons).
   */
  readonly kernel?: 'fused' | 'resource' | 'ops';
}

/** The moment estimates of one parameter, wherever they live. */
interface Moments {
  read(which: 'm' | 'v'): tf.Tensor;
  write(which: 'm' | 'v', value: tf.Tensor): void;
  /** One Adam update of `p` with gradient `g`. */
  update(p: tf.Variable, g: tf.Tensor, h: Hyper): void;
  dispose(): void;
}

/** One step's hyper-parameters; `scalars` are the same as device scalars (native path only). */
interface Hyper {
  readonly lrT: number;
  readonly b1: number;
  readonly b2: number;
  readonly eps: number;
  readonly scalars?: AdamScalars;
}

/** tfjs ops (wasm, cpu); also the moments' storage for our one-call kernel. */
class TfjsMoments implements Moments {
  readonly m: tf.Variable;
  readonly v: tf.Variable;

  constructor(p: tf.Variable) {
    this.m = tf.tidy(() => tf.variable(tf.zerosLike(p), false));
    this.v = tf.tidy(() => tf.variable(tf.zerosLike(p), false));
  }

  read(which: 'm' | 'v'): tf.Tensor {
    return tf.clone(this[which]);
  }

  write(which: 'm' | 'v', value: tf.Tensor): void {
    this[which].assign(value);
  }

  update(p: tf.Variable, g: tf.Tensor, h: Hyper): void {
    tf.tidy(() => {
      // 1 - b in float32 arithmetic, as TensorFlow's kernel computes it.
      this.m.assign(tf.add(this.m, tf.mul(tf.sub(g, this.m), Math.fround(1 - Math.fround(h.b1)))));
      this.v.assign(tf.add(this.v, tf.mul(tf.sub(tf.square(g), this.v), Math.fround(1 - Math.fround(h.b2)))));
      p.assign(tf.sub(p, tf.div(tf.mul(this.m, h.lrT), tf.add(tf.sqrt(this.v), h.eps))));
    });
  }

  dispose(): void {
    tf.dispose([this.m, this.v]);
  }
}

/** TensorFlow resource variables and the fused ResourceApplyAdam kernel (native backend). */
class NativeMoments implements Moments {
  private readonly m: NativeVariable;
  private readonly v: NativeVariable;
  /** Scratch variable the kernel updates in place; the tfjs Variable stays the parameter's owner. */
  private readonly p: NativeVariable;

  constructor(param: tf.Variable) {
    this.m = new NativeVariable(param.shape);
    this.v = new NativeVariable(param.shape);
    this.p = new NativeVariable(param.shape, param);
  }

  read(which: 'm' | 'v'): tf.Tensor {
    return this[which].read();
  }

  write(which: 'm' | 'v', value: tf.Tensor): void {
    this[which].write(value);
  }

  update(param: tf.Variable, g: tf.Tensor, h: Hyper): void {
    this.p.write(param);
    resourceApplyAdam(this.p, this.m, this.v, h.scalars!, g);
    const next = this.p.read();
    param.assign(next);
    next.dispose();
  }

  dispose(): void {
    for (const x of [this.m, this.v, this.p]) x.dispose();
  }
}

export class Adam {
  private readonly moments = new Map<string, Moments>();
  private t = 0;
  private readonly b1: number;
  private readonly b2: number;
  private readonly eps: number;
  /** beta1, beta2, epsilon and zero beta powers as device scalars (ResourceApplyAdam path; lr is per step). */
  private readonly constants: Omit<AdamScalars, 'lr'> | null;
  /** Whether every parameter is updated by one call of our kernel. */
  private readonly oneCall: boolean;

  constructor(private readonly params: Parameters, private readonly names: readonly string[], private readonly cfg: AdamConfig) {
    this.b1 = cfg.beta1 ?? 0.9;
    this.b2 = cfg.beta2 ?? 0.999;
    this.eps = cfg.epsilon ?? 1e-8;
    const kernel = onNativeBackend() ? (cfg.kernel ?? 'fused') : 'ops';
    this.oneCall = kernel === 'fused' && fusedKernelsAvailable();
    const native = kernel === 'resource' || (kernel === 'fused' && !this.oneCall);
    // Beta powers 0 make the kernel's lr_t = lr sqrt(1 - 0) / (1 - 0) exactly the lr_t we pass.
    this.constants = native ? { beta1Power: tf.scalar(0), beta2Power: tf.scalar(0), beta1: tf.scalar(this.b1), beta2: tf.scalar(this.b2), epsilon: tf.scalar(this.eps) } : null;
    for (const n of names) {
      const p = params.get(n);
      if (!p) throw new Error(`Adam: no parameter ${n}`);
      this.moments.set(n, native ? new NativeMoments(p) : new TfjsMoments(p));
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
    const lr = this.cfg.lr * (this.cfg.schedule ? this.cfg.schedule(this.t) : 1);
    const lrT = (lr * Math.sqrt(1 - this.b2 ** this.t)) / (1 - this.b1 ** this.t);
    const vars = this.names.map((n) => this.params.get(n)!);
    return tf.tidy(() => {
      const h: Hyper = { lrT, b1: this.b1, b2: this.b2, eps: this.eps, scalars: this.constants ? { ...this.constants, lr: tf.scalar(lrT) } : undefined };
      const { value, grads } = tf.variableGrads(f, vars);
      // Parameters unused by this objective have no gradient and are left as they are.
      const used = this.names.filter((n) => grads[this.params.get(n)!.name]);
      if (this.oneCall) this.updateInOneCall(used, grads, h);
      else for (const n of used) this.moments.get(n)!.update(this.params.get(n)!, grads[this.params.get(n)!.name]!, h);
      return value;
    });
  }

  private updateInOneCall(names: readonly string[], grads: tf.NamedTensorMap, h: Hyper): void {
    if (names.length === 0) return;
    const params = names.map((n) => this.params.get(n)!);
    const moments = names.map((n) => this.moments.get(n) as TfjsMoments);
    const next = adamKernel(
      params,
      moments.map((x) => x.m),
      moments.map((x) => x.v),
      params.map((p) => grads[p.name]!),
      tf.tensor1d([h.lrT, h.b1, h.b2, h.eps]),
    );
    names.forEach((_, i) => {
      params[i]!.assign(next.p[i]!);
      moments[i]!.m.assign(next.m[i]!);
      moments[i]!.v.assign(next.v[i]!);
    });
  }

  async save(prefix = 'adam.'): Promise<{ tensors: SavedTensor[]; step: number }> {
    const tensors: SavedTensor[] = [];
    for (const n of this.names) {
      for (const which of ['m', 'v'] as const) {
        const x = this.moments.get(n)!.read(which);
        tensors.push({ name: `${prefix}${which}.${n}`, shape: x.shape, values: (await x.data()) as Float32Array });
        x.dispose();
      }
    }
    return { tensors, step: this.t };
  }

  load(saved: readonly SavedTensor[], step: number, prefix = 'adam.'): void {
    const byName = new Map(saved.map((s) => [s.name, s]));
    for (const n of this.names) {
      for (const which of ['m', 'v'] as const) {
        const s = byName.get(`${prefix}${which}.${n}`);
        if (!s) throw new Error(`checkpoint has no optimizer state ${prefix}${which}.${n}`);
        const value = tf.tensor(s.values, this.params.get(n)!.shape);
        this.moments.get(n)!.write(which, value);
        value.dispose();
      }
    }
    this.t = step;
  }

  dispose(): void {
    for (const x of this.moments.values()) x.dispose();
    if (this.constants) tf.dispose(Object.values(this.constants));
  }
}
