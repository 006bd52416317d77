/**
 * Backend selection. Order, fastest first: native TensorFlow on CUDA (tfjs-node-gpu, only when a CUDA
 * driver is really present) -> native TensorFlow on CPU (tfjs-node, installed normally or built offline
 * by scripts/setup-native.mjs into .native/) -> wasm (SIMD, with cpu fallbacks for the kernels it lacks)
 * -> cpu (pure JS). `ROBUSTLAB_BACKEND=tensorflow|wasm|cpu` forces one; a forced backend that cannot
 * load is an EngineError, never a silent fallback. The choice and the reason are always reported.
 */
import * as tf from '@tensorflow/tfjs';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { EngineError } from '../errors.js';
import { projectRoot } from '../project-root.js';
import { setFusedKernels } from './fused-kernels.js';
import { registerNativeGradients } from './native-ops.js';
import { registerWasmFallbackKernels } from './wasm-fallbacks.js';

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';
export type BackendRequest = 'auto' | BackendName;

export interface BackendAttempt {
  readonly candidate: string;
  readonly ok: boolean;
  readonly why: string;
}

export interface BackendReport {
  readonly name: BackendName;
  /** The npm package that provides it. */
  readonly provider: string;
  readonly device: 'gpu' | 'cpu';
  readonly reason: string;
  readonly attempts: readonly BackendAttempt[];
  readonly tfjsVersion: string;
  /** Kernels served on wasm through the cpu fallback (empty on other backends). */
  readonly fallbackKernels: readonly string[];
}

const require = createRequire(import.meta.url);
// Production mode: no per-op debug checks, and no 'install tfjs-node' banner from the cpu backend
// (which wasm's fallback kernels use): robustlab reports the backend itself.
tf.enableProdMode();
let current: BackendReport | null = null;
let nativeProvider: { provider: string; device: 'gpu' | 'cpu' } | null = null;

/** The report of the backend in use, or null before initBackend(). */
export function backendReport(): BackendReport | null {
  return current;
}

function cudaUsable(): string | null {
  if (existsSync('/proc/driver/nvidia/version')) return null;
  return 'no NVIDIA driver (/proc/driver/nvidia/version missing)';
}

/** Loads a native TensorFlow binding once; returns why it could not, or null on success. */
function loadNative(attempts: BackendAttempt[]): string | null {
  if (nativeProvider) return null;
  const tryLoad = (candidate: string, load: () => unknown, device: 'gpu' | 'cpu'): boolean => {
    try {
      load();
      if (!tf.engine().registryFactory['tensorflow']) throw new Error('the binding loaded but registered no "tensorflow" backend');
      nativeProvider = { provider: candidate, device };
      attempts.push({ candidate, ok: true, why: 'loaded' });
      return true;
    } catch (e) {
      attempts.push({ candidate, ok: false, why: firstLine(e) });
      return false;
    }
  };
  // TensorFlow turns its oneDNN CPU kernels on by itself only on some CPUs (AVX-512 ones among them); on this
  // AVX2 machine they take the masked-image train step from 189 to 106 ms and the fine-tune step from 31 to 22 ms
  // (bench/profile.ts, each setting in its own process). A user's own setting wins.
  process.env['TF_ENABLE_ONEDNN_OPTS'] ??= '1';
  // Never load tfjs-node and tfjs-node-gpu into one process: both register a backend named 'tensorflow'.
  const noCuda = cudaUsable();
  if (noCuda === null && resolvable('@tensorflow/tfjs-node-gpu')) {
    if (tryLoad('@tensorflow/tfjs-node-gpu', () => require('@tensorflow/tfjs-node-gpu'), 'gpu')) return null;
  } else {
    attempts.push({ candidate: '@tensorflow/tfjs-node-gpu', ok: false, why: noCuda ?? 'not installed' });
  }
  if (resolvable('@tensorflow/tfjs-node')) {
    if (tryLoad('@tensorflow/tfjs-node', () => require('@tensorflow/tfjs-node'), 'cpu')) return null;
  } else {
    const built = nativeBuildDir();
    if (typeof built === 'string') {
      if (tryLoad('@tensorflow/tfjs-node (built offline in .native/)', () => require(built), 'cpu')) return null;
    } else attempts.push({ candidate: '@tensorflow/tfjs-node', ok: false, why: built.why });
  }
  return attempts
    .filter((a) => !a.ok)
    .map((a) => `${a.candidate}: ${a.why}`)
    .join('; ');
}

function resolvable(name: string): boolean {
  try {
    require.resolve(name);
    return true;
  } catch {
    return false;
  }
}

/** Where scripts/setup-native.mjs built tfjs-node: <project>/.native, or ROBUSTLAB_NATIVE_DIR (a build shared between clones). */
function nativeBuildDir(): string | { why: string } {
  const base = process.env['ROBUSTLAB_NATIVE_DIR'] ?? join(projectRoot(), '.native');
  const statusFile = join(base, 'status.json');
  if (!existsSync(statusFile)) return { why: 'not installed, and no offline build (run `npm run setup:native`)' };
  try {
    const status = JSON.parse(readFileSync(statusFile, 'utf8')) as { ok?: boolean; reason?: string; tfjsNodeDir?: string; fusedKernelsHash?: string | null };
    if (!status.ok || typeof status.tfjsNodeDir !== 'string') return { why: `offline build failed earlier: ${status.reason ?? 'unknown'} (retry: npm run setup:native)` };
    const stale = staleKernels(status.fusedKernelsHash ?? null, join(projectRoot(), 'engine', 'backend', 'native', 'fused-kernels.cc'));
    if (stale) {
      // Its kernels may lack ops or inputs this engine calls: run the tfjs compositions instead, and say so.
      setFusedKernels(false);
      console.warn(`robustlab: ${stale}`);
    }
    return join(base, '..', status.tfjsNodeDir);
  } catch (e) {
    return { why: `.native/status.json unreadable (${firstLine(e)}); run \`npm run setup:native\`` };
  }
}

/**
 * Why the offline build's fused kernels cannot serve this checkout (it was compiled from another version of
 * their source, e.g. after a pull without `npm install`), or null when they can. The hash is the one
 * scripts/setup-native.mjs records: sha256 of the source, first 16 hex digits.
 */
export function staleKernels(builtHash: string | null, source: string): string | null {
  if (builtHash === null || !existsSync(source)) return null;
  const hash = createHash('sha256').update(readFileSync(source)).digest('hex').slice(0, 16);
  if (hash === builtHash) return null;
  return 'the native build in .native/ was compiled from another version of engine/backend/native/fused-kernels.cc; its fused kernels stay off (the tfjs compositions run, slower) until `npm run setup:native`';
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0]!.slice(0, 200);
}

async function activate(name: BackendName): Promise<boolean> {
  if (name === 'wasm') await import('@tensorflow/tfjs-backend-wasm');
  const ok = await tf.setBackend(name);
  if (ok) await tf.ready();
  return ok && tf.getBackend() === name;
}

function requestFromEnv(): BackendRequest {
  const raw = process.env['ROBUSTLAB_BACKEND']?.trim();
  if (!raw || raw === 'auto') return 'auto';
  if (raw === 'tensorflow' || raw === 'wasm' || raw === 'cpu') return raw;
  throw new EngineError(`ROBUSTLAB_BACKEND must be one of auto, tensorflow, wasm, cpu; got '${raw}'`);
}

/**
 * Selects and activates a backend (default: ROBUSTLAB_BACKEND, else 'auto'). Idempotent for the same
 * request; a different request switches backends (all stay registered).
 */
export async function initBackend(request: BackendRequest = requestFromEnv()): Promise<BackendReport> {
  if (current && (request === 'auto' ? current.reason.startsWith('auto') : current.name === request) && tf.getBackend() === current.name) return current;
  const attempts: BackendAttempt[] = [];
  const report = (name: BackendName, reason: string): BackendReport => {
    const provider = name === 'tensorflow' ? nativeProvider!.provider : name === 'wasm' ? '@tensorflow/tfjs-backend-wasm' : '@tensorflow/tfjs (pure JS)';
    const fallbackKernels = name === 'wasm' ? registerWasmFallbackKernels() : [];
    current = { name, provider, device: name === 'tensorflow' ? nativeProvider!.device : 'cpu', reason, attempts, tfjsVersion: tf.version.tfjs, fallbackKernels };
    return current;
  };
  if (request !== 'auto') {
    if (request === 'tensorflow') {
      const why = loadNative(attempts);
      if (why !== null) throw new EngineError(`ROBUSTLAB_BACKEND=tensorflow but the native backend cannot load (${why}); run \`npm run setup:native\` or choose wasm`);
    }
    if (request === 'wasm') registerWasmFallbackKernels();
    if (request === 'tensorflow') registerNativeGradients();
    if (!(await activate(request))) throw new EngineError(`backend '${request}' failed to initialise; choose another with ROBUSTLAB_BACKEND=auto|tensorflow|wasm|cpu`);
    return report(request, `forced by request (${process.env['ROBUSTLAB_BACKEND'] ? 'ROBUSTLAB_BACKEND' : 'argument'})`);
  }
  if (loadNative(attempts) === null && (await activate('tensorflow'))) {
    registerNativeGradients();
    return report('tensorflow', 'auto: native TensorFlow is the fastest backend present');
  }
  registerWasmFallbackKernels();
  try {
    if (await activate('wasm')) return report('wasm', 'auto: native TensorFlow unavailable; wasm (SIMD) is next fastest');
    attempts.push({ candidate: 'wasm', ok: false, why: 'setBackend failed' });
  } catch (e) {
    attempts.push({ candidate: 'wasm', ok: false, why: firstLine(e) });
  }
  if (await activate('cpu')) return report('cpu', 'auto: neither native TensorFlow nor wasm could load; pure-JS cpu is slow');
  throw new Error('robustlab: no TensorFlow.js backend could initialise, not even cpu');
}

/** One line for logs: "backend tensorflow (@tensorflow/tfjs-node, cpu): auto: ...". */
export function describeBackend(r: BackendReport): string {
  return `backend ${r.name} (${r.provider}, ${r.device}): ${r.reason}`;
}
