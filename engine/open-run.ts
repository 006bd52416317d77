/**
 * Opens a finished (or at least fine-tuned) run directory: the plan, the pre-trained model restored from
 * its checkpoint, and a stored classifier — what `robustlab certify` needs to certify an existing model
 * at new settings without training anything.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PlanData, PretrainStage } from '../dsl/plan-types.js';
import { loadCheckpoint } from './store/checkpoint.js';
import type { Classifier } from './finetune/classifier.js';
import { EngineError } from './errors.js';
import { loadClassifier } from './finetune/stage.js';
import { createMaskedImageModel, imageModelConfig } from './models/masked-image-conv.js';
import { loadParameters } from './models/parameters.js';
import { SeededRandom } from './random.js';
import { runPaths } from './store/run-store.js';

export function readRunPlan(runDir: string): PlanData {
  const path = join(runDir, 'plan.json');
  if (!existsSync(path)) throw new EngineError(`${runDir} is not a run directory (no plan.json); pass runs/<hash>/ of a run that has fine-tuned`);
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as PlanData;
  } catch {
    throw new EngineError(`${path} is not valid JSON; the run directory is damaged`);
  }
}

/** The run's classifier for `task` (default: the first fine-tuned task), on an image model. */
export function openRunClassifier(runDir: string, task?: string): { plan: PlanData; classifier: Classifier } {
  const plan = readRunPlan(runDir);
  const pre = plan.stages.find((s) => s.kind === 'pretrain') as PretrainStage | undefined;
  const ft = plan.stages.find((s) => s.kind === 'finetune') as { tasks: readonly string[] } | undefined;
  if (!pre || pre.model !== 'masked-image-conv') throw new EngineError(`certification needs an image model; run ${plan.hash} pre-trained ${pre?.model ?? 'nothing'}`);
  if (!ft) throw new EngineError(`run ${plan.hash} has no finetune stage: there is no classifier to certify`);
  const name = task ?? ft.tasks[0]!;
  if (!ft.tasks.includes(name)) throw new EngineError(`run ${plan.hash} fine-tuned ${ft.tasks.join(', ')}, not '${name}'`);
  const paths = runPaths(runDir);
  if (!existsSync(paths.classifier(name))) throw new EngineError(`run ${plan.hash} has not finished fine-tuning '${name}' yet (no ${paths.classifier(name)}); run the plan first`);
  const model = createMaskedImageModel(imageModelConfig(pre), new SeededRandom(plan.seed, 1));
  loadParameters(model.params, loadCheckpoint(paths.checkpoint).tensors);
  return { plan, classifier: loadClassifier(paths.classifier(name), model).classifier };
}
