// The service's metrics over OTLP: the series of its Prometheus registry (src/metrics.ts), as
// /metrics shows them, handed to the OTLP metrics reader at each export. One definition of
// every series, names and labels unchanged; counters become cumulative monotonic sums, gauges
// gauges, histograms explicit-bucket histograms. (Summaries: the registry has none.)
import { ValueType, type Attributes, type HrTime } from '@opentelemetry/api';
import { hrTime } from '@opentelemetry/core';
import { AggregationTemporality, DataPointType, type CollectionResult, type MetricData, type MetricProducer } from '@opentelemetry/sdk-metrics';
import { emptyResource } from '@opentelemetry/resources';
import type { MetricObjectWithValues, MetricValue, MetricValueWithName, Registry } from 'prom-client';

const SCOPE = { name: 'acs-token-service/prometheus' };

type Series = MetricObjectWithValues<MetricValue<string>>;

const attributesOf = (labels: Record<string, string | number | undefined>, without?: string): Attributes =>
  Object.fromEntries(Object.entries(labels).filter(([name, value]) => name !== without && value !== undefined));

function histogramPoints(series: Series, startTime: HrTime, endTime: HrTime): MetricData {
  const groups = new Map<string, { attributes: Attributes; buckets: Map<number, number>; sum: number; count: number }>();
  for (const value of series.values as MetricValueWithName<string>[]) {
    const attributes = attributesOf(value.labels, 'le');
    const key = JSON.stringify(attributes);
    const group = groups.get(key) ?? { attributes, buckets: new Map(), sum: 0, count: 0 };
    groups.set(key, group);
    if (value.metricName?.endsWith('_bucket')) group.buckets.set(Number(value.labels.le === '+Inf' ? Infinity : value.labels.le), value.value);
    else if (value.metricName?.endsWith('_sum')) group.sum = value.value;
    else if (value.metricName?.endsWith('_count')) group.count = value.value;
  }
  const dataPoints = [...groups.values()].map(({ attributes, buckets, sum, count }) => {
    const bounds = [...buckets.keys()].sort((a, b) => a - b);
    // Prometheus's buckets are cumulative (le), OTLP's are not.
    const counts = bounds.map((bound, i) => buckets.get(bound)! - (i === 0 ? 0 : buckets.get(bounds[i - 1]!)!));
    return { startTime, endTime, attributes, value: { buckets: { boundaries: bounds.filter(Number.isFinite), counts }, sum, count } };
  });
  return { descriptor: { name: series.name, description: series.help, unit: '', valueType: ValueType.DOUBLE }, aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPointType: DataPointType.HISTOGRAM, dataPoints };
}

function toMetricData(series: Series, startTime: HrTime, endTime: HrTime): MetricData | undefined {
  const descriptor = { name: series.name, description: series.help, unit: '', valueType: ValueType.DOUBLE };
  const dataPoints = series.values.map((value) => ({ startTime, endTime, attributes: attributesOf(value.labels), value: value.value }));
  switch (series.type as unknown as string) {
    case 'counter':
      return { descriptor, aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPointType: DataPointType.SUM, isMonotonic: true, dataPoints };
    case 'gauge':
      return { descriptor, aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPointType: DataPointType.GAUGE, dataPoints };
    case 'histogram':
      return histogramPoints(series, startTime, endTime);
    default:
      return undefined;
  }
}

export class PrometheusBridge implements MetricProducer {
  /** The app's registry: the latest one offered (a process runs one app). */
  private registry: Registry | undefined;
  private readonly startTime = hrTime();

  observe(registry: Registry): void {
    this.registry = registry;
  }

  async collect(): Promise<CollectionResult> {
    const all = this.registry ? ((await this.registry.getMetricsAsJSON()) as Series[]) : [];
    const endTime = hrTime();
    const metrics = all.map((series) => toMetricData(series, this.startTime, endTime)).filter((data) => data !== undefined);
    return { resourceMetrics: { resource: emptyResource(), scopeMetrics: [{ scope: SCOPE, metrics }] }, errors: [] };
  }
}
