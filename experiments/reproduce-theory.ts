/** `robustlab reproduce theory`: both theory analyses at one scale, each with its own tables, figures and summary. */
import type { ExperimentResult, Scale } from './experiment-result.js';
import { convexConvergence } from './convex-convergence.js';
import { sampleComplexity } from './sample-complexity.js';

export async function reproduceTheory(scale: Scale, seed = 1): Promise<ExperimentResult[]> {
  return [convexConvergence({ scale, seed }), await sampleComplexity({ scale, seed })];
}
