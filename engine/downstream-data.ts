/** A downstream task's train and test splits, as the plan asks for them, uploaded to the device. */
import * as tf from '@tensorflow/tfjs';
import type { FinetuneStage, PlanData } from '../dsl/plan-types.js';
import { loadDownstreamTask } from '../datasets/index.js';
import type { PretrainedModel } from './classifier.js';
import type { DownstreamTensors } from './finetune.js';
import { imagesToDevice } from './image-upstream.js';

export function downstreamTensors(plan: PlanData, task: string, ft: FinetuneStage, maxTest: number | null, model: PretrainedModel): DownstreamTensors {
  const seqLen = model.kind === 'masked-token-transformer' ? model.config.seqLen : undefined;
  const d = loadDownstreamTask(task, {
    ...(ft.maxExamples !== null ? { maxTrain: ft.maxExamples } : {}),
    ...(maxTest !== null ? { maxTest } : {}),
    seed: plan.seed,
    ...(seqLen !== undefined ? { seqLen } : {}),
  });
  if (d.kind === 'image') {
    return {
      task,
      numClasses: d.numClasses,
      xTrain: imagesToDevice(d.train, d.height, d.width),
      yTrain: Int32Array.from(d.train.labels),
      xTest: imagesToDevice(d.test, d.height, d.width),
      yTest: Int32Array.from(d.test.labels),
    };
  }
  return {
    task,
    numClasses: d.numClasses,
    xTrain: tf.tensor2d(d.train.tokens, [d.train.count, d.seqLen], 'int32'),
    yTrain: Int32Array.from(d.train.labels),
    xTest: tf.tensor2d(d.test.tokens, [d.test.count, d.seqLen], 'int32'),
    yTest: Int32Array.from(d.test.labels),
  };
}
