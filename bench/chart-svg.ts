/**
 * One benchmark run as an SVG chart: the calls per second the simulated Atlassian received against
 * the limit it was configured with, the messages in the queues over time (right axis) and each 429
 * as a mark along the time axis. Pure: time series in, SVG text out.
 *
 * Hand-written SVG: the chart libraries worth their weight (uPlot, Chart.js, Vega) draw in a
 * browser's DOM or canvas, and a headless DOM or canvas for Node would outweigh the few dozen lines
 * of axes, polylines and a legend below. GitHub shows the file as an image in markdown.
 */

/** One call the simulator recorded: when (epoch ms) and the status it answered. */
export interface ChartCall {
  at: number;
  status: number;
}

/** The messages in the queues (visible, in flight, delayed) at one time (epoch ms). */
export interface DepthSample {
  at: number;
  messages: number;
}

export interface ChartInput {
  title: string;
  /** Epoch ms of the chart's 0 s. */
  startedAt: number;
  /** Epoch ms of its end; calls and samples outside [startedAt, endedAt] are left out. */
  endedAt: number;
  calls: readonly ChartCall[];
  depth: readonly DepthSample[];
  /** The configured calls per second, drawn as a dashed line. */
  limitPerSecond?: number;
}

/** What is drawn, in the chart's seconds. */
export interface ChartData {
  title: string;
  seconds: number;
  /** Calls in second i (from i to i + 1 s). */
  callsPerSecond: number[];
  limitPerSecond?: number;
  depth: { s: number; messages: number }[];
  /** When each 429 was answered, in seconds. */
  rateLimitedAt: number[];
}

export function chartData(input: ChartInput): ChartData {
  const inRange = (at: number) => at >= input.startedAt && at <= input.endedAt;
  const seconds = Math.max(1, Math.ceil((input.endedAt - input.startedAt) / 1000));
  const callsPerSecond = new Array<number>(seconds).fill(0);
  const rateLimitedAt: number[] = [];
  for (const c of input.calls) {
    if (!inRange(c.at)) continue;
    const s = (c.at - input.startedAt) / 1000;
    callsPerSecond[Math.min(seconds - 1, Math.floor(s))]! += 1;
    if (c.status === 429) rateLimitedAt.push(s);
  }
  return {
    title: input.title,
    seconds,
    callsPerSecond,
    ...(input.limitPerSecond !== undefined ? { limitPerSecond: input.limitPerSecond } : {}),
    depth: input.depth
      .filter((d) => inRange(d.at))
      .map((d) => ({ s: (d.at - input.startedAt) / 1000, messages: d.messages })),
    rateLimitedAt,
  };
}

/** Round tick steps (1, 2 or 5 × 10^k) giving at most `most` intervals up to `max`; answers the ticks. */
export function ticks(max: number, most = 6): number[] {
  const top = max > 0 ? max : 1;
  const raw = top / most;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? 10 * magnitude;
  const out: number[] = [];
  for (let v = 0; v < top + step; v += step) {
    out.push(Number(v.toPrecision(12)));
    if (v >= top) break;
  }
  return out;
}

const W = 860;
const H = 400;
const PLOT = { left: 60, right: W - 70, top: 60, bottom: H - 60 };
const COLOURS = { calls: '#1f77b4', limit: '#d62728', depth: '#2ca02c', http429: '#d62728', grid: '#e5e5e5' };

function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

const fmt = (n: number) => String(Number(n.toFixed(2)));

export function renderChart(data: ChartData): string {
  const xTicks = ticks(data.seconds, 10);
  const xMax = xTicks.at(-1)!;
  const callsTicks = ticks(Math.max(...data.callsPerSecond, data.limitPerSecond ?? 0, 1), 5);
  const callsMax = callsTicks.at(-1)!;
  const depthTicks = ticks(Math.max(...data.depth.map((d) => d.messages), 1), 5);
  const depthMax = depthTicks.at(-1)!;
  const x = (s: number) => PLOT.left + (s / xMax) * (PLOT.right - PLOT.left);
  const yCalls = (v: number) => PLOT.bottom - (v / callsMax) * (PLOT.bottom - PLOT.top);
  const yDepth = (v: number) => PLOT.bottom - (v / depthMax) * (PLOT.bottom - PLOT.top);
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#ffffff"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(data.title)}</text>`,
  );
  // Grid and axes: time below, calls per second on the left, queued messages on the right.
  out.push('<g class="axes" stroke="#333333">');
  for (const t of callsTicks) {
    out.push(
      `<line x1="${PLOT.left}" x2="${PLOT.right}" y1="${fmt(yCalls(t))}" y2="${fmt(yCalls(t))}" stroke="${COLOURS.grid}"/>`,
    );
  }
  out.push(
    `<line x1="${PLOT.left}" x2="${PLOT.right}" y1="${PLOT.bottom}" y2="${PLOT.bottom}"/>`,
    `<line x1="${PLOT.left}" x2="${PLOT.left}" y1="${PLOT.top}" y2="${PLOT.bottom}"/>`,
    `<line x1="${PLOT.right}" x2="${PLOT.right}" y1="${PLOT.top}" y2="${PLOT.bottom}"/>`,
    '</g>',
    '<g class="tick-labels" fill="#333333">',
  );
  for (const t of xTicks) {
    out.push(
      `<line x1="${fmt(x(t))}" x2="${fmt(x(t))}" y1="${PLOT.bottom}" y2="${PLOT.bottom + 5}" stroke="#333333"/>`,
      `<text x="${fmt(x(t))}" y="${PLOT.bottom + 18}" text-anchor="middle">${t}</text>`,
    );
  }
  for (const t of callsTicks) {
    out.push(`<text x="${PLOT.left - 8}" y="${fmt(yCalls(t) + 4)}" text-anchor="end">${t}</text>`);
  }
  for (const t of depthTicks) {
    out.push(`<text x="${PLOT.right + 8}" y="${fmt(yDepth(t) + 4)}" fill="${COLOURS.depth}">${t}</text>`);
  }
  out.push(
    `<text x="${(PLOT.left + PLOT.right) / 2}" y="${H - 22}" text-anchor="middle">seconds</text>`,
    `<text transform="translate(16 ${(PLOT.top + PLOT.bottom) / 2}) rotate(-90)" text-anchor="middle" fill="${COLOURS.calls}">calls per second</text>`,
    `<text transform="translate(${W - 14} ${(PLOT.top + PLOT.bottom) / 2}) rotate(90)" text-anchor="middle" fill="${COLOURS.depth}">messages queued</text>`,
    '</g>',
  );
  // Calls per second: a step line, each second's count held across that second.
  const steps = data.callsPerSecond.flatMap((n, i) => [
    `${fmt(x(i))},${fmt(yCalls(n))}`,
    `${fmt(x(i + 1))},${fmt(yCalls(n))}`,
  ]);
  out.push(
    `<polyline class="calls" fill="none" stroke="${COLOURS.calls}" stroke-width="1.5" points="${steps.join(' ')}"/>`,
  );
  if (data.limitPerSecond !== undefined) {
    const y = fmt(yCalls(data.limitPerSecond));
    out.push(
      `<line class="limit" x1="${PLOT.left}" x2="${PLOT.right}" y1="${y}" y2="${y}" stroke="${COLOURS.limit}" stroke-width="1.5" stroke-dasharray="6 4"/>`,
    );
  }
  if (data.depth.length > 0) {
    const points = data.depth.map((d) => `${fmt(x(d.s))},${fmt(yDepth(d.messages))}`);
    out.push(
      `<polyline class="depth" fill="none" stroke="${COLOURS.depth}" stroke-width="1.5" points="${points.join(' ')}"/>`,
    );
  }
  // Each 429: a short red mark standing on the time axis.
  out.push(`<g class="http429" stroke="${COLOURS.http429}" stroke-width="1.5">`);
  for (const s of data.rateLimitedAt) {
    out.push(`<line x1="${fmt(x(s))}" x2="${fmt(x(s))}" y1="${PLOT.bottom}" y2="${PLOT.bottom - 12}"/>`);
  }
  out.push('</g>');
  // Legend, above the plot.
  const total = data.callsPerSecond.reduce((a, b) => a + b, 0);
  const legend: [string, string, string][] = [
    [COLOURS.calls, '', `calls per second (${total})`],
    ...(data.limitPerSecond !== undefined
      ? [[COLOURS.limit, '6 4', `configured limit ${data.limitPerSecond}/s`] as [string, string, string]]
      : []),
    [COLOURS.depth, '', 'messages queued (right axis)'],
    [COLOURS.http429, '', `429 answers (${data.rateLimitedAt.length})`],
  ];
  out.push('<g class="legend">');
  let lx = PLOT.left;
  for (const [colour, dash, label] of legend) {
    out.push(
      `<line x1="${lx}" x2="${lx + 22}" y1="42" y2="42" stroke="${colour}" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ''}/>`,
      `<text x="${lx + 27}" y="46">${escapeXml(label)}</text>`,
    );
    lx += 40 + label.length * 6.5;
  }
  out.push('</g>', '</svg>', '');
  return out.join('\n');
}
