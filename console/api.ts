/**
 * The console's HTTP API in types (docs/console.md): what `GET /api/state` and
 * `GET /api/changes/{id}` answer, who calls, and what a backend gives the app. One app
 * (console/app.ts) serves it: locally over the live simulator, on AWS behind API Gateway;
 * only the backend differs.
 */
import type { HandsoffEvent } from '../core/events.ts';
import type { EmergencyState, OperatorAction, OperatorResult } from '../core/operators.ts';

/** A change's status, as in `simulation.finished`, plus `waiting` before it starts a stage or while a gate holds it. */
export type ChangeStatus = 'waiting' | 'in-flight' | 'succeeded' | 'failed' | 'rejected' | 'superseded';

export interface PipelineView {
  name: string;
  /** Pre-production stages first (`alpha`, `beta`, `gamma`), then `wave-1`, ... */
  waves: Array<{ name: string; regions: string[] }>;
}

export interface ChangeSummaryView {
  id: string;
  pipeline: string;
  author: string;
  status: ChangeStatus;
  /** Where it is now (its latest stage and region); null before it starts one. */
  stage: string | null;
  region: string | null;
  emergency: EmergencyState | null;
  /**
   * What holds it now (status `waiting`): the gate's reason (`time-window`, `team-alarm`,
   * `company-event`, `lane`, `emergency-hold`, ...), since when, until when if known, and
   * where; null when nothing holds it.
   */
  blocked: { reason: string; since: string; until?: string; stage: string | null; region: string | null } | null;
}

export interface BlockerView {
  /** `company-event`, `team-alarm` or `time-window`. */
  blocker: string;
  region: string | null;
  /** The team whose aggregate alarm it is (team-alarm). */
  team?: string;
  /**
   * The alarm's state (`ALARM` or `INSUFFICIENT_DATA`) while it holds; a time window is
   * `ALARM` while it holds a change in that region; `OK` for a blocker listed only because
   * an override in force sets it aside.
   */
  state: string;
  /** The override that sets it aside now, if any. */
  override: { by: string; reason: string; expires: string; pipeline?: string; change?: string } | null;
}

export interface StateView {
  /** ISO 8601 UTC: virtual time locally, the clock on AWS. */
  now: string;
  pipelines: PipelineView[];
  changes: ChangeSummaryView[];
  blockers: BlockerView[];
}

/** `GET /api/changes/{id}`: the change, and every event concerning it, in order. */
export interface ChangeView extends ChangeSummaryView {
  audit: HandsoffEvent[];
}

/** Who calls: locally a name (header or cookie), on AWS the Cognito ID token's user and groups. */
export interface Caller {
  name: string;
  /** Member of the approvers group. */
  approver: boolean;
}

/** What the app needs from where it runs (local simulator or AWS). */
export interface ConsoleBackend {
  /** `local` adds the clock call and the event stream of the run. */
  readonly kind: 'local' | 'aws';
  state(): Promise<StateView>;
  /** undefined: no such change. */
  change(id: string): Promise<ChangeView | undefined>;
  /** Runs an operator action for `caller` (the caller's name is the action's `by`). */
  act(action: OperatorAction, caller: Caller): Promise<OperatorResult>;
  /** The event stream so far (what `simulate --json` prints, locally). */
  events(): Promise<HandsoffEvent[]>;
  /** New events as they happen, each with its index in the stream (0-based); returns the unsubscribe function. */
  subscribe?(listener: (event: HandsoffEvent, index: number) => void): () => void;
  /** Local only: the pace of virtual time. */
  clock?(change: { speed?: number; paused?: boolean }): Promise<{ speed: number; paused: boolean; now: string }>;
}

/** Where the page signs people in on AWS: the Cognito hosted UI and the console's app client. */
export interface SignInConfig {
  /** The hosted UI's base URL (`https://<prefix>.auth.<region>.amazoncognito.com`). */
  domain: string;
  /** The app client (public: no secret; authorization code flow with PKCE). */
  clientId: string;
  /** The console's `/`: the app client's callback and sign-out URL. */
  redirectUri: string;
}

/**
 * What the app tells its page about where it runs (the shell's `data-config`): locally a
 * person signs in by name; on AWS through the hosted UI, and the page sends the ID token.
 */
export type PageConfig = { mode: 'local' } | { mode: 'aws'; signIn: SignInConfig; approversGroup: string };
