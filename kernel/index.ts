/**
 * robustlab/kernel: the notebook side — install the Jupyter kernel, display plans, tables,
 * figures and progress in a notebook (plain text elsewhere), export figures, write reports.
 */
export { installKernel, kernelEnv, KERNEL_NAME, KERNEL_DISPLAY_NAME } from './install.js';
export type { KernelInstallOptions, KernelInstallation } from './install.js';
export { showPlan, showTable, showFigure, showMarkdown, showVerdict, planHtml, figureTitle, PLOTLY_MIME, type Explainable, type LoadedFigure } from './display.js';
export { createProgress, progressSink, type Progress, type ProgressOptions } from './progress.js';
export { renderFigure, closeFigureRenderer, figureHtml, figureEmbedHtml, chromiumPath, stableSvgIds, FigureError, type FigureFormat } from './figure.js';
export { writeReport, writeResultsIndex, resultsIndexMarkdown, type ReportFiles, type ReportOptions } from './report.js';
export { loadOrRun, loadResult, listResultFolders, readResultFolder, resultsOverview, describeProvenance, ResultsError, type LoadedResult, type ResultFolder, type ResultMeta } from './results.js';
export { collectProvenance, machine, describeMachine, type Provenance, type Machine } from './provenance.js';
export { replaceFolder, recoverFolder } from './atomic-folder.js';
export { resultsPageHtml, writeResultsPage } from './results-page.js';
export { readmeResultsSection, updateReadmeResults, RESULTS_START, RESULTS_END } from './results-readme.js';
export { resultsViews, staleResultsViews, writeResultsViews } from './results-views.js';
export { verdictHtml, verdictMarkdown } from './verdict-view.js';
export { timeBreakdown, formatTimeBreakdown, type TimeBreakdown } from './time-breakdown.js';
export { normaliseNotebook } from './notebook-file.js';
export { inNotebook, displayBundle } from './notebook-context.js';
