/**
 * The plan's load-data and split-tasks stages, and the model pre-training starts from: the data (images:
 * the training set, or the pool with fixed label-group shares; text: the Brown corpus with the plan's
 * vocabulary), the seeded model, and the upstream split into k tasks (images: label groups, pixel clusters
 * or noise levels; text: part-of-speech groups). Also what the held-out evaluation needs (held-out.ts).
 */
import type { LoadDataStage, PlanData, PretrainStage, SplitTasksStage } from '../../dsl/plan-types.js';
import { DATASETS, type ImageDatasetName, type PosGroup } from '../../datasets/catalog.js';
import { imageTaskGroups, loadImageSet, loadMlmCorpus, POS_GROUP_ID, poolWithShares, type MlmCorpus } from '../../datasets/index.js';
import type { ImageSet } from '../../datasets/images.js';
import { createMaskedImageModel, imageModelConfig } from '../models/masked-image-conv.js';
import { createMaskedTokenModel } from '../models/masked-token-transformer.js';
import type { PretrainedModel } from '../models/pretrained-model.js';
import { createRawPixelsModel } from '../models/raw-pixels.js';
import type { SeededRandom } from '../random.js';
import { createImageUpstream } from './image-upstream.js';
import { createTextUpstream } from './text-upstream.js';
import type { Upstream } from './upstream.js';

/** What pre-training starts from; `upstream` is null for a model with nothing to train (raw pixels). */
export interface Pretraining {
  readonly model: PretrainedModel;
  readonly upstream: Upstream | null;
  /** The loaded data, for the held-out evaluation. */
  readonly data: { readonly kind: 'image'; readonly set: ImageSet; readonly pool: Int32Array } | { readonly kind: 'text'; readonly corpus: MlmCorpus };
}

export function buildPretraining(plan: PlanData, rng: SeededRandom): Pretraining {
  const load = plan.stages.find((s) => s.kind === 'load-data') as LoadDataStage;
  const split = plan.stages.find((s) => s.kind === 'split-tasks') as SplitTasksStage;
  const pre = plan.stages.find((s) => s.kind === 'pretrain') as PretrainStage;
  return DATASETS[load.dataset].modality === 'image' ? buildImage(plan, load, pre, split, rng) : buildText(plan, load, pre, split, rng);
}

function buildImage(plan: PlanData, load: LoadDataStage, pre: PretrainStage, split: SplitTasksStage, rng: SeededRandom): Pretraining {
  const set = loadImageSet(load.dataset as ImageDatasetName);
  const all = Int32Array.from({ length: set.train.count }, (_, i) => i);
  const pool = load.groupShares ? poolWithShares(imageTaskGroups(set, { k: load.groupShares.length, by: 'label' }).train, load.groupShares) : all;
  if (pre.model === 'raw-pixels') return { model: createRawPixelsModel(set.height, set.width), upstream: null, data: { kind: 'image', set, pool } };
  const model = createMaskedImageModel(imageModelConfig(pre), rng);
  let pools: Int32Array[];
  let taskNames: string[];
  let taskSigmas: number[] | null = null;
  let mixture: { sigmas: number[]; weights: number[] } | null = split.sigmas.length ? { sigmas: [...split.sigmas], weights: [...split.mixtureWeights] } : null;
  if (split.by === 'noise') {
    taskSigmas = [0, ...split.sigmas];
    pools = taskSigmas.map(() => pool);
    taskNames = taskSigmas.map((s) => (s === 0 ? 'clean' : `sigma=${s}`));
    mixture = null;
  } else if (split.by === 'label' || split.by === 'cluster') {
    const groups = imageTaskGroups(set, { k: split.k, by: split.by, seed: plan.seed });
    pools = groups.groupNames.map((_: string, g: number) => pool.filter((i) => groups.train[i] === g));
    taskNames = [...groups.groupNames];
  } else {
    pools = [pool];
    taskNames = ['all images'];
  }
  const upstream = createImageUpstream({
    set,
    model,
    pools,
    taskNames,
    taskSigmas,
    mixture,
    batchSize: pre.batchSize,
    maskRatio: pre.maskRatio,
    seed: plan.seed,
  });
  return { model, upstream, data: { kind: 'image', set, pool } };
}

function buildText(_plan: PlanData, load: LoadDataStage, pre: PretrainStage, split: SplitTasksStage, rng: SeededRandom): Pretraining {
  const corpus = loadMlmCorpus({ seqLen: DATASETS.brown.shape[0]!, ...(load.vocabSize !== null ? { vocabSize: load.vocabSize } : {}) });
  const heads = Math.max(1, Math.floor(pre.width / 32));
  const model = createMaskedTokenModel(
    { vocabSize: corpus.vocab.size, seqLen: corpus.seqLen, width: pre.width, depth: pre.depth, heads: pre.width % heads === 0 ? heads : 1, padId: corpus.vocab.PAD },
    rng,
  );
  const upstream = createTextUpstream({
    train: corpus.train,
    seqLen: corpus.seqLen,
    padId: corpus.vocab.PAD,
    maskId: corpus.vocab.MASK,
    model,
    k: split.by === 'pos' ? split.k : 1,
    batchSize: pre.batchSize,
    maskRatio: pre.maskRatio,
    groups: load.posGroups ? load.posGroups.map((g) => POS_GROUP_ID[g as PosGroup]) : null,
  });
  return { model, upstream, data: { kind: 'text', corpus } };
}
