/**
 * Masked-token transformer encoder (BERT-style, pre-LayerNorm) for the "Part-of-Speech Mask BERT"
 * pre-training: token + position embeddings, `depth` blocks of multi-head self-attention and a GELU
 * MLP, a final LayerNorm, and masked-token logits through the tied input embedding.
 */
import * as tf from '@tensorflow/tfjs';
import { selfAttention } from '../ops/attention.js';
import { gelu } from '../ops/gelu.js';
import { embedTokens } from '../ops/token-embedding.js';
import { layerNorm } from '../ops/layer-norm.js';
import { linear } from '../ops/linear.js';
import { sparseSoftmaxCrossEntropy } from '../ops/sparse-cross-entropy.js';
import { addParam, glorot, normalInit, param, type Parameters } from './parameters.js';
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

/**
 * Hidden states [B * L, d] (row b * L + t) of token ids [B, L] (int32). Activations stay 2-D between
 * the layers, so every dense layer is one 2-D product; attention reads the fused q|k|v rows directly.
 */
function encodeRows(model: MaskedTokenModel, tokens: tf.Tensor2D, params: Parameters): tf.Tensor2D {
  const { seqLen, heads, depth, padId } = model.config;
  const L = tokens.shape[1];
  if (L > seqLen) throw new Error(`sequence length ${L} exceeds the model's ${seqLen}`);
  const p = (name: string): tf.Variable => param(params, name);
  let h = embedTokens(tokens, p('tok.emb') as tf.Tensor2D, p('pos.emb') as tf.Tensor2D);
  // Additive attention mask: -1e9 on padding keys, shape [B, L].
  const keyMask = tf.mul(tf.cast(tf.equal(tokens, padId), 'float32'), -1e9) as tf.Tensor2D;
  for (let l = 0; l < depth; l++) {
    const a = layerNorm(h, p(`b${l}.ln1.g`), p(`b${l}.ln1.b`));
    const merged = selfAttention(linear(a, p(`b${l}.qkv.w`), p(`b${l}.qkv.b`)), keyMask, heads);
    h = tf.add(h, linear(merged, p(`b${l}.proj.w`), p(`b${l}.proj.b`)));
    const m = layerNorm(h, p(`b${l}.ln2.g`), p(`b${l}.ln2.b`));
    h = tf.add(h, linear(gelu(linear(m, p(`b${l}.mlp1.w`), p(`b${l}.mlp1.b`))), p(`b${l}.mlp2.w`), p(`b${l}.mlp2.b`)));
  }
  return layerNorm(h, p('lnf.g'), p('lnf.b'));
}

/** Hidden states [B, L, d] of token ids [B, L] (int32). */
export function encodeTokens(model: MaskedTokenModel, tokens: tf.Tensor2D, params: Parameters = model.params): tf.Tensor3D {
  const [B, L] = tokens.shape;
  return tf.reshape(encodeRows(model, tokens, params), [B, L, model.config.width]);
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
  const picked = tf.gather(encodeRows(model, maskedTokens, model.params), positions);
  // The output bias is added inside the cross-entropy, which gives its gradient with the logits'.
  const logits = linear(picked, param(model.params, 'tok.emb'), null, true);
  const nll = sparseSoftmaxCrossEntropy(logits, targets, param(model.params, 'mlm.b') as tf.Tensor1D);
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
