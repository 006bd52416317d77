/**
 * Progress of long stages as events; the CLI and the notebook kernel decide how to show them
 * (the engine never imports a display). `consoleProgress` is the plain default.
 */
export interface ProgressEvent {
  readonly stage: string;
  /** Sub-unit, e.g. the downstream task or 'sigma=0.5'. */
  readonly label?: string;
  readonly step: number;
  readonly total: number;
  readonly perSecond: number;
  readonly etaSeconds: number;
  /** Named values to show: per-task losses, weights, accuracy... */
  readonly fields: Readonly<Record<string, number | string>>;
}

export type ProgressSink = (event: ProgressEvent) => void;

export function formatProgress(e: ProgressEvent): string {
  const fields = Object.entries(e.fields)
    .map(([k, v]) => `${k} ${typeof v === 'number' ? formatNumber(v) : v}`)
    .join('  ');
  const eta = Number.isFinite(e.etaSeconds) ? `${Math.round(e.etaSeconds)}s left` : '';
  return `[${e.stage}${e.label ? ` ${e.label}` : ''}] ${e.step}/${e.total}  ${formatNumber(e.perSecond)}/s  ${eta}  ${fields}`.trimEnd();
}

function formatNumber(v: number): string {
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(2) : v.toFixed(a < 1 ? 4 : 2);
}

/** One line per event on stderr (so stdout stays clean for tables and --json). */
export function consoleProgress(): ProgressSink {
  return (e) => process.stderr.write(formatProgress(e) + '\n');
}

/** Measures rate and ETA for a loop of `total` steps starting at `start`. */
export class RateMeter {
  private readonly t0 = performance.now();
  constructor(private readonly start: number, private readonly total: number) {}
  at(step: number): { perSecond: number; etaSeconds: number; seconds: number } {
    const seconds = (performance.now() - this.t0) / 1000;
    const perSecond = seconds > 0 ? (step - this.start) / seconds : 0;
    return { perSecond, etaSeconds: perSecond > 0 ? (this.total - step) / perSecond : Infinity, seconds };
  }
}
