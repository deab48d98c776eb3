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
  const problems: string[] = [];
  for (const [key, input] of entries) {
    const name = (input as { name?: unknown } | null)?.name;
    const result = validate(input, `${source}#${typeof name === 'string' ? name : key}`);
    if (result.ok) resolved.push(result.pipeline);
    else problems.push(...result.problems.map(format));
  }
  // The set's rules (core/pipeline/set.ts), on every pipeline that resolved; the messages name the pipelines.
  problems.push(...pipelineSetProblems(resolved).map((c) => `${source}: ${c.message}`));
  if (problems.length > 0) throw new PipelineValidationError(problems);
  return resolved;
};
