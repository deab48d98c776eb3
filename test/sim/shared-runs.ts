/**
 * Vitest global setup: one directory per `vitest run` where the CLI harness keeps the output
 * of each distinct CLI run (test/sim/cli-harness.ts, `runShared`), so test files that run the
 * same simulation or plan share one run. Removed when the run ends; a new run starts empty, so
 * a change to the code is never answered from an older run.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The directory of the runs shared by the test files of this `vitest run`. */
    sharedRuns: string;
  }
}

export default function setup(project: TestProject): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'handsoff-shared-runs-'));
  project.provide('sharedRuns', dir);
  return () => rmSync(dir, { recursive: true, force: true });
}
