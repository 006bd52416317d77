/**
 * robustlab/kernel: the notebook side — install the Jupyter kernel, display plans, tables,
 * figures and progress in a notebook (plain text elsewhere), export figures, write reports.
 */
export { installKernel, kernelEnv, KERNEL_NAME, KERNEL_DISPLAY_NAME } from './install.js';
export type { KernelInstallOptions, KernelInstallation } from './install.js';
export { showPlan, showTable, showFigure, showMarkdown, planHtml, figureTitle, type Explainable } from './display.js';
export { createProgress, progressSink, type Progress, type ProgressOptions } from './progress.js';
export { renderFigure, closeFigureRenderer, figureHtml, figureEmbedHtml, chromiumPath, FigureError, type FigureFormat } from './figure.js';
export { writeReport, writeResultsIndex, type ReportFiles } from './report.js';
export { inNotebook } from './notebook-context.js';
