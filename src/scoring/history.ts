/**
 * History of labels between runs (storage lives elsewhere; this is the pure diff).
 *
 * For each contact of the new run:
 *   - new contact:        prevSegment = null,             changedAt = this run
 *   - same segment:       prevSegment and changedAt carried over from the previous run
 *   - different segment:  prevSegment = previous segment,  changedAt = this run
 * plus segment sizes of both runs, the transition counts and the contacts that disappeared.
 */
import { SEGMENT_CODES, type SegmentCode } from './codes.js';

export interface StoredLabel {
  id: string;
  segment: SegmentCode;
  prevSegment: SegmentCode | null;
  /** ISO date or timestamp of the run in which the segment last changed */
  changedAt: string;
}

export interface LabelChange extends StoredLabel {
  changed: boolean;
}

export interface RunDiff {
  labels: LabelChange[];
  sizes: Record<SegmentCode, number>;
  previousSizes: Record<SegmentCode, number>;
  transitions: { from: SegmentCode | null; to: SegmentCode; count: number }[];
  removed: string[];
}

export function emptySizes(): Record<SegmentCode, number> {
  return Object.fromEntries(SEGMENT_CODES.map((c) => [c, 0])) as Record<SegmentCode, number>;
}

export function segmentSizes(labels: Iterable<{ segment: SegmentCode }>): Record<SegmentCode, number> {
  const sizes = emptySizes();
  for (const l of labels) sizes[l.segment]++;
  return sizes;
}

export function diffRuns(
  previous: Iterable<StoredLabel>,
  next: Iterable<{ id: string; segment: SegmentCode }>,
  runAt: string,
): RunDiff {
  const prevById = new Map<string, StoredLabel>();
  for (const p of previous) prevById.set(p.id, p);
  const seen = new Set<string>();
  const labels: LabelChange[] = [];
  const transitions = new Map<string, { from: SegmentCode | null; to: SegmentCode; count: number }>();
  for (const n of next) {
    seen.add(n.id);
    const p = prevById.get(n.id);
    let label: LabelChange;
    if (!p) label = { id: n.id, segment: n.segment, prevSegment: null, changedAt: runAt, changed: true };
    else if (p.segment === n.segment) label = { id: n.id, segment: n.segment, prevSegment: p.prevSegment, changedAt: p.changedAt, changed: false };
    else label = { id: n.id, segment: n.segment, prevSegment: p.segment, changedAt: runAt, changed: true };
    labels.push(label);
    if (label.changed) {
      const from = p ? p.segment : null;
      const key = `${from}>${n.segment}`;
      const t = transitions.get(key) ?? { from, to: n.segment, count: 0 };
      t.count++;
      transitions.set(key, t);
    }
  }
  const removed = [...prevById.keys()].filter((id) => !seen.has(id));
  return {
    labels,
    sizes: segmentSizes(labels),
    previousSizes: segmentSizes(prevById.values()),
    transitions: [...transitions.values()].sort((a, b) => b.count - a.count),
    removed,
  };
}

/** Segment sizes over time from stored runs (oldest first). */
export function sizesOverTime(runs: Iterable<{ runAt: string; labels: Iterable<{ segment: SegmentCode }> }>) {
  return [...runs].map((run) => ({ runAt: run.runAt, sizes: segmentSizes(run.labels) }));
}
