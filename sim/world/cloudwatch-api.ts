/**
 * The simulated CloudWatch API of one region: DescribeAlarms over the alarms the world
 * holds and GetMetricData over its per-minute series. A drop-in for CloudWatchClient.send.
 */
import { byName } from './alarms/book.ts';
import { describeAlarm } from './alarms/describe.ts';
import type { AnyAlarm } from './alarms/evaluate.ts';
import {
  InvalidParameterCombinationException,
  InvalidParameterValueException,
  MissingRequiredParameterException,
} from '@aws-sdk/client-cloudwatch';
import { METRICS_NAMESPACE } from '../../core/naming.ts';
import { queryStat, SUPPORTED_STAT } from './metrics.ts';
import { dispatcher, meta, toMs, type Handler } from './sdk.ts';
import type { World } from './world.ts';

interface MetricDataQuery {
  Id?: string;
  Label?: string;
  ReturnData?: boolean;
  Expression?: string;
  MetricStat?: {
    Metric?: { Namespace?: string; MetricName?: string; Dimensions?: Array<{ Name?: string; Value?: string }> };
    Period?: number;
    Stat?: string;
  };
}

export const cloudWatchApi = (world: World, region: string): { send(command: unknown): Promise<unknown> } => {
  const handlers: Record<string, Handler> = {
    DescribeAlarmsCommand(input) {
      const names = Array.isArray(input.AlarmNames) ? new Set(input.AlarmNames as string[]) : undefined;
      const prefix = typeof input.AlarmNamePrefix === 'string' ? input.AlarmNamePrefix : undefined;
      if (names && prefix !== undefined) {
        throw new InvalidParameterCombinationException({ message: 'AlarmNames and AlarmNamePrefix cannot be used together.', ...meta });
      }
      // As on AWS: without AlarmTypes only metric alarms are returned, even when composites match.
      const types = new Set(Array.isArray(input.AlarmTypes) && input.AlarmTypes.length > 0 ? (input.AlarmTypes as string[]) : ['MetricAlarm']);
      const state = typeof input.StateValue === 'string' ? input.StateValue : undefined;
      const metricAlarms: unknown[] = [];
      const compositeAlarms: unknown[] = [];
      // By name: each looked up, in the region's order (by name); else the region's alarms.
      let candidates: readonly AnyAlarm[];
      if (names) {
        const found: AnyAlarm[] = [];
        for (const n of names) {
          const alarm = world.alarmNamed(region, n);
          if (alarm) found.push(alarm);
        }
        candidates = found.sort(byName);
      } else candidates = world.alarmsByRegion.get(region) ?? [];
      for (const alarm of candidates) {
        if (prefix !== undefined && !alarm.name.startsWith(prefix)) continue;
        if (state !== undefined && alarm.state !== state) continue;
        if (!types.has(alarm.type)) continue;
        (alarm.type === 'CompositeAlarm' ? compositeAlarms : metricAlarms).push(describeAlarm(alarm));
      }
      return { MetricAlarms: metricAlarms, CompositeAlarms: compositeAlarms };
    },

    GetMetricDataCommand(input) {
      const queries = (Array.isArray(input.MetricDataQueries) ? input.MetricDataQueries : []) as MetricDataQuery[];
      const start = toMs(input.StartTime);
      const end = toMs(input.EndTime);
      if (queries.length === 0 || start === undefined || end === undefined) {
        throw new MissingRequiredParameterException({ message: 'MetricDataQueries, StartTime and EndTime are required.', ...meta });
      }
      const descending = input.ScanBy !== 'TimestampAscending';
      const results: unknown[] = [];
      for (const q of queries) {
        if (q.Expression !== undefined) {
          throw new InvalidParameterValueException({
            message: `the simulated CloudWatch answers MetricStat queries only; query '${q.Id ?? ''}' has Expression '${q.Expression}': fetch the metrics and compute in the handler`,
            ...meta,
          });
        }
        const stat = q.MetricStat;
        const metric = stat?.Metric;
        const period = stat?.Period ?? 0;
        if (!stat || !metric?.MetricName || !stat.Stat) {
          throw new MissingRequiredParameterException({ message: `query '${q.Id ?? ''}' needs MetricStat { Metric { MetricName }, Period, Stat }`, ...meta });
        }
        if (period < 60 || period % 60 !== 0) {
          throw new InvalidParameterValueException({ message: `query '${q.Id ?? ''}' has Period ${period}; the world records per minute: use a multiple of 60`, ...meta });
        }
        if (!SUPPORTED_STAT.test(stat.Stat)) {
          throw new InvalidParameterValueException({ message: `query '${q.Id ?? ''}' has Stat '${stat.Stat}'; use Sum, Average, Minimum, Maximum, SampleCount or pNN`, ...meta });
        }
        const dims = metric.Dimensions ?? [];
        const service = dims.find((d) => d.Name === 'Service')?.Value;
        const scope = dims.find((d) => d.Name === 'Scope')?.Value;
        const series =
          metric.Namespace === METRICS_NAMESPACE && dims.length === 2 && service !== undefined && scope !== undefined
            ? world.series.get(`${service}\u0000${region}\u0000${scope}`)
            : undefined;
        const { timestamps, values } = queryStat(series, metric.MetricName, stat.Stat, start, end, period);
        if (descending) {
          timestamps.reverse();
          values.reverse();
        }
        if (q.ReturnData === false) continue;
        results.push({ Id: q.Id, Label: q.Label ?? metric.MetricName, Timestamps: timestamps, Values: values, StatusCode: 'Complete' });
      }
      return { MetricDataResults: results, Messages: [] };
    },
  };

  return dispatcher('CloudWatch', handlers);
};
