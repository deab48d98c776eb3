/**
 * The cost model: AWS list prices in us-east-1 (on-demand, no free tier, no savings plans)
 * applied to what a run counted. Prices checked 2026-12-01 against the stored copies of
 * the pricing pages named beside each; where AWS's own page was not in the store, the
 * source is a pricing guide that quotes it, and says so.
 *
 * What is not priced: CodeDeploy (free for EC2/on-premises deployments to EC2), the CodeCommit
 * and S3 requests (a handful per change), CloudWatch DescribeAlarms (not among the priced API
 * requests), the logs the handlers write, DynamoDB storage, and GSI write units (dynalite
 * reports a table's units only).
 */
import { HANDLER_ARCHITECTURE, HANDLER_MEMORY_MB } from '../../core/functions.ts';
import { isMathExpr, type AlarmDef, type MathExpr, type MetricStat } from '../../core/alarms/index.ts';

export const PRICES_CHECKED = '2026-12-01';
export const PRICE_REGION = 'us-east-1';

/** Dollars per unit. */
export const PRICES = {
  /** aws.amazon.com/step-functions/pricing: Standard, $0.025 per 1,000 state transitions (US East (N. Virginia) $0.0250). */
  stepFunctionsTransition: 0.025 / 1_000,
  /** aws.amazon.com/lambda/pricing (quoted for us-east-1 by cloudchipr.com/blog/aws-lambda-pricing): $0.20 per 1M requests. */
  lambdaRequest: 0.2 / 1_000_000,
  /** Same sources: duration, first tier: Arm $0.0000133334, x86 $0.0000166667 per GB-second. */
  lambdaGbSecond: { arm64: 0.0000133334, x86_64: 0.0000166667 },
  /** aws.amazon.com/dynamodb/pricing, on-demand since 2024-11-01 (quoted by airbyte.com/data-engineering-resources/dynamodb-pricing): $0.625 per 1M write request units. */
  dynamoWriteUnit: 0.625 / 1_000_000,
  /** Same: $0.125 per 1M read request units. */
  dynamoReadUnit: 0.125 / 1_000_000,
  /** aws.amazon.com/eventbridge/pricing (quoted by cloudburn.io/blog/amazon-eventbridge-pricing, March 2026): Scheduler $1.00 per 1M invocations. */
  schedulerInvocation: 1 / 1_000_000,
  /** Same: custom events $1.00 per 1M (also each event a target region's rule forwards to the home region's bus). */
  eventBridgeEvent: 1 / 1_000_000,
  /**
   * aws.amazon.com/cloudwatch/pricing (its stored copy shows the free tier; the alarm rates quoted
   * by c3x.dev/resources/aws/aws_cloudwatch_metric_alarm): standard-resolution alarm $0.10 per
   * alarm metric per month; an anomaly detection alarm is 3 metrics (the metric and the band's
   * two bounds); a metric-math alarm, the metrics of its expression.
   */
  alarmMetricMonth: 0.1,
  /** Same: composite alarm $0.50 per alarm per month. */
  compositeAlarmMonth: 0.5,
  /** Same page (GetMetricData never in the free tier; the rate quoted by support.site24x7.com): $0.01 per 1,000 metrics requested. */
  getMetricDataMetric: 0.01 / 1_000,
  /** aws.amazon.com/codepipeline/pricing: V2 $0.002 per action execution minute, each action rounded up to the minute; manual approvals free. */
  codePipelineActionMinute: 0.002,
} as const;

/** Hours in an alarm-month: AWS prorates alarms by the hour over a 730-hour month. */
export const HOURS_PER_MONTH = 730;

/**
 * Billed Lambda duration is modelled, not measured (the simulator's wall time is this machine's,
 * with a local DynamoDB): a warm invocation's own work plus an in-region round trip per AWS
 * request it makes. Rounded to the millisecond, as Lambda bills.
 */
export const LAMBDA_BASE_MS = 25;
export const LAMBDA_MS_PER_AWS_REQUEST = 10;

export const billedMs = (awsRequests: number): number => LAMBDA_BASE_MS + LAMBDA_MS_PER_AWS_REQUEST * awsRequests;

/** GB-seconds of one invocation of a handler function (its configured memory, core/functions.ts). */
export const gbSeconds = (ms: number, memoryMb = HANDLER_MEMORY_MB): number => (memoryMb / 1024) * (ms / 1000);

/** What a run (or a change) used, in the units AWS bills. */
export interface Usage {
  transitions: number;
  invocations: number;
  lambdaGbSeconds: number;
  readUnits: number;
  writeUnits: number;
  schedulerInvocations: number;
  /** Custom events published plus AWS events forwarded across regions. */
  events: number;
  metricsRequested: number;
  /** Standard-resolution alarm metrics x months they existed. */
  alarmMetricMonths: number;
  compositeAlarmMonths: number;
}

export const emptyUsage = (): Usage => ({
  transitions: 0,
  invocations: 0,
  lambdaGbSeconds: 0,
  readUnits: 0,
  writeUnits: 0,
  schedulerInvocations: 0,
  events: 0,
  metricsRequested: 0,
  alarmMetricMonths: 0,
  compositeAlarmMonths: 0,
});

export const addUsage = (a: Usage, b: Usage): Usage =>
  Object.fromEntries(Object.keys(a).map((k) => [k, a[k as keyof Usage] + b[k as keyof Usage]])) as unknown as Usage;

/** Dollars by service. */
export interface Cost {
  stepFunctions: number;
  lambda: number;
  dynamodb: number;
  scheduler: number;
  eventbridge: number;
  cloudwatch: number;
  total: number;
}

export const costOf = (u: Usage, architecture: keyof typeof PRICES.lambdaGbSecond = HANDLER_ARCHITECTURE): Cost => {
  const c = {
    stepFunctions: u.transitions * PRICES.stepFunctionsTransition,
    lambda: u.invocations * PRICES.lambdaRequest + u.lambdaGbSeconds * PRICES.lambdaGbSecond[architecture],
    dynamodb: u.readUnits * PRICES.dynamoReadUnit + u.writeUnits * PRICES.dynamoWriteUnit,
    scheduler: u.schedulerInvocations * PRICES.schedulerInvocation,
    eventbridge: u.events * PRICES.eventBridgeEvent,
    cloudwatch: u.alarmMetricMonths * PRICES.alarmMetricMonth + u.compositeAlarmMonths * PRICES.compositeAlarmMonth + u.metricsRequested * PRICES.getMetricDataMetric,
  };
  return { ...c, total: Object.values(c).reduce((a, b) => a + b, 0) };
};

const metricsIn = (q: MetricStat | MathExpr): number => (isMathExpr(q) ? Object.values(q.using).reduce((n, u) => n + metricsIn(u), 0) : 1);

/** Billed alarm metrics of one alarm (0 for a composite, billed per alarm). */
export const alarmMetrics = (a: AlarmDef): number => {
  if (a.kind === 'metric') return 1;
  if (a.kind === 'anomaly') return 3;
  if (a.kind === 'math') return metricsIn(a.math);
  return 0;
};

/** Alarm-months of the alarm plan over `seconds`, prorated by the started hour. */
export const alarmMonths = (plan: readonly AlarmDef[], seconds: number): { alarmMetricMonths: number; compositeAlarmMonths: number } => {
  const months = Math.ceil(seconds / 3600) / HOURS_PER_MONTH;
  return {
    alarmMetricMonths: plan.reduce((n, a) => n + alarmMetrics(a), 0) * months,
    compositeAlarmMonths: plan.filter((a) => a.kind === 'composite').length * months,
  };
};

/** CodePipeline V2's charge for action minutes. */
export const codePipelineCost = (actionMinutes: number): number => actionMinutes * PRICES.codePipelineActionMinute;
