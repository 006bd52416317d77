/**
 * From a plan's load-data, split-tasks and pretrain stages to what the pre-training loop needs: the data,
 * the seeded model, and the upstream split into k tasks (images: label groups, pixel clusters or noise
 * levels; text: part-of-speech groups).
 */
import type { PlanData, PretrainStage, SplitTasksStage } from '../../dsl/plan-types.js';
import { DATASETS, type ImageDatasetName } from '../../datasets/catalog.js';
import { imageTaskGroups, loadImageSet, loadMlmCorpus } from '../../datasets/index.js';
import { createMaskedImageModel, imageModelConfig } from '../models/masked-image-conv.js';
import { createMaskedTokenModel } from '../models/masked-token-transformer.js';
import type { PretrainedModel } from '../models/pretrained-model.js';
import type { SeededRandom } from '../random.js';
import { createImageUpstream } from './image-upstream.js';
import { createTextUpstream } from './text-upstream.js';
import type { Upstream } from './upstream.js';

export function buildImage(plan: PlanData, pre: PretrainStage, split: SplitTasksStage, rng: SeededRandom): { model: PretrainedModel; upstream: Upstream } {
  const set = loadImageSet(plan.spec.pretrain.dataset as ImageDatasetName);
  const model = createMaskedImageModel(imageModelConfig(pre), rng);
  const all = Int32Array.from({ length: set.train.count }, (_, i) => i);
  let pools: Int32Array[];
  let taskNames: string[];
  let taskSigmas: number[] | null = null;
  let mixture: { sigmas: number[]; weights: number[] } | null = split.sigmas.length ? { sigmas: [...split.sigmas], weights: [...split.mixtureWeights] } : null;
  if (split.by === 'noise') {
    taskSigmas = [0, ...split.sigmas];
    pools = taskSigmas.map(() => all);
    taskNames = taskSigmas.map((s) => (s === 0 ? 'clean' : `sigma=${s}`));
    mixture = null;
  } else if (split.by === 'label' || split.by === 'cluster') {
    const groups = imageTaskGroups(set, { k: split.k, by: split.by, seed: plan.seed });
    pools = groups.groupNames.map((_: string, g: number) => Int32Array.from(all.filter((i) => groups.train[i] === g)));
    taskNames = [...groups.groupNames];
  } else {
    pools = [all];
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
  return { model, upstream };
}

export function buildText(plan: PlanData, pre: PretrainStage, split: SplitTasksStage, rng: SeededRandom): { model: PretrainedModel; upstream: Upstream } {
  const corpus = loadMlmCorpus({ seqLen: DATASETS.brown.shape[0]! });
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
  });
  return { model, upstream };
}

