/**
 * A progress display for long loops, adapted to where it runs:
 *   - in a notebook: one display entry, updated in place (the saved notebook keeps the last state);
 *   - on a TTY: one line on stderr, rewritten;
 *   - elsewhere (CI logs, pipes): a line every `everyPercent` percent, and the last one.
 * Step, rate, ETA and named fields are formatted like the engine's console progress.
 */
import { formatProgress, RateMeter, type ProgressSink } from '../engine/progress.js';
import { escapeHtml } from './figure.js';
import { notebookApi, type NotebookDisplay } from './notebook-context.js';

export interface ProgressOptions {
  readonly total: number;
  readonly label: string;
  /** Non-TTY output prints once per this many percent (default 10). */
  readonly everyPercent?: number;
  /** Where non-notebook lines go (default process.stderr). */
  readonly stream?: NodeJS.WriteStream;
}

/** Rate and ETA measured by the caller (e.g. the engine, which knows when its loop started). */
export interface Rate {
  readonly perSecond: number;
  readonly etaSeconds: number;
}

export interface Progress {
  update(step: number, fields?: Readonly<Record<string, number | string>>, rate?: Rate): void;
  /** Shows the final state (the last update, or `total` steps) and ends the line. */
  done(fields?: Readonly<Record<string, number | string>>): void;
}

export function createProgress(options: ProgressOptions): Progress {
  const { total, label } = options;
  const every = Math.max(1, Math.ceil((total * (options.everyPercent ?? 10)) / 100));
  const stream = options.stream ?? process.stderr;
  const nb = notebookApi();
  const entry: NotebookDisplay | null = nb ? nb.newDisplay() : null;
  const meter = new RateMeter(0, total);
  let lastPrinted = -Infinity;
  let last: { step: number; fields: Readonly<Record<string, number | string>> } = { step: 0, fields: {} };
  let finished = false;
  let given: Rate | null = null;

  const line = (step: number, fields: Readonly<Record<string, number | string>>) => {
    const { perSecond, etaSeconds } = given ?? meter.at(step);
    return formatProgress({ stage: label, step, total, perSecond, etaSeconds, fields });
  };

  const show = (step: number, fields: Readonly<Record<string, number | string>>, final: boolean) => {
    const text = line(step, fields);
    if (entry) {
      const pct = total > 0 ? Math.min(100, (100 * step) / total) : 100;
      entry.html(`<div><progress value="${pct.toFixed(1)}" max="100" style="width:16em"></progress> <code>${escapeHtml(text)}</code></div>`);
    } else if (stream.isTTY) {
      stream.write(`\r\x1b[2K${text}${final ? '\n' : ''}`);
    } else if (final || step - lastPrinted >= every) {
      stream.write(text + '\n');
      lastPrinted = step;
    }
  };

  return {
    update(step, fields = {}, rate) {
      if (finished) return;
      given = rate ?? null;
      last = { step, fields };
      show(step, fields, false);
    },
    done(fields) {
      if (finished) return;
      finished = true;
      const step = last.step > 0 ? last.step : total;
      if (!entry && !stream.isTTY && lastPrinted === step && fields === undefined) return;
      show(step, fields ?? last.fields, true);
    },
  };
}

/** The engine's progress events shown through createProgress, one display per stage and label. */
export function progressSink(): ProgressSink {
  let current: { key: string; progress: Progress } | null = null;
  return (e) => {
    const key = `${e.stage}${e.label ? ` ${e.label}` : ''}`;
    if (current?.key !== key) {
      current?.progress.done();
      current = { key, progress: createProgress({ total: e.total, label: key }) };
    }
    current.progress.update(e.step, e.fields, { perSecond: e.perSecond, etaSeconds: e.etaSeconds });
    if (e.step >= e.total) current.progress.done();
  };
}
