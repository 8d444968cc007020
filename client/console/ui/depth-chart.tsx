/** Queue depth of each service over the time the page has been open, drawn with uPlot. */
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';

export interface DepthSample {
  /** Unix seconds. */
  t: number;
  /** Service → messages in its queues (visible + in flight + delayed, every priority). */
  depths: Record<string, number>;
}

const COLOURS = ['#2563eb', '#d97706', '#059669', '#dc2626', '#7c3aed'];

export function DepthChart({ services, samples }: { services: string[]; samples: DepthSample[] }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const key = services.join(',');

  useEffect(() => {
    if (!box.current) return;
    // The box's padding (console.css .chart) is not the chart's.
    const width = () => Math.max(320, (box.current?.clientWidth ?? 640) - 16);
    const u = new uPlot(
      {
        width: width(),
        height: 220,
        scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(5, max)] } },
        axes: [{}, { label: 'messages' }],
        series: [
          {},
          ...services.map((s, i) => ({
            label: s,
            stroke: COLOURS[i % COLOURS.length],
            width: 2,
            points: { show: false },
          })),
        ],
      },
      [[], ...services.map(() => [])],
      box.current,
    );
    plot.current = u;
    const resize = new ResizeObserver(() => u.setSize({ width: width(), height: 220 }));
    resize.observe(box.current);
    return () => {
      resize.disconnect();
      u.destroy();
      plot.current = null;
    };
  }, [key]);

  useEffect(() => {
    plot.current?.setData([
      samples.map((s) => s.t),
      ...services.map((name) => samples.map((s) => s.depths[name] ?? 0)),
    ]);
  }, [samples, key]);

  return <div class="chart" ref={box} data-testid="depth-chart" data-samples={samples.length} />;
}
