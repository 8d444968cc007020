import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { chartData, renderChart, ticks, type ChartInput } from '../../../bench/chart-svg.js';

const T0 = 1_800_000_000_000;

/** 40 s: 20 calls in the first second, then 10 a second; two 429s at 5.5 s; a draining queue. */
function run(): ChartInput {
  const calls = [];
  for (let i = 0; i < 20; i++) calls.push({ at: T0 + i * 40, status: 200 });
  for (let s = 1; s < 40; s++)
    for (let i = 0; i < 10; i++) calls.push({ at: T0 + s * 1000 + i * 100, status: 200 });
  calls.push({ at: T0 + 5_500, status: 429 }, { at: T0 + 5_600, status: 429 });
  calls.push({ at: T0 - 5_000, status: 201 }); // before the chart: left out
  const depth = Array.from({ length: 81 }, (_, k) => ({
    at: T0 + k * 500,
    messages: Math.max(0, 480 - k * 6),
  }));
  return { title: 'drain <500> & co', startedAt: T0, endedAt: T0 + 40_000, calls, depth, limitPerSecond: 10 };
}

function parse(svg: string): Record<string, unknown> {
  expect(XMLValidator.validate(svg)).toBe(true);
  return new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '',
    isArray: (name) => ['line', 'polyline', 'g', 'text'].includes(name),
  }).parse(svg) as Record<string, unknown>;
}

describe('chartData', () => {
  it('counts the calls in each second and places the 429s, leaving out what is outside the run', () => {
    const d = chartData(run());
    expect(d.seconds).toBe(40);
    expect(d.callsPerSecond[0]).toBe(20);
    expect(d.callsPerSecond[5]).toBe(12);
    expect(d.callsPerSecond[39]).toBe(10);
    expect(d.callsPerSecond.reduce((a, b) => a + b, 0)).toBe(20 + 39 * 10 + 2);
    expect(d.rateLimitedAt).toEqual([5.5, 5.6]);
    expect(d.depth[0]).toEqual({ s: 0, messages: 480 });
  });
});

describe('ticks', () => {
  it('steps by 1, 2 or 5 × 10^k and reaches the maximum', () => {
    expect(ticks(40, 10)).toEqual([0, 5, 10, 15, 20, 25, 30, 35, 40]);
    expect(ticks(480, 5)).toEqual([0, 100, 200, 300, 400, 500]);
    expect(ticks(23, 5)).toEqual([0, 5, 10, 15, 20, 25]);
    expect(ticks(0.3, 5)).toEqual([0, 0.1, 0.2, 0.3]);
    expect(ticks(0)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
  });
});

describe('renderChart', () => {
  const svg = renderChart(chartData(run()));
  const root = parse(svg)['svg'] as Record<string, unknown>;

  it('is well-formed SVG with the title escaped', () => {
    expect(root['xmlns']).toBe('http://www.w3.org/2000/svg');
    expect(svg).toContain('drain &#60;500&#62; &#38; co');
  });

  it('draws the calls, the limit, the queue depth and one mark per 429', () => {
    const polylines = root['polyline'] as { class: string; points: string }[];
    expect(polylines.map((p) => p.class).sort()).toEqual(['calls', 'depth']);
    const calls = polylines.find((p) => p.class === 'calls')!.points.split(' ');
    expect(calls).toHaveLength(2 * 40);
    expect(polylines.find((p) => p.class === 'depth')!.points.split(' ')).toHaveLength(81);
    const limit = root['line'] as { class?: string }[];
    expect(limit.filter((l) => l.class === 'limit')).toHaveLength(1);
    const groups = root['g'] as { class: string; line?: unknown[] }[];
    expect(groups.find((g) => g.class === 'http429')!.line).toHaveLength(2);
    expect(svg).toContain('configured limit 10/s');
    expect(svg).toContain('429 answers (2)');
  });

  it('scales the axes to the data: the busiest second and the deepest queue reach the top', () => {
    const labels = (groups: { class: string; text: (string | { '#text': string | number })[] }[]) =>
      groups
        .find((g) => g.class === 'tick-labels')!
        .text.map((t) => (typeof t === 'object' ? String(t['#text']) : t));
    const texts = labels(root['g'] as never);
    // Time 0..40 s by 5; calls 0..20 by 5 (the 20 of the first second); queue 0..500 by 100.
    for (const t of [
      '35',
      '40',
      '15',
      '20',
      '400',
      '500',
      'seconds',
      'calls per second',
      'messages queued',
    ]) {
      expect(texts).toContain(t);
    }
    expect(texts).not.toContain('45');
    expect(texts).not.toContain('600');
    // The first second's 20 calls are drawn at the plot's top (y 60), the limit of 10 half way down.
    const calls = (root['polyline'] as { class: string; points: string }[]).find((p) => p.class === 'calls')!;
    expect(calls.points.split(' ')[0]).toBe('60,60');
    const limit = (root['line'] as { class?: string; y1: string }[]).find((l) => l.class === 'limit')!;
    expect(Number(limit.y1)).toBe(200);
  });

  it('draws no limit when none is configured, and an empty run without failing', () => {
    const empty = renderChart(chartData({ title: 'idle', startedAt: T0, endedAt: T0, calls: [], depth: [] }));
    parse(empty);
    expect(empty).not.toContain('class="limit"');
    expect(empty).not.toContain('class="depth"');
  });
});
