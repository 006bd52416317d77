/**
 * robustlab/dsl: write a pipeline, compile it to a Plan, read, save and load it — with no tensor
 * library in the process. Running a plan needs the full package ('robustlab'), which registers
 * the engine as the plan runner.
 */
export { pretrain, fromJSON, fromSpec } from './builder.js';
export type {
  Capability,
  CertifyOptions,
  EvaluateOptions,
  FinetuneOptions,
  LoadedPipeline,
  MinimaxOptions,
  NoiseOptions,
  Pipeline,
  PipelineCore,
  PipelineWithClassifier,
  PipelineWithTasks,
  PretrainOptions,
  SplitTasksOptions,
} from './builder.js';
export { Plan } from './plan.js';
export { TARGET_PROFILES, formatBytes, type CompileOptions } from './compile.js';
export { modelCost, type ModelCost } from './cost-model.js';
export { DslError } from './errors.js';
export { registerPlanRunner, type PlanRunner } from './runner.js';
export { canonicalJson, contentHash } from './canonical-json.js';
export { SPEC_VERSION } from './spec.js';
export type * from './spec.js';
export type * from './plan-types.js';
