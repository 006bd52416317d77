/**
 * Data on the device: image splits uploaded once as [N, H, W, 1] float32 in [0, 1] (pre-training pools and
 * downstream tasks alike), and a downstream task's train and test splits as the plan asks for them.
 */
import * as tf from '@tensorflow/tfjs';
import type { FinetuneStage, PlanData } from '../dsl/plan-types.js';
import { loadDownstreamTask } from '../datasets/index.js';
import { toFloat01, type ImageSplit } from '../datasets/images.js';
import type { PretrainedModel } from './models/pretrained-model.js';

/** A downstream task's data on the device: inputs (images float32 or token ids int32) and labels. */
export interface DownstreamTensors {
  readonly task: string;
  readonly numClasses: number;
  readonly xTrain: tf.Tensor;
  readonly yTrain: Int32Array;
  readonly xTest: tf.Tensor;
  readonly yTest: Int32Array;
  /** Token-level text tasks: the position whose state the classifier reads, per example. */
  readonly positionsTrain?: Int32Array;
  readonly positionsTest?: Int32Array;
}

/** All images of a split as one device tensor [N, H, W, 1] in [0, 1], uploaded once. */
export function imagesToDevice(split: ImageSplit, h: number, w: number): tf.Tensor4D {
  return tf.tensor4d(toFloat01(split), [split.count, h, w, 1]);
}

/** The task's data as the plan asks for it; `labelsPerClass` picks one of the fine-tune stage's label budgets. */
export function downstreamTensors(
  plan: PlanData,
  task: string,
  ft: FinetuneStage,
  maxTest: number | null,
  model: PretrainedModel,
  labelsPerClass: number | null = null,
): DownstreamTensors {
  const text = model.kind === 'masked-token-transformer' ? { seqLen: model.config.seqLen, vocabSize: model.config.vocabSize } : {};
  const d = loadDownstreamTask(task, {
    ...(ft.maxExamples !== null ? { maxTrain: ft.maxExamples } : {}),
    ...(labelsPerClass !== null ? { labelsPerClass } : {}),
    ...(maxTest !== null ? { maxTest } : {}),
    seed: plan.seed,
    ...text,
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
    ...(d.train.positions && d.test.positions ? { positionsTrain: d.train.positions, positionsTest: d.test.positions } : {}),
  };
}
