/**
 * Plots drawn from a simulated cluster's trace, as SVG strings: show them in a notebook with display(svg),
 * save them with saveSvg(svg, file). vega-lite for the term timeline and the election CDF, Observable Plot
 * for the log grid and the message diagram.
 */
export { termTimeline, termTimelineSpec, timelineData, type TermTimelineOptions, type TimelineData, type RoleSegment } from './term-timeline';
export { electionCdf, electionCdfSpec, cdfPoints, paperFigure16, type ElectionSamples, type ElectionCdfOptions, type PaperFigure } from './election-cdf';
export { logGrid, type LogGridOptions, type LogSnapshot } from './log-grid';
export { messageDiagram, messageArrows, type MessageDiagramOptions, type MessageArrow } from './message-diagram';
export { renderVegaLite, type VegaLiteSpec } from './vega';
export { display, saveSvg } from './output';
export type { TraceSource } from './source';
