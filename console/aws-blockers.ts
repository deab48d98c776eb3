/**
 * The blockers the console shows on AWS: the state of each team's aggregate alarm and of the
 * company event alarm in every region of the pipelines, read with DescribeAlarms (one call per
 * region, the regions in parallel), as the world's record of its alarms (`world.alarm` with
 * `scope` `team` or `company`) for the console's fold. A region whose alarms cannot be read
 * shows them `UNKNOWN`, which the console shows as holding: it never shows a blocker clear on
 * doubt. Read at most every BLOCKER_READ_MS per container: people reload pages, and the gates
 * read the same alarms.
 */
import type { ConsolePipeline } from '../core/console.ts';
import type { HandsoffEvent } from '../core/events.ts';
import { companyEventAlarmName, teamAggregateAlarmName } from '../core/naming.ts';
import { alarmStates, observedState } from '../lambdas/shared/alarms.ts';

export const BLOCKER_READ_MS = 15_000;

interface BlockerAlarm {
  name: string;
  region: string;
  scope: 'team' | 'company';
  team?: string;
}

/** Each region's blocker alarms: the aggregate of every team with a pipeline there, and the company event alarm. */
export const blockerAlarms = (pipelines: readonly ConsolePipeline[]): Map<string, BlockerAlarm[]> => {
  const byRegion = new Map<string, Map<string, BlockerAlarm>>();
  for (const p of pipelines) {
    for (const region of new Set(p.waves.flatMap((w) => w.regions))) {
      const alarms = byRegion.get(region) ?? new Map<string, BlockerAlarm>();
      byRegion.set(region, alarms);
      const company = companyEventAlarmName(region);
      alarms.set(company, { name: company, region, scope: 'company' });
      if (p.team) {
        const team = teamAggregateAlarmName(p.team, region);
        alarms.set(team, { name: team, region, scope: 'team', team: p.team });
      }
    }
  }
  return new Map([...byRegion].map(([region, alarms]) => [region, [...alarms.values()]]));
};

const alarmEvent = (a: BlockerAlarm, state: string, time: string): HandsoffEvent => ({
  time,
  type: 'world.alarm',
  alarm: a.name,
  region: a.region,
  state,
  scope: a.scope,
  ...(a.team ? { team: a.team } : {}),
});

/** Reads the blocker alarms of `pipelines` now; a cached read of the last BLOCKER_READ_MS is reused. */
export const blockerReader = (pipelines: readonly ConsolePipeline[], readEveryMs = BLOCKER_READ_MS): (() => Promise<HandsoffEvent[]>) => {
  const regions = blockerAlarms(pipelines);
  let last: { at: number; events: Promise<HandsoffEvent[]> } | undefined;
  const read = async (): Promise<HandsoffEvent[]> => {
    const time = new Date().toISOString();
    const perRegion = await Promise.all(
      [...regions].map(async ([, alarms]) => {
        try {
          const states = await alarmStates(alarms);
          return alarms.map((a) => alarmEvent(a, observedState(states, a), time));
        } catch {
          return alarms.map((a) => alarmEvent(a, 'UNKNOWN', time));
        }
      }),
    );
    return perRegion.flat();
  };
  return () => {
    const now = Date.now();
    if (!last || now - last.at >= readEveryMs) last = { at: now, events: read() };
    return last.events;
  };
};
