/**
 * Are we inside a running tslab kernel, and if so, its display API.
 *
 * A cell's `import 'tslab'` is hooked by tslab, but this module is loaded through Node's own
 * loader, so it looks for the kernel's module instance in the require cache instead: tslab's
 * jupyter module is only ever loaded by a kernel, and `lastWriteDisplayData` is set once the
 * kernel executes its first cell. Outside a kernel this loads nothing (tslab bundles a whole
 * TypeScript compiler; a CLI should not pay for it).
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** The subset of tslab's Display this project uses (see node_modules/tslab/dist/public.d.ts). */
export interface NotebookDisplay {
  html(s: string): void;
  markdown(s: string): void;
  svg(s: string): void;
  png(b: Uint8Array): void;
  text(s: string): void;
}

interface TslabPublic {
  readonly display: NotebookDisplay;
  newDisplay(): NotebookDisplay;
}

function tslabModules(): { jupyter: string; pub: string } | null {
  try {
    return { jupyter: require.resolve('tslab/dist/jupyter.js'), pub: require.resolve('tslab') };
  } catch {
    return null;
  }
}

type WriteDisplayData = (message: { data: Record<string, unknown>; metadata: Record<string, unknown> }, update: boolean) => void;

function kernelJupyter(): { lastWriteDisplayData?: WriteDisplayData | null } | null {
  const paths = tslabModules();
  if (paths === null) return null;
  const jupyter = require.cache[paths.jupyter]?.exports as { lastWriteDisplayData?: WriteDisplayData | null } | undefined;
  return jupyter === undefined || jupyter.lastWriteDisplayData == null ? null : jupyter;
}

/** tslab's public module when this process is a tslab kernel executing cells; null elsewhere. */
export function notebookApi(): TslabPublic | null {
  const paths = tslabModules();
  if (paths === null || kernelJupyter() === null) return null;
  return require(paths.pub) as TslabPublic;
}

/**
 * One display_data output carrying several MIME types of the same thing (e.g. a static SVG and the
 * plotly figure as JSON): each frontend shows the richest one it can render, and all are saved in
 * the notebook. tslab's Display sends one MIME type per output, so this writes the kernel's message
 * itself. Returns false outside a kernel.
 */
export function displayBundle(data: Record<string, unknown>): boolean {
  const jupyter = kernelJupyter();
  if (jupyter === null) return false;
  jupyter.lastWriteDisplayData!({ data, metadata: {} }, false);
  return true;
}

export function inNotebook(): boolean {
  return notebookApi() !== null;
}
