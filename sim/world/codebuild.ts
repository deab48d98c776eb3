/**
 * The simulated CodeBuild, as the pipeline machine's `codebuild:startBuild.sync` integration
 * sees it: a project runs a build for some virtual minutes and ends SUCCEEDED or FAILED. The
 * state machine gets what Step Functions gives: on success the task's output is
 * `{ "Build": {...} }` (the BatchGetBuilds shape: `Id`, `Arn`, `BuildStatus`, `ProjectName`,
 * `SourceVersion`, `StartTime`, `EndTime`, `ExportedEnvironmentVariables`, ...); on failure
 * the task fails with `States.TaskFailed` and the Build as JSON in its Cause.
 *
 * What a project does is registered by the part of the world that owns it (the build project
 * of a pipeline, the integration test projects): a runner gets the StartBuild request and
 * answers the build's outcome, its duration and the variables it exports.
 */
import { TaskError } from '../lambda.ts';
import { ACCOUNT, HOME } from '../lambda.ts';

/** A StartBuild request as the ASL task passes it (`Parameters` of the Task state). */
export interface StartBuildRequest {
  readonly ProjectName: string;
  readonly SourceVersion?: string;
  readonly EnvironmentVariablesOverride?: readonly { readonly Name: string; readonly Value: string; readonly Type?: string }[];
}

/** A project's answer to one build. */
export interface BuildOutcome {
  readonly status: 'SUCCEEDED' | 'FAILED';
  /** Virtual time the build takes. */
  readonly durationMs: number;
  /** `exported-variables` of the buildspec: the build's outputs the machine reads. */
  readonly exported?: Readonly<Record<string, string>>;
  /** Why it failed, as the build's last phase context would say. */
  readonly message?: string;
}

/** What a project does with a build: called when the build starts, in virtual time. */
export type ProjectRunner = (request: StartBuildRequest, env: Readonly<Record<string, string>>) => BuildOutcome | Promise<BuildOutcome>;

export class SimulatedCodeBuild {
  private readonly projects = new Map<string, ProjectRunner>();
  private readonly numbers = new Map<string, number>();

  /** Registers what the project `name` does with a build (replaces an earlier runner). */
  register(name: string, runner: ProjectRunner): void {
    this.projects.set(name, runner);
  }

  /** `arn:aws:states:::codebuild:startBuild.sync`: starts the build and resolves when it ends. */
  async startBuildSync(request: StartBuildRequest): Promise<{ Build: Record<string, unknown> }> {
    const runner = this.projects.get(request.ProjectName);
    if (!runner) {
      throw new TaskError('CodeBuild.ResourceNotFoundException', `Project cannot be found: arn:aws:codebuild:${HOME}:${ACCOUNT}:project/${request.ProjectName}`);
    }
    const env = Object.fromEntries((request.EnvironmentVariablesOverride ?? []).map((v) => [v.Name, v.Value]));
    const number = (this.numbers.get(request.ProjectName) ?? 0) + 1;
    this.numbers.set(request.ProjectName, number);
    const id = `${request.ProjectName}:${String(number).padStart(8, '0')}-0000-4000-8000-000000000000`;
    const startMs = Date.now();
    const outcome = await runner(request, env);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, outcome.durationMs)));
    const endMs = Date.now();
    const build: Record<string, unknown> = {
      Id: id,
      Arn: `arn:aws:codebuild:${HOME}:${ACCOUNT}:build/${id}`,
      BuildNumber: number,
      BuildStatus: outcome.status,
      BuildComplete: true,
      CurrentPhase: 'COMPLETED',
      ProjectName: request.ProjectName,
      ...(request.SourceVersion ? { SourceVersion: request.SourceVersion, ResolvedSourceVersion: request.SourceVersion } : {}),
      StartTime: new Date(startMs).toISOString(),
      EndTime: new Date(endMs).toISOString(),
      Phases: [{ PhaseType: 'BUILD', PhaseStatus: outcome.status, ...(outcome.message ? { Contexts: [{ StatusCode: 'COMMAND_EXECUTION_ERROR', Message: outcome.message }] } : {}) }],
      ExportedEnvironmentVariables: Object.entries(outcome.exported ?? {}).map(([Name, Value]) => ({ Name, Value })),
    };
    if (outcome.status === 'FAILED') throw new TaskError('States.TaskFailed', JSON.stringify({ Build: build }));
    return { Build: build };
  }
}
