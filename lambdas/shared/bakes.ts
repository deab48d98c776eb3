/** Bakes: ids, bake-end schedules and the request count that proves a bake saw traffic. */
import { createHash } from 'node:crypto';
import { GetMetricDataCommand, type MetricDataQuery } from '@aws-sdk/client-cloudwatch';
import { ConflictException, CreateScheduleCommand } from '@aws-sdk/client-scheduler';
import { EventType } from '../../core/events.ts';
import { METRICS_NAMESPACE, StandardMetric } from '../../core/naming.ts';
import { alarmStates } from './alarms.ts';
import { clients } from './clients.ts';
import { env, ENV } from './config.ts';
import { StepError, type BakeEndInput, type MetricScope, type StepScope } from './contracts.ts';
import { logger } from './logger.ts';
import { publish } from './publish.ts';
import { scopeOf, type BakeWaiter, type WaiterResult } from './tables.ts';
import { deliver, finishWaiter, unwatch } from './waiters.ts';

export const bakeIdOf = (s: StepScope): string =>
  `${s.pipeline}#${s.change}#${s.stage}#${s.region ?? '*'}#${s.unit ?? s.target ?? '*'}`;

/** Extension step while traffic is too thin: a quarter of the bake, at least 15 minutes. */
export const extensionSeconds = (durationSeconds: number): number => Math.max(15 * 60, Math.ceil(durationSeconds / 4));

/**
 * Scheduler names allow [0-9a-zA-Z-_.], at most 64 characters: a hash of the bake id, plus
 * the extension number (each extension is a new one-time schedule).
 */
export const scheduleName = (bakeId: string, extension: number): string =>
  `handsoff-bake-${createHash('sha256').update(bakeId).digest('hex').slice(0, 40)}-${extension}`;

/** `at(yyyy-mm-ddThh:mm:ss)` in UTC, rounded up to the second so it never fires early. */
export const atExpression = (millis: number): string =>
  `at(${new Date(Math.ceil(millis / 1000) * 1000).toISOString().slice(0, 19)})`;

export const scheduleBakeEnd = async (bakeId: string, endsAt: number, extension: number): Promise<void> => {
  const name = scheduleName(bakeId, extension);
  try {
    await clients()
      .scheduler()
      .send(
        new CreateScheduleCommand({
          Name: name,
          GroupName: env(ENV.SCHEDULE_GROUP),
          ScheduleExpression: atExpression(endsAt),
          ScheduleExpressionTimezone: 'UTC',
          FlexibleTimeWindow: { Mode: 'OFF' },
          ActionAfterCompletion: 'DELETE',
          Description: `handsoff bake end ${bakeId}`.slice(0, 512),
          Target: {
            Arn: env(ENV.BAKE_END_FUNCTION_ARN),
            RoleArn: env(ENV.SCHEDULER_ROLE_ARN),
            Input: JSON.stringify({ bakeId } satisfies BakeEndInput),
          },
        }),
      );
  } catch (err) {
    // Scheduled by an earlier attempt already: fine.
    if (err instanceof ConflictException || (err as Error).name === 'ConflictException') {
      logger.info('bake end already scheduled', { bakeId, name });
      return;
    }
    throw err;
  }
};

/** Requests served in the metric scopes between `from` and `to` (Sum of RequestCount, 1-minute periods). */
export const countRequests = async (service: string, scopes: MetricScope[], from: number, to: number): Promise<number> => {
  const byRegion = new Map<string, string[]>();
  for (const s of scopes) byRegion.set(s.region, [...(byRegion.get(s.region) ?? []), s.scope]);
  let total = 0;
  for (const [region, regionScopes] of byRegion) {
    const queries: MetricDataQuery[] = regionScopes.map((scope, i) => ({
      Id: `m${i}`,
      ReturnData: true,
      MetricStat: {
        Metric: {
          Namespace: METRICS_NAMESPACE,
          MetricName: StandardMetric.REQUESTS,
          Dimensions: [
            { Name: 'Service', Value: service },
            { Name: 'Scope', Value: scope },
          ],
        },
        Period: 60,
        Stat: 'Sum',
      },
    }));
    let nextToken: string | undefined;
    do {
      const page = await clients()
        .cloudWatch(region)
        .send(
          new GetMetricDataCommand({
            MetricDataQueries: queries,
            StartTime: new Date(from),
            EndTime: new Date(to),
            NextToken: nextToken,
          }),
        );
      for (const result of page.MetricDataResults ?? []) {
        for (const v of result.Values ?? []) total += v;
      }
      nextToken = page.NextToken;
    } while (nextToken);
  }
  return total;
};

/** Ends a bake as failed (once), publishing what the failure needs, and completes its task. */
export const failBake = async (waiter: BakeWaiter, result: WaiterResult & { ok: false }, alarms: string[] = []): Promise<boolean> => {
  const finished = await finishWaiter(waiter.pk, result);
  if (!finished) return false;
  if (alarms.length > 0) {
    await publish(alarms.map((alarm) => ({ type: EventType.ALARM_TRIGGERED, ...scopeOf(waiter), alarm })));
  }
  await deliver(finished);
  await unwatch(waiter.alarms, waiter.pk);
  return true;
};

/**
 * Fails closed at once when a watched alarm is missing or already in ALARM (no state
 * change would come for it). @returns what was wrong, if anything; the bake was failed
 * for `missing` and `alarm`.
 */
export const failOnAlarmStates = async (waiter: BakeWaiter, when: string): Promise<'missing' | 'alarm' | 'insufficient' | undefined> => {
  const states = await alarmStates(waiter.alarms);
  if (states.missing.length > 0) {
    const names = states.missing.map((a) => `${a.name} (${a.region})`);
    await failBake(waiter, {
      ok: false,
      error: StepError.ALARM_MISSING,
      cause: { reason: `alarm ${names.join(', ')} does not exist ${when}; a bake never passes unwatched`, alarm: states.missing[0]!.name },
    });
    return 'missing';
  }
  if (states.alarming.length > 0) {
    const alarm = states.alarming[0]!.name;
    await failBake(
      waiter,
      { ok: false, error: StepError.ALARM_TRIGGERED, cause: { reason: `alarm ${alarm} is in ALARM ${when}`, alarm } },
      states.alarming.map((a) => a.name),
    );
    return 'alarm';
  }
  return states.insufficient.length > 0 ? 'insufficient' : undefined;
};

