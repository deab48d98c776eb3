/** What the simulator runs (a scenario in epoch ms) and what it returns. */
import type { HandsoffEvent } from '../core/events.ts';
import type { ResolvedPipeline } from '../core/model.ts';
import type { AlarmState, Behavior } from './world/index.ts';
import type { FaultSpec } from './faults.ts';
import type { OperatorAction } from '../core/operators.ts';
import type { LiveControl } from './live.ts';

export interface SimChange {
  id: string;
  pipeline: string;
  at: number;
  author: string;
  approvedBy: string[];
  behavior: Behavior;
}

export type SimEvent =
  | { at: number; kind: 'company-event'; state: AlarmState; region?: string }
  | { at: number; kind: 'team-alarm'; region: string; state: AlarmState; team?: string }
  | { at: number; kind: 'holiday'; date: string; region?: string; pipeline?: string }
  | { at: number; kind: 'lose-events'; source: 'alarm' | 'deployment'; until: number }
  | { at: number; kind: 'fault'; spec: FaultSpec }
  /** What a person does (an override, an emergency request or decision): the operator handler's input. */
  | { at: number; kind: 'operator'; action: OperatorAction }
  | { at: number; kind: 'unsupported'; what: string };

export interface SimScenario {
  start: number;
  until: number;
  /** Seed of every random choice of the run (faults). @default 1 */
  seed?: number;
  changes: SimChange[];
  events: SimEvent[];
}

export interface ChangeSummary {
  status: 'succeeded' | 'failed' | 'rejected' | 'superseded' | 'in-flight';
  leadTime: string | null;
  failedRequests: number;
  regionsReached: string[];
  /** Boxes running the change's revision when the run ends. */
  boxesAtEnd: number;
}

/** The AWS-side counts of a run, as `simulation.finished` reports them (docs/simulation.md). */
export interface RunStats {
  /** State transitions over every execution. */
  transitions: number;
  /** Lambda invocations (every attempt). */
  invocations: number;
  dynamodbRequests: number;
  /** Step Functions executions (pipeline and region). */
  executions: number;
  /** The largest execution history of the run, in (estimated) AWS history events. */
  largestHistory: number;
}

export interface SimulationStats {
  /** State transitions (states entered) per change, over its pipeline and region executions. */
  transitions: Record<string, number>;
  /** The largest execution history (estimated AWS history events) of the run. */
  largestHistory: { execution: string; events: number };
  handlerInvocations: number;
  /** DynamoDB requests the handlers made (to the local dynalite). */
  dynamoCalls: number;
  virtualEnd: string;
  /** The counts of `simulation.finished`. */
  run: RunStats;
  /** Faults hit, by kind. */
  faults: Record<string, number>;
}

export interface SimulationResult {
  changes: Record<string, ChangeSummary>;
  stats: SimulationStats;
}

export interface SimulationOptions {
  pipelines: ResolvedPipeline[];
  scenario: SimScenario;
  onEvent: (event: HandsoffEvent) => void;
  /**
   * Live mode (`handsoff console`): virtual time follows the wall clock at the control's pace
   * up to `until`, and the control's actions run through the operator handler as they come.
   * Without it the clock jumps from timer to timer until every change is done.
   */
  live?: LiveControl;
}
