/** One metered simulator run: its stream, its result, what the meter counted, its wall time. */
import type { HandsoffEvent } from '../../core/events.ts';
import type { ResolvedPipeline } from '../../core/model.ts';
import { simulate, type SimScenario, type SimulationResult } from '../engine.ts';
import { meter, type HistoryRecord, type InvocationRecord } from '../meter.ts';

export interface MeteredRun {
  pipelines: ResolvedPipeline[];
  scenario: SimScenario;
  events: HandsoffEvent[];
  result: SimulationResult;
  invocations: InvocationRecord[];
  /** Work outside any handler (the scenario's own writes). */
  outside: InvocationRecord;
  histories: HistoryRecord[];
  wallSeconds: number;
}

export const meteredRun = async (pipelines: ResolvedPipeline[], scenario: SimScenario): Promise<MeteredRun> => {
  const events: HandsoffEvent[] = [];
  meter.start();
  const t0 = performance.now();
  try {
    const result = await simulate({
      pipelines,
      scenario,
      onEvent: (e) => {
        events.push(e);
        meter.event(e);
      },
    });
    const wallSeconds = (performance.now() - t0) / 1000;
    return { pipelines, scenario, events, result, invocations: meter.invocations, outside: meter.outside, histories: meter.histories, wallSeconds };
  } finally {
    meter.stop();
  }
};
