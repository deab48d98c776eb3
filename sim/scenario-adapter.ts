/** From a validated scenario file to what the engine runs. */
import type { ResolvedPipeline } from '../core/model.ts';
import type { SimEvent, SimScenario } from './engine.ts';
import type { Scenario } from './scenario.ts';

export const toSimScenario = (scenario: Scenario, pipelines: readonly ResolvedPipeline[]): SimScenario => ({
  start: scenario.startMs,
  until: scenario.untilMs,
  changes: scenario.changes.map((c) => ({
    id: c.id,
    pipeline: c.pipeline || pipelines[0]!.name,
    at: c.atMs,
    author: c.author,
    approvedBy: [...c.approvedBy],
    behavior: { ...c.behavior, ...('regions' in c.behavior && c.behavior.regions ? { regions: [...c.behavior.regions] } : {}) } as SimScenario['changes'][number]['behavior'],
  })),
  events: scenario.events.map((e): SimEvent => {
    switch (e.kind) {
      case 'company-event':
        return { at: e.atMs, kind: 'company-event', state: e.state === 'ALARM' ? 'ALARM' : 'OK', region: e.region };
      case 'team-alarm':
        return { at: e.atMs, kind: 'team-alarm', region: e.region, team: e.team, state: e.state === 'ALARM' ? 'ALARM' : 'OK' };
      case 'holiday':
        return { at: e.atMs, kind: 'holiday', date: e.date, region: e.region, pipeline: e.pipeline };
      case 'lose-events':
        return { at: e.atMs, kind: 'lose-events', source: e.source, until: e.untilMs };
      case 'fault':
        return { at: e.atMs, kind: 'duplicate-events', source: e.source, until: e.untilMs };
      default:
        return { at: e.atMs, kind: 'unsupported', what: e.kind };
    }
  }),
});
