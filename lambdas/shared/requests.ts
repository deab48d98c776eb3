/** The request count that proves a bake saw traffic (CloudWatch GetMetricData). */
import { GetMetricDataCommand, type MetricDataQuery } from '@aws-sdk/client-cloudwatch';
import { METRICS_NAMESPACE, StandardMetric } from '../../core/naming.ts';
import type { MetricScope } from '../../core/contracts.ts';
import { clients } from './clients.ts';

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
