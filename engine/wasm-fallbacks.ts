/**
 * The wasm backend lacks kernels that training needs (Conv2DBackpropFilter, UnsortedSegmentSum — the
 * gradient of gather, hence of every embedding —, Einsum, ...). For each kernel the cpu backend has and
 * wasm does not, register a wasm kernel that copies the inputs to the cpu backend, runs the cpu kernel
 * and copies the outputs back. Slower than a native kernel, but exact: losses and gradients equal the
 * cpu backend's.
 */
import * as tf from '@tensorflow/tfjs';

type AnyBackend = tf.KernelBackend & {
  readSync(dataId: object): tf.backend_util.BackendValues;
  write(values: tf.backend_util.BackendValues, shape: number[], dtype: tf.DataType): object;
  disposeData(dataId: object, force?: boolean): boolean;
};
type WasmBackend = AnyBackend & {
  makeOutput(shape: number[], dtype: tf.DataType, memoryOffset?: number, values?: tf.backend_util.BackendValues): tf.TensorInfo;
};

let registered: string[] | null = null;

/** Registers the fallbacks once; returns the names of the kernels that now run through the cpu backend. */
export function registerWasmFallbackKernels(): readonly string[] {
  if (registered) return registered;
  const names: string[] = [];
  for (const config of tf.getKernelsForBackend('cpu')) {
    const name = config.kernelName;
    if (tf.getKernel(name, 'wasm') !== undefined) continue;
    const cpuKernel = config.kernelFunc;
    tf.registerKernel({
      kernelName: name,
      backendName: 'wasm',
      kernelFunc: ({ inputs, attrs, backend }) => {
        const wasm = backend as unknown as WasmBackend;
        const cpu = tf.findBackend('cpu') as unknown as AnyBackend;
        const cpuInputs: Record<string, tf.TensorInfo> = {};
        for (const [key, t] of Object.entries(inputs)) {
          if (t == null) continue;
          const info = t as tf.TensorInfo;
          cpuInputs[key] = { dataId: cpu.write(wasm.readSync(info.dataId), info.shape.slice(), info.dtype), shape: info.shape, dtype: info.dtype };
        }
        const out = cpuKernel({ inputs: cpuInputs, attrs, backend: cpu as unknown as tf.KernelBackend });
        const outs = Array.isArray(out) ? out : [out];
        const results = outs.map((o) => wasm.makeOutput(o.shape.slice(), o.dtype, undefined, cpu.readSync(o.dataId)));
        for (const o of outs) cpu.disposeData(o.dataId, true);
        for (const t of Object.values(cpuInputs)) cpu.disposeData(t.dataId, true);
        return Array.isArray(out) ? results : results[0]!;
      },
    });
    names.push(name);
  }
  registered = names;
  return names;
}
