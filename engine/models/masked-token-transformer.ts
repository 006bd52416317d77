/**
 * Masked-token transformer encoder (BERT-style, pre-LayerNorm) for the "Part-of-Speech Mask BERT"
 * pre-training: token + position embeddings, `depth` blocks of multi-head self-attention and a GELU
 * MLP, a final LayerNorm, and masked-token logits through the tied input embedding.
 */
import * as tf from '@tensorflow/tfjs';
import { sparseSoftmaxCrossEntropy } from '../sparse-cross-entropy.js';
import { addParam, glorot, normalInit, param, type Parameters } from '../parameters.js';
import type { SeededRandom } from '../random.js';

export interface MaskedTokenConfig {
  readonly vocabSize: number;
  readonly seqLen: number;
  /** Model dimension. */
  readonly width: number;
  readonly depth: number;
  readonly heads: number;
  /** Token id of padding (ignored by attention and by pooling). */
  readonly padId: number;
}

export interface MaskedTokenModel {
  readonly kind: 'masked-token-transformer';
  readonly config: MaskedTokenConfig;
  readonly params: Parameters;
  readonly encoderNames: readonly string[];
}

export function createMaskedTokenModel(cfg: MaskedTokenConfig, rng: SeededRandom): MaskedTokenModel {
  if (cfg.width % cfg.heads !== 0) throw new Error(`masked-token-transformer: width ${cfg.width} not divisible by ${cfg.heads} heads`);
  const d = cfg.width;
  const p: Parameters = new Map();
  addParam(p, 'tok.emb', normalInit(rng, [cfg.vocabSize, d], 0.02));
  addParam(p, 'pos.emb', normalInit(rng, [cfg.seqLen, d], 0.02));
  for (let l = 0; l < cfg.depth; l++) {
    addParam(p, `b${l}.ln1.g`, tf.ones([d]));
    addParam(p, `b${l}.ln1.b`, tf.zeros([d]));
    addParam(p, `b${l}.qkv.w`, glorot(rng, [d, 3 * d], d, 3 * d));
    addParam(p, `b${l}.qkv.b`, tf.zeros([3 * d]));
    addParam(p, `b${l}.proj.w`, glorot(rng, [d, d], d, d));
    addParam(p, `b${l}.proj.b`, tf.zeros([d]));
    addParam(p, `b${l}.ln2.g`, tf.ones([d]));
    addParam(p, `b${l}.ln2.b`, tf.zeros([d]));
    addParam(p, `b${l}.mlp1.w`, glorot(rng, [d, 4 * d], d, 4 * d));
    addParam(p, `b${l}.mlp1.b`, tf.zeros([4 * d]));
    addParam(p, `b${l}.mlp2.w`, glorot(rng, [4 * d, d], 4 * d, d));
    addParam(p, `b${l}.mlp2.b`, tf.zeros([d]));
  }
  addParam(p, 'lnf.g', tf.ones([d]));
  addParam(p, 'lnf.b', tf.zeros([d]));
  const encoderNames = [...p.keys()];
  addParam(p, 'mlm.b', tf.zeros([cfg.vocabSize]));
  return { kind: 'masked-token-transformer', config: cfg, params: p, encoderNames };
}

function layerNorm(x: tf.Tensor, g: tf.Tensor, b: tf.Tensor): tf.Tensor {
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5))), g), b);
}

/** GELU, sigmoid approximation x * sigmoid(1.702 x) (Hendrycks & Gimpel): one fused-friendly op pair. */
function gelu(x: tf.Tensor): tf.Tensor {
  return tf.mul(x, tf.sigmoid(tf.mul(x, 1.702)));
}

function dense(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor): tf.Tensor {
  const shape = x.shape;
  const y = tf.add(tf.matMul(tf.reshape(x, [-1, shape[shape.length - 1]!]) as tf.Tensor2D, w as tf.Tensor2D), b);
  return tf.reshape(y, [...shape.slice(0, -1), w.shape[1]!]);
}

/** Hidden states [B, L, d] of token ids [B, L] (int32). */
export function encodeTokens(model: MaskedTokenModel, tokens: tf.Tensor2D, params: Parameters = model.params): tf.Tensor3D {
  const { seqLen, width: d, heads, depth, padId } = model.config;
  const [B, L] = tokens.shape;
  if (L > seqLen) throw new Error(`sequence length ${L} exceeds the model's ${seqLen}`);
  const hd = d / heads;
  let h = tf.add(tf.gather(param(params, 'tok.emb'), tokens), tf.slice(param(params, 'pos.emb'), [0, 0], [L, d])) as tf.Tensor3D;
  // Additive attention mask: -1e9 on padding keys, shape [B, 1, 1, L].
  const keyMask = tf.reshape(tf.mul(tf.cast(tf.equal(tokens, padId), 'float32'), -1e9), [B, 1, 1, L]);
  for (let l = 0; l < depth; l++) {
    const a = layerNorm(h, param(params, `b${l}.ln1.g`), param(params, `b${l}.ln1.b`));
    const qkv = dense(a, param(params, `b${l}.qkv.w`), param(params, `b${l}.qkv.b`));
    const [q, k, v] = tf.split(qkv, 3, -1).map((t) => tf.transpose(tf.reshape(t, [B, L, heads, hd]), [0, 2, 1, 3])) as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D];
    const scores = tf.add(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(hd)), keyMask);
    const att = tf.matMul(tf.softmax(scores), v);
    const merged = tf.reshape(tf.transpose(att, [0, 2, 1, 3]), [B, L, d]);
    h = tf.add(h, dense(merged, param(params, `b${l}.proj.w`), param(params, `b${l}.proj.b`))) as tf.Tensor3D;
    const m = layerNorm(h, param(params, `b${l}.ln2.g`), param(params, `b${l}.ln2.b`));
    h = tf.add(h, dense(gelu(dense(m, param(params, `b${l}.mlp1.w`), param(params, `b${l}.mlp1.b`))), param(params, `b${l}.mlp2.w`), param(params, `b${l}.mlp2.b`))) as tf.Tensor3D;
  }
  return layerNorm(h, param(params, 'lnf.g'), param(params, 'lnf.b')) as tf.Tensor3D;
}

/** Sentence features [B, d]: mean of the hidden states over non-padding tokens. */
export function poolTokens(model: MaskedTokenModel, tokens: tf.Tensor2D, params: Parameters = model.params): tf.Tensor2D {
  const h = encodeTokens(model, tokens, params);
  const keep = tf.expandDims(tf.cast(tf.notEqual(tokens, model.config.padId), 'float32'), -1);
  return tf.div(tf.sum(tf.mul(h, keep), 1), tf.maximum(tf.sum(keep, 1), 1)) as tf.Tensor2D;
}

/**
 * Per-example masked-token loss [B]: cross-entropy of the original token at each masked position,
 * averaged over that example's masked positions. Only masked positions are projected to the vocabulary
 * (a gather before the output matMul), which keeps the [positions, vocab] logits small.
 * `positions` are flat indices b * L + t (int32 [M]); `targets` their token ids; `owner` their b.
 */
export function maskedTokenLoss(
  model: MaskedTokenModel,
  maskedTokens: tf.Tensor2D,
  positions: tf.Tensor1D,
  targets: tf.Tensor1D,
  owner: tf.Tensor1D,
  batch: number,
): tf.Tensor1D {
  const d = model.config.width;
  const h = tf.reshape(encodeTokens(model, maskedTokens), [-1, d]) as tf.Tensor2D;
  const picked = tf.gather(h, positions);
  const logits = tf.add(tf.matMul(picked, param(model.params, 'tok.emb') as tf.Tensor2D, false, true), param(model.params, 'mlm.b'));
  const nll = sparseSoftmaxCrossEntropy(logits as tf.Tensor2D, targets);
  const perExample = tf.unsortedSegmentSum(nll, owner, batch);
  const counts = tf.unsortedSegmentSum(tf.onesLike(nll), owner, batch);
  return tf.div(perExample, tf.maximum(counts, 1)) as tf.Tensor1D;
}

/** Analytic forward FLOPs for one sequence of length L with M masked positions (2 per multiply-add). */
export function maskedTokenForwardFlops(cfg: MaskedTokenConfig, maskedPerSequence: number): number {
  const { seqLen: L, width: d, depth } = cfg;
  const perLayer = 2 * L * d * 3 * d + 2 * 2 * L * L * d + 2 * L * d * d + 2 * 2 * L * d * 4 * d;
  return depth * perLayer + 2 * maskedPerSequence * d * cfg.vocabSize;
}
