/**
 * robustlab's public API. Importing it loads the engine and registers it as the runner of
 * `plan.run()`; `robustlab/dsl` alone plans without any tensor library.
 */
import { registerPlanRunner } from './dsl/index.js';
import { runPlan } from './engine/run-plan.js';

registerPlanRunner((plan, options) => runPlan(plan, options));

export * from './dsl/index.js';
export type { PlanData, Stage, StageKind, RunOptions, RunResult, Target, BackendRequest } from './dsl/plan-types.js';
export { runPlan, defaultRunsDir, type EngineRunOptions } from './engine/run-plan.js';
export { initBackend, backendReport, describeBackend, type BackendReport, type BackendName } from './engine/backend/selection.js';
export { EngineError } from './engine/errors.js';
export { certify, predict, sampleUnderNoise, lowerConfidenceBound, maxCertifiableRadius, decidePrediction, ABSTAIN, type BaseClassifier, type Certificate } from './engine/certify/smoothing.js';
export { certifyDataset, certifiedAccuracy, abstainRate, type CertifiedPoint } from './engine/certify/dataset.js';
export { softmaxTaskWeights, groupDroStep, smoothMax } from './engine/pretrain/softmax-weights.js';
export { randomNormal, randomUniform, deriveSeed } from './engine/backend/device-random.js';
export { openRunClassifier, readRunPlan } from './engine/open-run.js';
export type { ExperimentResult, FigureSpec, Scale } from './experiments/experiment-result.js';
export type { ProgressEvent, ProgressSink } from './engine/progress.js';
export * from './datasets/index.js';
export { convexConvergence } from './experiments/convex-convergence.js';
export { sampleComplexity } from './experiments/sample-complexity.js';
export { reproduceTheory } from './experiments/reproduce-theory.js';
export { taskRobustCv, taskRobustNlp, TASK_ROBUST_CV, TASK_ROBUST_NLP, taskRobustPlans, arms as taskRobustArms, type Arm, type Setting } from './experiments/task-robust.js';
export { certifiedRobustness, certifiedPlans, CERTIFIED_SCALES, CERTIFIED_SIGMAS, type Variant } from './experiments/certified.js';
export { EXPERIMENTS } from './experiments/reproduce.js';
export type { ExperimentOptions } from './experiments/common.js';

export const version = '0.1.0';
