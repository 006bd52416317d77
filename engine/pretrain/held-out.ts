/**
 * The upstream tasks on held-out data: each group's pre-training loss on the test split, the same for every
 * arm of an experiment (fixed examples, fixed masks), with the group's reference loss beside it. It shows
 * what pre-training learnt per group (does natural pre-training under-serve a rare group? does every masked-
 * token task beat its unigram baseline?), whatever the arm trained on.
 * - images: the label groups of the pool's shares, else of the split (none for other splits): up to
 *   HELD_OUT_EXAMPLES test images of the group, half of their 4x4 patches masked; reference: the loss of
 *   predicting the group's mean training image.
 * - text: the five part-of-speech groups: up to HELD_OUT_EXAMPLES test sentences holding a token of the group,
 *   half of the group's tokens masked in each (at least one), as the group's task masks them in training (the
 *   number of masks tells a model which group is masked, so one mask per sentence would be another task);
 *   reference: the group's unigram entropy on the training split.
 */
import * as tf from '@tensorflow/tfjs';
import type { LoadDataStage, PlanData, SplitTasksStage } from '../../dsl/plan-types.js';
import { imageTaskGroups, POS_GROUPS, type MlmCorpus } from '../../datasets/index.js';
import { imagesToDevice } from '../device-data.js';
import { deriveSeed, randomUniform } from '../backend/device-random.js';
import { reconstructionLoss, type MaskedImageModel } from '../models/masked-image-conv.js';
import { maskedTokenLoss, type MaskedTokenModel } from '../models/masked-token-transformer.js';
import { SeededRandom } from '../random.js';
import { meanImageLoss } from './image-upstream.js';
import type { Pretraining } from './split-tasks.js';
import { taskOfPosGroup, taskUnigramEntropies } from './text-upstream.js';

export const HELD_OUT_EXAMPLES = 512;
/** Share of a group's tokens masked in a held-out sentence (the part-of-speech tasks' training ratio). */
export const HELD_OUT_TEXT_MASK_RATIO = 0.5;
/** Fixed, so every arm and seed sees the same held-out examples and masks. */
const HELD_OUT_SEED = 4242;

export interface HeldOutLosses {
  readonly groups: readonly string[];
  /** Mean loss per group on its held-out examples. */
  readonly losses: readonly number[];
  /** The group's reference loss (mean image / unigram entropy). */
  readonly references: readonly number[];
  readonly examples: readonly number[];
}

export async function heldOutLosses(plan: PlanData, p: Pretraining): Promise<HeldOutLosses | null> {
  if (p.model.kind === 'raw-pixels') return null;
  if (p.data.kind === 'text') return textHeldOut(p.model as MaskedTokenModel, p.data.corpus);
  const load = plan.stages.find((s) => s.kind === 'load-data') as LoadDataStage;
  const split = plan.stages.find((s) => s.kind === 'split-tasks') as SplitTasksStage;
  const k = load.groupShares?.length ?? (split.by === 'label' ? split.k : 0);
  if (k < 2) return null;
  const { set, pool } = p.data;
  const groups = imageTaskGroups(set, { k, by: 'label' });
  const model = p.model as MaskedImageModel;
  const losses: number[] = [];
  const references: number[] = [];
  const examples: number[] = [];
  const rng = new SeededRandom(HELD_OUT_SEED);
  for (let g = 0; g < k; g++) {
    const test = Int32Array.from(groups.test.keys()).filter((i) => groups.test[i] === g);
    const chosen = rng.shuffle(test).slice(0, HELD_OUT_EXAMPLES);
    const sub = { count: chosen.length, images: gatherImages(set.test.images, set.height * set.width, chosen), labels: Uint8Array.from(chosen, (i) => set.test.labels[i]!) };
    const loss = tf.tidy(() => {
      const x = imagesToDevice(sub, set.height, set.width);
      const P = model.config.patch;
      const grid = Math.ceil(set.height / P);
      const u = randomUniform([chosen.length, grid, grid, 1], { seed: deriveSeed(HELD_OUT_SEED, g), stream: 1 });
      const up = tf.image.resizeNearestNeighbor(tf.cast(tf.greaterEqual(u, 0.5), 'float32') as tf.Tensor4D, [grid * P, grid * P]);
      const keep = grid * P === set.height ? up : tf.slice(up, [0, 0, 0, 0], [chosen.length, set.height, set.height, 1]);
      return tf.mean(reconstructionLoss(model, x, keep as tf.Tensor4D));
    });
    losses.push((await loss.data())[0]!);
    loss.dispose();
    references.push(meanImageLoss(set.train, pool.filter((i) => groups.train[i] === g)));
    examples.push(chosen.length);
  }
  return { groups: groups.groupNames, losses, references, examples };
}

function gatherImages(images: Uint8Array, size: number, rows: Int32Array): Uint8Array {
  const out = new Uint8Array(rows.length * size);
  rows.forEach((r, i) => out.set(images.subarray(r * size, (r + 1) * size), i * size));
  return out;
}

async function textHeldOut(model: MaskedTokenModel, corpus: MlmCorpus): Promise<HeldOutLosses> {
  const k = POS_GROUPS.length;
  const L = corpus.seqLen;
  const { test } = corpus;
  const rng = new SeededRandom(HELD_OUT_SEED);
  const losses: number[] = [];
  const examples: number[] = [];
  for (let g = 0; g < k; g++) {
    const candidates: number[][] = [];
    const sentences: number[] = [];
    for (let s = 0; s < test.count; s++) {
      const positions: number[] = [];
      for (let j = 0; j < L; j++) if (test.tokens[s * L + j] !== corpus.vocab.PAD && taskOfPosGroup(test.pos[s * L + j]!, k) === g) positions.push(j);
      if (positions.length) {
        sentences.push(s);
        candidates.push(positions);
      }
    }
    const order = rng.shuffle(Int32Array.from(sentences.keys())).slice(0, HELD_OUT_EXAMPLES);
    const n = order.length;
    const masked = new Int32Array(n * L);
    const flat: number[] = [];
    const targets: number[] = [];
    const owner: number[] = [];
    order.forEach((o, b) => {
      const s = sentences[o]!;
      masked.set(test.tokens.subarray(s * L, (s + 1) * L), b * L);
      const chosen = candidates[o]!.filter(() => rng.next() < HELD_OUT_TEXT_MASK_RATIO);
      for (const j of chosen.length ? chosen : [candidates[o]![rng.int(candidates[o]!.length)]!]) {
        flat.push(b * L + j);
        targets.push(masked[b * L + j]!);
        owner.push(b);
        masked[b * L + j] = corpus.vocab.MASK;
      }
    });
    const loss = tf.tidy(() =>
      tf.mean(maskedTokenLoss(model, tf.tensor2d(masked, [n, L], 'int32'), tf.tensor1d(flat, 'int32'), tf.tensor1d(targets, 'int32'), tf.tensor1d(owner, 'int32'), n)),
    );
    losses.push((await loss.data())[0]!);
    loss.dispose();
    examples.push(n);
  }
  return { groups: [...POS_GROUPS], losses, references: taskUnigramEntropies(corpus.train, L, corpus.vocab.PAD, k), examples };
}
