/** The console's pictures: pure functions from the API's data to SVG strings (browser and Node alike). */
export { pipelineGraph } from './pipeline-graph.ts';
export { rolloutTimeline } from './rollout-timeline.ts';
export { timelineModel, type TimelineModel, type TimelineRow, type Span, type Mark } from './timeline-model.ts';
export { esc } from './svg.ts';
