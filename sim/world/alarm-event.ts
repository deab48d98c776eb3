/** The `world.alarm` stream event of an alarm's state change, with the alarm's owner (docs/simulation.md). */
import { EventType, type HandsoffEvent } from '../../core/events.ts';
import type { AlarmState, AnyAlarm } from './alarms/evaluate.ts';

export const alarmEvent = (
  alarm: AnyAlarm,
  previous: AlarmState,
  time: string,
  /** The production wave of a (pipeline, region) alarm. */
  waveOf: (pipeline: string, region: string) => string | undefined,
  dropped: boolean,
): HandsoffEvent => {
  const d = alarm.def;
  const stage = d.stage ?? (d.pipeline !== undefined ? waveOf(d.pipeline, d.region) : undefined);
  // Gamma's one-box alarms are a stage's (stage gamma) at target onebox; other stage alarms name no target.
  const target = d.scope === 'onebox' ? 'onebox' : d.stage !== undefined ? undefined : d.scope === 'fleet' || d.scope === 'unit' ? 'fleet' : undefined;
  return {
    time,
    type: EventType.WORLD_ALARM,
    ...(d.pipeline !== undefined ? { pipeline: d.pipeline } : {}),
    ...(stage !== undefined ? { stage } : {}),
    region: d.region,
    ...(d.unit !== undefined ? { unit: d.unit } : {}),
    ...(target !== undefined ? { target } : {}),
    // Team and company alarms belong to no pipeline: the owner instead.
    ...(d.team !== undefined ? { team: d.team } : {}),
    ...(d.scope === 'team' || d.scope === 'company' ? { scope: d.scope } : {}),
    alarm: d.name,
    state: alarm.state,
    previousState: previous,
    ...(dropped ? { dropped: true } : {}),
  };
};
