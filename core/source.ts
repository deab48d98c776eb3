/**
 * Where changes come from: the source of the control plane, chosen at synth with CDK context
 * (`-c source=github -c repository=OWNER/NAME`; unset: CodeCommit), and the contract of the
 * GitHub trigger (what a source pipeline's invoke action hands start-change). Pure: the CDK
 * app, the handlers and the tests read these, nobody re-writes them.
 */
import { z } from 'zod';

export const SourceKind = { CODECOMMIT: 'codecommit', GITHUB: 'github' } as const;
export type SourceKind = (typeof SourceKind)[keyof typeof SourceKind];

/** The CDK context keys that choose the source. */
export const SourceContext = { SOURCE: 'source', REPOSITORY: 'repository' } as const;

/** The branch whose pushes start changes, whatever the source. */
export const MAIN_BRANCH = 'main';

export type SourceConfig =
  | { kind: typeof SourceKind.CODECOMMIT }
  | {
      kind: typeof SourceKind.GITHUB;
      owner: string;
      name: string;
      /** `OWNER/NAME`, as GitHub spells it. */
      repository: string;
    };

/** Bad source context: the message names the context key and the fix. */
export class SourceConfigError extends Error {
  override readonly name = 'SourceConfigError';
}

/** A GitHub account or organization: letters, digits and single inner hyphens, 1 to 39 characters. */
const OWNER = /^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$/;
/** A GitHub repository name: letters, digits, `.`, `-`, `_`, at most 100 characters, not `.` or `..`. */
const NAME = /^[A-Za-z0-9._-]{1,100}$/;

/** `OWNER/NAME` split, or why it is not one. */
export const parseGitHubRepository = (value: string): { owner: string; name: string } | { problem: string } => {
  const parts = value.split('/');
  if (parts.length !== 2) return { problem: `'${value}' is not OWNER/NAME (one '/', e.g. acme/storefront)` };
  const [owner, name] = parts as [string, string];
  if (!OWNER.test(owner)) return { problem: `'${owner}' is not a GitHub owner (letters, digits and inner single '-', at most 39)` };
  if (!NAME.test(name) || name === '.' || name === '..') {
    return { problem: `'${name}' is not a GitHub repository name (letters, digits, '.', '-', '_', at most 100)` };
  }
  return { owner, name };
};

const FIX = `synthesize with -c ${SourceContext.SOURCE}=github -c ${SourceContext.REPOSITORY}=OWNER/NAME, or leave both unset for CodeCommit`;

/**
 * The source from CDK context. Unset `source` is CodeCommit (each pipeline follows the
 * repository named like it); `github` needs `repository` (OWNER/NAME), which every pipeline
 * of the control plane follows. Anything else throws a SourceConfigError naming the key.
 */
/** The source a setting names: unset or empty is CodeCommit; undefined for a name handsoff does not know. */
export const sourceKindOf = (value: string | undefined): SourceKind | undefined =>
  value === undefined || value === '' ? SourceKind.CODECOMMIT : (Object.values(SourceKind) as string[]).includes(value) ? (value as SourceKind) : undefined;

export const sourceFromContext = (context: { source?: unknown; repository?: unknown }): SourceConfig => {
  const { source, repository } = context;
  if (source !== undefined && typeof source !== 'string') {
    throw new SourceConfigError(`context '${SourceContext.SOURCE}' must be a string ('github' or 'codecommit'); ${FIX}`);
  }
  // An empty value is most often a variable that was not set (-c source=$SOURCE): refused, not taken as the default.
  if (source === '') throw new SourceConfigError(`context '${SourceContext.SOURCE}' is empty; ${FIX}`);
  const kind = sourceKindOf(source);
  if (kind === undefined) {
    throw new SourceConfigError(`context '${SourceContext.SOURCE}' is '${String(source)}': handsoff knows 'github' and 'codecommit' (the default); ${FIX}`);
  }
  if (kind === SourceKind.CODECOMMIT) {
    if (repository !== undefined) {
      throw new SourceConfigError(
        `context '${SourceContext.REPOSITORY}' applies to ${SourceContext.SOURCE}=github only (a CodeCommit pipeline follows the repository named like it); drop -c ${SourceContext.REPOSITORY}, or add -c ${SourceContext.SOURCE}=github`,
      );
    }
    return { kind: SourceKind.CODECOMMIT };
  }
  if (repository === undefined || repository === '') {
    throw new SourceConfigError(`context '${SourceContext.REPOSITORY}' is missing: ${SourceContext.SOURCE}=github needs the repository; add -c ${SourceContext.REPOSITORY}=OWNER/NAME`);
  }
  if (typeof repository !== 'string') {
    throw new SourceConfigError(`context '${SourceContext.REPOSITORY}' must be a string OWNER/NAME; add -c ${SourceContext.REPOSITORY}=OWNER/NAME`);
  }
  const parsed = parseGitHubRepository(repository);
  if ('problem' in parsed) {
    throw new SourceConfigError(`context '${SourceContext.REPOSITORY}': ${parsed.problem}; add -c ${SourceContext.REPOSITORY}=OWNER/NAME`);
  }
  return { kind: SourceKind.GITHUB, ...parsed, repository: `${parsed.owner}/${parsed.name}` };
};

/**
 * What a GitHub source pipeline's invoke action passes start-change as UserParameters (the
 * CDK app builds it with CodePipeline variables; start-change parses it): the pipeline and
 * its state machine, fixed at synth, and the commit and execution, filled in per run.
 */
export const GitHubTriggerParameters = z.object({
  pipeline: z.string().min(1),
  stateMachineArn: z.string().min(1),
  repository: z.string().min(1),
  /** `#{Source.CommitId}`: the commit pushed to main (a SHA-1, or SHA-256, in hex). */
  commit: z.string().regex(/^[0-9a-f]{40}(?:[0-9a-f]{24})?$/, { message: 'is not a git commit id (40 or 64 lowercase hex digits)' }),
  /** `#{Source.BranchName}`: main (the trigger filters on it; checked again). */
  branch: z.string().min(1),
  /**
   * `#{Source.AuthorDate}`: when the commit was written; unused. It is never the change's
   * merge time (a rebase keeps it, an author may set it): that is when start-change receives the job.
   */
  authorDate: z.string().optional(),
  /** `#{codepipeline.PipelineExecutionId}`: one per push; a retried action keeps it. */
  execution: z.string().min(1),
});
export type GitHubTriggerParameters = z.infer<typeof GitHubTriggerParameters>;

/**
 * One change per commit with a GitHub source: another execution for a commit that already has
 * a change (a duplicated push, the source pipeline released again) is that change while it
 * runs or once it succeeded, so a commit never deploys twice; after it ended otherwise
 * (rejected, failed, superseded), a new execution is a retry, and so a new change.
 */
export const reusesChangeOfCommit = (status: string | undefined): boolean => status === undefined || status === 'succeeded';

/** The event CodePipeline invokes a Lambda invoke action with (the fields start-change reads). */
export const CodePipelineJobEvent = z.object({
  'CodePipeline.job': z.looseObject({
    id: z.string().min(1),
    data: z.looseObject({
      actionConfiguration: z.looseObject({
        configuration: z.looseObject({ UserParameters: z.string().min(1) }),
      }),
      /** The source action's checkout of the commit (a zip in the artifact store). */
      inputArtifacts: z
        .array(z.looseObject({ name: z.string().optional(), location: z.looseObject({ s3Location: z.looseObject({ bucketName: z.string().min(1), objectKey: z.string().min(1) }) }) }))
        .optional(),
    }),
  }),
});
export type CodePipelineJobEvent = z.infer<typeof CodePipelineJobEvent>;
