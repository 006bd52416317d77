/**
 * The cost model behind a Plan's estimates: parameters, FLOPs and bytes of the two model families,
 * computed from the model config alone (no tensors). Approximate by design, but every quantity
 * grows monotonically with width, depth, batch size, steps and draws, so a larger pipeline never
 * looks cheaper. All tensors are float32 (4 bytes).
 *
 * Masked-image conv encoder-decoder on 28x28x1 (our stand-in for an MAE on small images):
 *   encoder block i = 1..depth: 3x3 conv stride 2 (c_{i-1} -> c_i), 3x3 conv stride 1 (c_i -> c_i),
 *     with c_0 = 1 and c_i = width * 2^(i-1); the side halves (rounding up) each block: 28, 14, 7, 4.
 *   decoder mirrors it with 3x3 transposed convs stride 2 and 3x3 convs, then a 3x3 conv to 1 channel.
 *   FLOPs of a conv = 2 * MACs, MACs = outSide^2 * 9 * cin * cout (transposed: inSide^2 * 9 * cin * cout).
 *   Training costs 3x the forward pass (forward + two backward products); each activation element
 *   is held ~3 times in a training step (output, post-ReLU, gradient).
 *
 * Masked-token transformer (BERT-style), d = width, L = depth, sequence T = 32, vocabulary V = 8,000,
 * h = max(1, round(d / 32)) heads, MLP 4d:
 *   parameters = V d + T d + L (12 d^2 + 13 d) + 2 d + V (decoder tied to the token embedding);
 *   forward FLOPs per sequence = L (24 T d^2 + 4 T^2 d) + 2 T d V, so training is the familiar
 *   6 * parameters * tokens plus attention; activations per layer (Korthikanti et al. 2022,
 *   doubled for float32) = 2 T (34 d + 5 h T) bytes, plus logits, softmax and gradient 3 * 4 T V.
 */
import { DATASETS } from '../datasets/catalog.js';
import type { PretrainSpec } from './spec.js';

/** Bytes per float32 element. */
const F32 = 4;
/** Vocabulary size the cost model assumes for a text model whose Spec names none. */
export const TEXT_VOCABULARY = 8000;

export interface ModelCost {
  /** Trainable parameters of the pre-training model (encoder and decoder). */
  readonly parameters: number;
  /** Parameters of the encoder alone (what a classifier keeps). */
  readonly encoderParameters: number;
  /** Forward FLOPs of the pre-training model on one example. */
  readonly forwardFlops: number;
  /** Forward FLOPs of the encoder on one example. */
  readonly encoderForwardFlops: number;
  /** Activation bytes one example holds during a pre-training step. */
  readonly trainActivationBytes: number;
  /** Activation bytes one example holds while training through the encoder only (full fine-tuning). */
  readonly encoderTrainActivationBytes: number;
  /** Largest activation bytes alive at once per example in a forward-only encoder pass. */
  readonly inferenceActivationBytes: number;
  /** Bytes of one pre-training example as fed (masked input, clean target, mask). */
  readonly pretrainInputBytes: number;
  /** Bytes of one classifier input. */
  readonly inputBytes: number;
  /** Size of the pooled encoder feature a classifier head reads. */
  readonly featureSize: number;
}

export function modelCost(p: PretrainSpec): ModelCost {
  if (p.model === 'raw-pixels') return rawPixelsCost(p);
  return p.model === 'masked-image-conv' ? convCost(p) : transformerCost(p);
}

/** The raw-input control: no parameters, the pixels are the features. */
function rawPixelsCost(p: PretrainSpec): ModelCost {
  const pixels = DATASETS[p.dataset].shape[0]! ** 2;
  return {
    parameters: 0,
    encoderParameters: 0,
    forwardFlops: 0,
    encoderForwardFlops: 0,
    trainActivationBytes: F32 * pixels,
    encoderTrainActivationBytes: F32 * pixels,
    inferenceActivationBytes: F32 * pixels,
    pretrainInputBytes: 0,
    inputBytes: F32 * pixels,
    featureSize: pixels,
  };
}

interface Layer {
  readonly params: number;
  readonly macs: number;
  readonly outputs: number;
}

function conv(outSide: number, cin: number, cout: number): Layer {
  return { params: 9 * cin * cout + cout, macs: outSide * outSide * 9 * cin * cout, outputs: outSide * outSide * cout };
}

function transposedConv(inSide: number, outSide: number, cin: number, cout: number): Layer {
  return { params: 9 * cin * cout + cout, macs: inSide * inSide * 9 * cin * cout, outputs: outSide * outSide * cout };
}

function convCost(p: PretrainSpec): ModelCost {
  const side0 = DATASETS[p.dataset].shape[0]!;
  const sides = [side0];
  const channels = [1];
  const encoder: Layer[] = [];
  for (let i = 1; i <= p.depth; i++) {
    const side = Math.ceil(sides[i - 1]! / 2);
    const ch = p.width * 2 ** (i - 1);
    encoder.push(conv(side, channels[i - 1]!, ch), conv(side, ch, ch));
    sides.push(side);
    channels.push(ch);
  }
  const decoder: Layer[] = [];
  for (let i = p.depth; i >= 1; i--) {
    const out = i > 1 ? channels[i - 1]! : p.width;
    decoder.push(transposedConv(sides[i]!, sides[i - 1]!, channels[i]!, out), conv(sides[i - 1]!, out, out));
  }
  decoder.push(conv(side0, p.width, 1));
  const sum = (ls: Layer[], f: (l: Layer) => number): number => ls.reduce((a, l) => a + f(l), 0);
  const all = [...encoder, ...decoder];
  const pixels = side0 * side0;
  return {
    parameters: sum(all, (l) => l.params),
    encoderParameters: sum(encoder, (l) => l.params),
    forwardFlops: 2 * sum(all, (l) => l.macs),
    encoderForwardFlops: 2 * sum(encoder, (l) => l.macs),
    trainActivationBytes: 3 * F32 * sum(all, (l) => l.outputs),
    encoderTrainActivationBytes: 3 * F32 * sum(encoder, (l) => l.outputs),
    inferenceActivationBytes: 2 * F32 * Math.max(pixels, ...encoder.map((l) => l.outputs)),
    pretrainInputBytes: 3 * F32 * pixels,
    inputBytes: F32 * pixels,
    featureSize: channels[p.depth]!,
  };
}

function transformerCost(p: PretrainSpec): ModelCost {
  const d = p.width;
  const L = p.depth;
  const T = DATASETS[p.dataset].shape[0]!;
  const V = p.vocabSize ?? TEXT_VOCABULARY;
  const h = Math.max(1, Math.round(d / 32));
  const encoderParameters = V * d + T * d + L * (12 * d * d + 13 * d) + 2 * d;
  const encoderForwardFlops = L * (24 * T * d * d + 4 * T * T * d);
  const layerActivationBytes = 2 * T * (34 * d + 5 * h * T);
  return {
    parameters: encoderParameters + V,
    encoderParameters,
    forwardFlops: encoderForwardFlops + 2 * T * d * V,
    encoderForwardFlops,
    trainActivationBytes: L * layerActivationBytes + F32 * T * d + 3 * F32 * T * V,
    encoderTrainActivationBytes: L * layerActivationBytes + F32 * T * d,
    inferenceActivationBytes: layerActivationBytes,
    pretrainInputBytes: 3 * F32 * T,
    inputBytes: F32 * T,
    featureSize: d,
  };
}
