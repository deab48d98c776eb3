/** Faults that change the simulated world itself: alarms that stop existing. */
import type { ResolvedPipeline } from '../core/model.ts';
import { companyEventAlarmName, teamAggregateAlarmName } from '../core/naming.ts';
import { at } from './clock.ts';
import type { Faults } from './faults.ts';
import type { World } from './world/index.ts';

/** The alarm names a `delete-alarm` fault means in `region`: a shorthand, or a full name. */
export const alarmNamesOf = (alarm: string, region: string, pipelines: readonly ResolvedPipeline[]): string[] => {
  if (alarm === 'team-aggregate') return [...new Set(pipelines.map((p) => p.team))].map((team) => teamAggregateAlarmName(team, region));
  if (alarm === 'company-event') return [companyEventAlarmName(region)];
  return [alarm];
};

/** At each `delete-alarm` fault's time, the alarm(s) stop existing in the world. */
export const scheduleAlarmDeletions = (world: World, faults: Faults, pipelines: readonly ResolvedPipeline[]): void => {
  for (const spec of faults.deletions()) {
    at(spec.at, () => {
      for (const name of alarmNamesOf(spec.alarm, spec.region, pipelines)) {
        const deleted = world.deleteAlarm(spec.region, name);
        faults.record('delete-alarm', { alarm: name, region: spec.region, ...(deleted ? {} : { missing: true }) });
      }
    });
  }
};
