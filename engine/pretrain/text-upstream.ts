/**
 * Upstream tasks on text ("Part-of-Speech Mask BERT"): task t is masked-token recovery where the masked
 * tokens belong to part-of-speech group t. With k < 5 tasks the groups after the (k-1)-th are merged
 * into the last task; without a split (k = 1) any token may be masked (plain masked language modelling).
 * Masks are drawn on the host (they are a handful of integer positions per sentence, not pixels).
 */
import * as tf from '@tensorflow/tfjs';
import { POS_GROUPS } from '../../datasets/catalog.js';
import { POS_NONE } from '../../datasets/pos-groups.js';
import { maskedTokenLoss, type MaskedTokenModel } from '../models/masked-token-transformer.js';
import type { SeededRandom } from '../random.js';
import type { Upstream, UpstreamBatch } from './upstream.js';

export interface TokenSplit {
  /** count * seqLen token ids, PAD-padded. */
  readonly tokens: Int32Array;
  /** count * seqLen POS group ids (index into POS_GROUPS). */
  readonly pos: Uint8Array;
  readonly count: number;
}

export interface TextUpstreamOptions {
  readonly train: TokenSplit;
  readonly seqLen: number;
  readonly padId: number;
  readonly maskId: number;
  readonly model: MaskedTokenModel;
  /** 1 = no split (mask any token); 2..5 = POS-group tasks. */
  readonly k: number;
  readonly batchSize: number;
  /** Probability that each candidate token of the task's group is masked (at least one per sentence). */
  readonly maskRatio: number;
  /** With k = 1: the POS group ids whose tokens may be masked (a specialist); null = any token. */
  readonly groups?: readonly number[] | null;
}

/** Task of a POS group id for k tasks (groups beyond k-1 fold into the last task); -1 for tokens with no group. */
export function taskOfPosGroup(group: number, k: number): number {
  if (group === POS_NONE) return -1;
  return k === 1 ? 0 : Math.min(group, k - 1);
}

export function posTaskNames(k: number): string[] {
  if (k === 1) return ['all tokens'];
  return Array.from({ length: k }, (_, t) => (t < k - 1 ? POS_GROUPS[t]! : POS_GROUPS.slice(k - 1).join('+')));
}

/**
 * Each task's unigram entropy: the cross-entropy (nats) of predicting the task's tokens with the task's own
 * unigram distribution over the training split, the best a predictor that knows the task but no context does.
 */
export function taskUnigramEntropies(train: TokenSplit, seqLen: number, padId: number, k: number, taskOf = (group: number) => taskOfPosGroup(group, k)): number[] {
  const counts = Array.from({ length: k }, () => new Map<number, number>());
  for (let i = 0; i < train.count * seqLen; i++) {
    const tok = train.tokens[i]!;
    const t = tok === padId ? -1 : taskOf(train.pos[i]!);
    if (t >= 0) counts[t]!.set(tok, (counts[t]!.get(tok) ?? 0) + 1);
  }
  return counts.map((m) => {
    let n = 0;
    for (const c of m.values()) n += c;
    let h = 0;
    for (const c of m.values()) h -= (c / n) * Math.log(c / n);
    return h;
  });
}

export function createTextUpstream(o: TextUpstreamOptions): Upstream {
  const { train, seqLen: L, padId, maskId, model, k, batchSize: B, maskRatio } = o;
  const allowed = o.groups ?? null;
  if (allowed !== null && k !== 1) throw new Error('createTextUpstream: groups restricts a single task (k = 1)');
  const taskOf = (group: number) => (allowed !== null && !allowed.includes(group) ? -1 : taskOfPosGroup(group, k));
  // Sentences that contain at least one token of each task.
  const pools: Int32Array[] = [];
  for (let t = 0; t < k; t++) {
    const ids: number[] = [];
    for (let s = 0; s < train.count; s++) {
      for (let j = 0; j < L; j++) {
        const tok = train.tokens[s * L + j]!;
        if (tok !== padId && taskOf(train.pos[s * L + j]!) === t) {
          ids.push(s);
          break;
        }
      }
    }
    if (ids.length === 0) throw new Error(`no training sentence has a token of task ${posTaskNames(k)[t]}`);
    pools.push(Int32Array.from(ids));
  }

  return {
    k,
    taskNames: allowed !== null ? [allowed.map((g) => POS_GROUPS[g]!).join('+')] : posTaskNames(k),
    taskSizes: pools.map((p) => p.length),
    references: taskUnigramEntropies(train, L, padId, k, taskOf),
    draw(_step: number, rng: SeededRandom): UpstreamBatch {
      const N = k * B;
      const masked = new Int32Array(N * L);
      const positions: number[] = [];
      const targets: number[] = [];
      const owner: number[] = [];
      const candidates: number[] = [];
      for (let t = 0; t < k; t++) {
        const chosen = rng.sample(pools[t]!, B);
        for (let b = 0; b < B; b++) {
          const row = t * B + b;
          const s = chosen[b]!;
          masked.set(train.tokens.subarray(s * L, (s + 1) * L), row * L);
          candidates.length = 0;
          for (let j = 0; j < L; j++) {
            if (train.tokens[s * L + j] !== padId && taskOf(train.pos[s * L + j]!) === t) candidates.push(j);
          }
          let any = false;
          for (const j of candidates) {
            if (rng.next() < maskRatio) {
              positions.push(row * L + j);
              any = true;
            }
          }
          if (!any) positions.push(row * L + candidates[rng.int(candidates.length)]!);
          for (let m = owner.length; m < positions.length; m++) {
            const flat = positions[m]!;
            targets.push(masked[flat]!);
            masked[flat] = maskId;
            owner.push(row);
          }
        }
      }
      const tensors = {
        tokens: tf.tensor2d(masked, [N, L], 'int32'),
        positions: tf.tensor1d(positions, 'int32'),
        targets: tf.tensor1d(targets, 'int32'),
        owner: tf.tensor1d(owner, 'int32'),
      };
      return {
        taskLosses: () =>
          tf.mean(tf.reshape(maskedTokenLoss(model, tensors.tokens, tensors.positions, tensors.targets, tensors.owner, N), [k, B]), 1) as tf.Tensor1D,
        dispose: () => tf.dispose(Object.values(tensors)),
      };
    },
    dispose: () => undefined,
  };
}
