/** What the simulator runs (a scenario in epoch ms) and what it returns. */
import type { HandsoffEvent } from '../core/events.ts';
import type { ResolvedPipeline } from '../core/model.ts';
import type { Behavior } from './world/index.ts';

export interface SimChange {
  id: string;
  pipeline: string;
  at: number;
  author: string;
  approvedBy: string[];
  behavior: Behavior;
}

export type SimEvent =
  | { at: number; kind: 'company-event'; state: 'OK' | 'ALARM'; region?: string }
  | { at: number; kind: 'team-alarm'; region: string; state: 'OK' | 'ALARM'; team?: string }
  | { at: number; kind: 'holiday'; date: string; region?: string; pipeline?: string }
  | { at: number; kind: 'lose-events'; source: 'alarm' | 'deployment'; until: number }
  | { at: number; kind: 'unsupported'; what: string };

export interface SimScenario {
  start: number;
  until: number;
  changes: SimChange[];
  events: SimEvent[];
}

export interface ChangeSummary {
  status: 'succeeded' | 'failed' | 'rejected' | 'in-progress';
  leadTime: string | null;
  failedRequests: number;
  regionsReached: string[];
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
}

export interface SimulationResult {
  changes: Record<string, ChangeSummary>;
  stats: SimulationStats;
}

export interface SimulationOptions {
  pipelines: ResolvedPipeline[];
  scenario: SimScenario;
  onEvent: (event: HandsoffEvent) => void;
}
