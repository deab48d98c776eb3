/**
 * From a validated scenario file to what the engine runs, and what of the file the engine
 * does not honour (the CLI warns about each: `validate` and `simulate` alike).
 */
import type { ResolvedPipeline } from '../core/model.ts';
import type { Problem } from '../core/problems.ts';
import type { SimEvent, SimScenario } from './types.ts';
import type { Scenario, ScenarioEvent } from './scenario.ts';

/** `pipelineOf`: the pipeline of each change (an emergency names its change; the handler reads the change's records by pipeline). */
const toSimEvent = (e: ScenarioEvent, approvers: readonly string[] = [], pipelineOf: ReadonlyMap<string, string> = new Map(), index = 0): SimEvent => {
  switch (e.kind) {
    case 'company-event':
      return { at: e.atMs, kind: 'company-event', state: e.state, region: e.region };
    case 'team-alarm':
      return { at: e.atMs, kind: 'team-alarm', region: e.region, team: e.team, state: e.state };
    case 'holiday':
      return { at: e.atMs, kind: 'holiday', date: e.date, region: e.region, pipeline: e.pipeline };
    case 'lose-events':
      return { at: e.atMs, kind: 'lose-events', source: e.source, until: e.untilMs };
    case 'fault':
      return { at: e.atMs, kind: 'fault', spec: e.spec };
    case 'override':
      return {
        at: e.atMs,
        kind: 'operator',
        action: {
          action: 'override',
          blocker: e.blocker,
          ...(e.region ? { region: e.region } : {}),
          // An override of a change is for the change's pipeline: its events and audit record carry it.
          ...(e.pipeline ? { pipeline: e.pipeline } : e.change && pipelineOf.has(e.change) ? { pipeline: pipelineOf.get(e.change)! } : {}),
          ...(e.change ? { change: e.change } : {}),
          by: e.by,
          reason: e.reason,
          expires: new Date(e.expiresMs).toISOString(),
        },
      };
    case 'emergency-request':
      return { at: e.atMs, kind: 'operator', action: { action: 'emergency-request', change: e.change, pipeline: pipelineOf.get(e.change), by: e.by, reason: e.reason } };
    case 'emergency-decision':
      return {
        at: e.atMs,
        kind: 'operator',
        action: {
          action: 'emergency-decision',
          change: e.change,
          pipeline: pipelineOf.get(e.change),
          by: e.by,
          decision: e.decision,
          reason: e.reason,
          approvers: [...approvers],
          // Each event of the file is its own attempt (a retry of its invocation carries the same id).
          requestId: `scenario-event-${index}`,
        },
      };
  }
};

const pipelinesOfChanges = (scenario: Scenario, pipelines: readonly ResolvedPipeline[]): Map<string, string> =>
  new Map(scenario.changes.map((c) => [c.id, c.pipeline || pipelines[0]!.name]));

export const toSimScenario = (scenario: Scenario, pipelines: readonly ResolvedPipeline[]): SimScenario => ({
  start: scenario.startMs,
  until: scenario.untilMs,
  seed: scenario.seed,
  changes: scenario.changes.map((c) => ({
    id: c.id,
    pipeline: c.pipeline || pipelines[0]!.name,
    at: c.atMs,
    author: c.author,
    approvedBy: [...c.approvedBy],
    behavior: { ...c.behavior, ...('regions' in c.behavior && c.behavior.regions ? { regions: [...c.behavior.regions] } : {}) } as SimScenario['changes'][number]['behavior'],
  })),
  events: scenario.events.map((e, i) => toSimEvent(e, scenario.approvers, pipelinesOfChanges(scenario, pipelines), i)),
});

/**
 * Every part of a valid scenario that the simulator accepts but does not act on, as
 * warnings naming the field (read from the same mapping that toSimScenario uses, so the
 * two cannot drift): events of a kind not simulated yet, and states simulated as another.
 * (Overrides and emergency requests and decisions are simulated: they reach the operator handler.)
 */
export const ignoredScenarioParts = (scenario: Scenario, file: string): Problem[] => {
  const warnings: Problem[] = [];
  const warn = (path: string, message: string) => warnings.push({ file, path, message: `warning: ${message}` });
  scenario.events.forEach((e, i) => {
    const sim = toSimEvent(e);
    if (sim.kind === 'unsupported') {
      warn(`events[${i}]`, `'${e.kind}' events are not simulated yet; this one is ignored (see docs/simulation.md, "Not built yet")`);
    } else if ((e.kind === 'company-event' || e.kind === 'team-alarm') && e.state !== 'ALARM' && 'state' in sim && sim.state !== e.state) {
      warn(`events[${i}].state`, `state ${e.state} is simulated as ${sim.state}; the alarm is not held without data`);
    }
  });
  return warnings;
};
