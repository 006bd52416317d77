/**
 * The wasm backend lacks kernels that training needs (Conv2DBackpropFilter, UnsortedSegmentSum — the
 * gradient of gather, hence of every embedding —, Einsum, ...). For each kernel the cpu backend has and
 * wasm does not, register a wasm kernel that copies the inputs to the cpu backend, runs the cpu kernel
 * and copies the outputs back: exact (losses and gradients equal the cpu backend's), if slower than a
 * native kernel. The two that dominate training time are written directly instead (below).
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

/**
 * Conv2DBackpropFilter (NHWC) as plain loops with the output channels innermost. The cpu backend's version
 * reads element by element through buffers and took 19.5 s for one batch of 16 in the masked-image model.
 */
function conv2dBackpropFilter({ inputs, attrs, backend }: { inputs: tf.NamedTensorInfoMap; attrs?: tf.NamedAttrMap; backend: unknown }): tf.TensorInfo {
  const wasm = backend as WasmBackend;
  const x = inputs['x'] as tf.TensorInfo;
  const dy = inputs['dy'] as tf.TensorInfo;
  const a = attrs as unknown as { strides: [number, number] | number; pad: 'same' | 'valid' | number; dataFormat: 'NHWC' | 'NCHW'; dimRoundingMode?: 'floor' | 'round' | 'ceil'; filterShape: [number, number, number, number] };
  if (a.dataFormat === 'NCHW') throw new Error('Conv2DBackpropFilter fallback: NCHW is not supported on wasm');
  const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], a.filterShape, a.strides, 1, a.pad, a.dimRoundingMode, false, 'channelsLast');
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW, outChannels: O, filterHeight: KH, filterWidth: KW, strideHeight: SH, strideWidth: SW } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const xs = wasm.readSync(x.dataId) as Float32Array;
  const dys = wasm.readSync(dy.dataId) as Float32Array;
  const dw = new Float32Array(KH * KW * C * O);
  for (let b = 0; b < B; b++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        const dyOff = ((b * OH + oh) * OW + ow) * O;
        for (let kh = 0; kh < KH; kh++) {
          const ih = oh * SH + kh - top;
          if (ih < 0 || ih >= H) continue;
          for (let kw = 0; kw < KW; kw++) {
            const iw = ow * SW + kw - left;
            if (iw < 0 || iw >= W) continue;
            const xOff = ((b * H + ih) * W + iw) * C;
            const wOff = (kh * KW + kw) * C * O;
            for (let c = 0; c < C; c++) {
              const xv = xs[xOff + c]!;
              if (xv === 0) continue;
              const row = wOff + c * O;
              for (let o = 0; o < O; o++) dw[row + o]! += xv * dys[dyOff + o]!;
            }
          }
        }
      }
    }
  }
  return wasm.makeOutput([KH, KW, C, O], 'float32', undefined, dw);
}

/**
 * UnsortedSegmentSum written directly (one pass, O(N * D)): the cpu backend's version builds a mask per
 * segment (O(segments * N * D)), which for an embedding's gradient over a vocabulary of thousands turns a
 * training step into minutes.
 */
function unsortedSegmentSum({ inputs, attrs, backend }: { inputs: tf.NamedTensorInfoMap; attrs?: tf.NamedAttrMap; backend: unknown }): tf.TensorInfo {
  const wasm = backend as WasmBackend;
  const x = inputs['x'] as tf.TensorInfo;
  const ids = inputs['segmentIds'] as tf.TensorInfo;
  const numSegments = (attrs as { numSegments: number }).numSegments;
  const xs = wasm.readSync(x.dataId) as Float32Array;
  const seg = wasm.readSync(ids.dataId) as Int32Array;
  const inner = seg.length === 0 ? 0 : xs.length / seg.length;
  const out = new Float32Array(numSegments * inner);
  for (let i = 0; i < seg.length; i++) {
    const s = seg[i]!;
    if (s < 0 || s >= numSegments) continue; // TensorFlow drops out-of-range ids
    const src = i * inner;
    const dst = s * inner;
    for (let j = 0; j < inner; j++) out[dst + j]! += xs[src + j]!;
  }
  return wasm.makeOutput([numSegments, ...x.shape.slice(ids.shape.length)], 'float32', undefined, out);
}

/** Registers the fallbacks once; returns the names of the kernels that now run through the cpu backend. */
export function registerWasmFallbackKernels(): readonly string[] {
  if (registered) return registered;
  const names: string[] = [];
  for (const config of tf.getKernelsForBackend('cpu')) {
    const name = config.kernelName;
    if (tf.getKernel(name, 'wasm') !== undefined) continue;
    const direct = name === 'UnsortedSegmentSum' ? unsortedSegmentSum : name === 'Conv2DBackpropFilter' ? conv2dBackpropFilter : null;
    if (direct) {
      tf.registerKernel({ kernelName: name, backendName: 'wasm', kernelFunc: direct as unknown as tf.KernelFunc });
      names.push(name);
      continue;
    }
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
