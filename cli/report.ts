/**
 * `simulate --report FILE.html`: where the report goes and how it is written (whole, then
 * renamed, so a reader never sees half a file). Without `--report`, a run for a person (no
 * `--json`) writes DEFAULT_REPORT in the current directory; `--no-report` writes none.
 */
import { renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ResolvedPipeline } from '../core/model.ts';
import type { HandsoffEvent } from '../core/events.ts';

export const DEFAULT_REPORT = 'handsoff-report.html';

/** The report's path for these options, or undefined for none. */
export const reportPath = (opts: { report?: string | boolean; json?: boolean }): string | undefined => {
  if (opts.report === false) return undefined;
  if (typeof opts.report === 'string') return opts.report;
  return opts.json ? undefined : DEFAULT_REPORT;
};

/** Writes the report of a finished run; returns its absolute path. The console's code loads only for a report. */
export const writeReport = async (file: string, events: readonly HandsoffEvent[], pipelines: readonly ResolvedPipeline[]): Promise<string> => {
  const [{ reportHtml }, { pipelineView }] = await Promise.all([import('../console/report.ts'), import('../console/state.ts')]);
  const abs = path.resolve(file);
  const tmp = `${abs}.${process.pid}.tmp`;
  writeFileSync(tmp, reportHtml({ events, pipelines: pipelines.map(pipelineView) }));
  renameSync(tmp, abs);
  return abs;
};
