/** The convex-convergence and sample-complexity analyses of paper 1, as ExperimentResults. */
export { convexConvergence } from './convex-convergence.js';
export { sampleComplexity } from './sample-complexity.js';
export { reproduceTheory } from './reproduce-theory.js';
