/**
 * Fine-tuned classifiers in the run store: fine-tune a downstream task once, save the head (and, in
 * 'full' mode, the fine-tuned encoder copy) as a checkpoint, and load it back on later runs and for
 * `robustlab certify`.
 */
import { existsSync } from 'node:fs';
import type { FinetuneStage, PlanData } from '../../dsl/plan-types.js';
import { loadCheckpoint, saveCheckpoint } from '../store/checkpoint.js';
import type { DownstreamTensors } from '../device-data.js';
import { featureDim, type PretrainedModel } from '../models/pretrained-model.js';
import { createHead, type Classifier } from './classifier.js';
import { finetune } from './finetune.js';
import { cloneParameters, loadParameters, param, saveParameters, type Parameters } from '../models/parameters.js';
import type { ProgressSink } from '../progress.js';
import { SeededRandom } from '../random.js';

export interface ClassifierMeta {
  task: string;
  mode: 'probe' | 'full';
  numClasses: number;
  trainAccuracy: number;
  seconds: number;
}

export async function finetuneOrLoad(
  plan: PlanData,
  ft: FinetuneStage,
  model: PretrainedModel,
  data: DownstreamTensors,
  path: string,
  progress: ProgressSink | undefined,
): Promise<{ classifier: Classifier; trainAccuracy: number; seconds: number; loaded: boolean }> {
  if (existsSync(path)) {
    const { classifier, meta } = loadClassifier(path, model);
    return { classifier, trainAccuracy: meta.trainAccuracy, seconds: meta.seconds, loaded: true };
  }
  const out = await finetune({
    model,
    data,
    mode: ft.mode,
    steps: ft.steps,
    batchSize: ft.batchSize,
    lr: ft.lr,
    noise: ft.noise,
    seed: plan.seed,
    ...(progress ? { onProgress: progress } : {}),
  });
  const tensors = [...(await saveParameters(out.classifier.head)), ...(ft.mode === 'full' ? await saveParameters(out.classifier.encoder, 'enc:') : [])];
  const meta: ClassifierMeta = { task: data.task, mode: ft.mode, numClasses: data.numClasses, trainAccuracy: out.trainAccuracy, seconds: out.seconds };
  saveCheckpoint(path, tensors, meta);
  return { ...out, loaded: false };
}

/** A stored classifier on top of `model` (whose pre-trained parameters must already be loaded). */
export function loadClassifier(path: string, model: PretrainedModel): { classifier: Classifier; meta: ClassifierMeta } {
  const ck = loadCheckpoint<ClassifierMeta>(path);
  const head = createHead(ck.meta.numClasses, featureDim(model), new SeededRandom(0));
  loadParameters(head, ck.tensors);
  let encoder: Parameters = model.params;
  if (ck.meta.mode === 'full') {
    encoder = cloneParameters(new Map(model.encoderNames.map((n) => [n, param(model.params, n)])));
    loadParameters(encoder, ck.tensors, 'enc:');
  }
  return { classifier: { task: ck.meta.task, numClasses: ck.meta.numClasses, model, encoder, head }, meta: ck.meta };
}

