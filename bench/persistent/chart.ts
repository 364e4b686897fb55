/**
 * The picture in docs/performance.md: requests per second against concurrency, one line per
 * row (left), and backend CPU per request (right), as a plain SVG with no dependencies.
 */
import type { RowResult } from './measure.js';

const COLORS = ['#d62728', '#ff7f0e', '#1f77b4', '#9467bd', '#2ca02c', '#8c564b', '#7f7f7f', '#e377c2', '#17becf'];

const escape = (text: string) => text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');

/** A round step for an axis from 0 to `max` with about five ticks. */
function niceStep(max: number): number {
  const raw = max / 5;
  const power = 10 ** Math.floor(Math.log10(raw));
  return ([1, 2, 2.5, 5, 10].find((m) => m * power >= raw) ?? 10) * power;
}

export function persistentChart(rows: readonly RowResult[], concurrencies: readonly number[], title: string): string {
  const width = 960;
  const height = 420;
  const plot = { left: 70, top: 50, width: 420, height: 280 };
  const bars = { left: 640, top: 50, width: 280, height: 280 };
  const parts: string[] = [];
  const text = (x: number, y: number, body: string, attrs = '') =>
    parts.push(`<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" ${attrs}>${escape(body)}</text>`);

  // Left: req/s against concurrency.
  const maxRate = Math.max(...rows.flatMap((row) => [...row.byConcurrency.values()].map((r) => r.requestsPerSecond)));
  const rateStep = niceStep(maxRate);
  const rateTop = Math.ceil(maxRate / rateStep) * rateStep;
  const x = (index: number) => plot.left + (plot.width * (index + 0.5)) / concurrencies.length;
  const y = (rate: number) => plot.top + plot.height - (plot.height * rate) / rateTop;
  for (let tick = 0; tick <= rateTop; tick += rateStep) {
    parts.push(
      `<line x1="${plot.left}" x2="${plot.left + plot.width}" y1="${y(tick)}" y2="${y(tick)}" stroke="#ddd"/>`,
    );
    text(plot.left - 8, y(tick) + 4, tick.toLocaleString('en-US'), 'text-anchor="end"');
  }
  concurrencies.forEach((c, index) => text(x(index), plot.top + plot.height + 20, String(c), 'text-anchor="middle"'));
  text(
    plot.left + plot.width / 2,
    plot.top + plot.height + 40,
    'concurrent connections (wrk, keep-alive)',
    'text-anchor="middle"',
  );
  text(plot.left, plot.top - 12, 'requests per second', 'font-weight="bold"');
  rows.forEach((row, index) => {
    const color = COLORS[index % COLORS.length];
    const points = concurrencies
      .map((c, i) => [x(i), y(row.byConcurrency.get(c)?.requestsPerSecond ?? 0)] as const)
      .map(([px, py]) => `${px.toFixed(1)},${py.toFixed(1)}`);
    parts.push(`<polyline points="${points.join(' ')}" fill="none" stroke="${color}" stroke-width="2.5"/>`);
    for (const point of points) {
      const [px, py] = point.split(',');
      parts.push(`<circle cx="${px}" cy="${py}" r="3.5" fill="${color}"/>`);
    }
  });

  // Right: CPU per request at the middle concurrency, one bar per row.
  const at = concurrencies[Math.floor(concurrencies.length / 2)] ?? 1;
  const cpu = rows.map((row) => row.byConcurrency.get(at)?.cpuMicrosPerRequest ?? 0);
  const cpuStep = niceStep(Math.max(...cpu));
  const cpuTop = Math.ceil(Math.max(...cpu) / cpuStep) * cpuStep;
  const barHeight = bars.height / rows.length;
  text(bars.left - 110, bars.top - 12, `backend CPU per request at ${at} connections (µs)`, 'font-weight="bold"');
  for (let tick = 0; tick <= cpuTop; tick += cpuStep) {
    const tx = bars.left + (bars.width * tick) / cpuTop;
    parts.push(`<line x1="${tx}" x2="${tx}" y1="${bars.top}" y2="${bars.top + bars.height}" stroke="#ddd"/>`);
    text(tx, bars.top + bars.height + 20, String(tick), 'text-anchor="middle"');
  }
  rows.forEach((row, index) => {
    const value = cpu[index] ?? 0;
    const by = bars.top + index * barHeight + 3;
    const w = (bars.width * value) / cpuTop;
    parts.push(
      `<rect x="${bars.left}" y="${by.toFixed(1)}" width="${w.toFixed(1)}" height="${(barHeight - 6).toFixed(1)}" fill="${COLORS[index % COLORS.length]}"/>`,
    );
    text(bars.left + w + 4, by + barHeight / 2 + 1, value.toFixed(1));
    text(bars.left - 6, by + barHeight / 2 + 1, row.peer.name, 'text-anchor="end"');
  });

  // Legend under both panels.
  rows.forEach((row, index) => {
    const lx = 20 + (index % 2) * 470;
    const ly = plot.top + plot.height + 62 + Math.floor(index / 2) * 18;
    parts.push(`<rect x="${lx}" y="${ly - 10}" width="12" height="12" fill="${COLORS[index % COLORS.length]}"/>`);
    text(lx + 18, ly, `${row.peer.name}: ${row.peer.label}`);
  });

  const legendRows = Math.ceil(rows.length / 2);
  const fullHeight = Math.max(height, plot.top + plot.height + 70 + legendRows * 18);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${fullHeight}" viewBox="0 0 ${width} ${fullHeight}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="20" y="22" font-size="15" font-weight="bold">${escape(title)}</text>
${parts.join('\n')}
</svg>
`;
}
