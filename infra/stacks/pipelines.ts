/**
 * Validation of the app's pipelines at synth: every problem of every pipeline is reported
 * at once, then synth stops. Takes the validator as a parameter so that this module does
 * not depend on where the pipeline definitions live.
 */
import type { ResolvedPipeline } from '../../core/model.ts';
import { pipelineSetProblems } from '../../core/pipeline/set.ts';

export interface PipelineProblem {
  readonly file: string;
  readonly path: string;
  readonly message: string;
}

export type ValidatePipeline = (
  input: unknown,
  source: string,
) => { ok: true; pipeline: ResolvedPipeline } | { ok: false; problems: readonly PipelineProblem[] };

export class PipelineValidationError extends Error {
  override readonly name = 'PipelineValidationError';
  constructor(readonly problems: readonly string[]) {
    super(`${problems.length} problem(s) in the pipeline definitions:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

export const resolvePipelines = (
  inputs: readonly unknown[] | Readonly<Record<string, unknown>>,
  validate: ValidatePipeline,
  format: (p: PipelineProblem) => string,
  source: string,
): ResolvedPipeline[] => {
  const entries = Array.isArray(inputs) ? inputs.map((v, i) => [String(i), v] as const) : Object.entries(inputs);
  const resolved: ResolvedPipeline[] = [];
  const sources: string[] = [];
  const problems: string[] = [];
  for (const [key, input] of entries) {
    const name = (input as { name?: unknown } | null)?.name;
    const where = `${source}#${typeof name === 'string' ? name : key}`;
    const result = validate(input, where);
    if (result.ok) {
      resolved.push(result.pipeline);
      sources.push(where);
    } else problems.push(...result.problems.map(format));
  }
  // The set's rules (core/pipeline/set.ts), on every pipeline that resolved.
  const set = pipelineSetProblems(resolved.map((p, i) => ({ ...p, source: sources[i]! })));
  problems.push(...set.map((c) => `${sources[c.index]} ${c.path}: ${c.message}`));
  if (problems.length > 0) throw new PipelineValidationError(problems);
  return resolved;
};
