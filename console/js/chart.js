// A trend chart in SVG: the mean per bucket as a line, its 95 % confidence
// band as a shaded area, each point labelled with its call count.

import { svg } from './dom.js';

const WIDTH = 720;
const HEIGHT = 260;
const PAD = { left: 40, right: 32, top: 16, bottom: 36 };

/** points: [{ at: ms, mean, low, high, count }], sorted by time. */
export function trendChart(points, { label, dateLabel }) {
  const plotWidth = WIDTH - PAD.left - PAD.right;
  const plotHeight = HEIGHT - PAD.top - PAD.bottom;
  const x = (index) => PAD.left + (points.length <= 1 ? plotWidth / 2 : (index / (points.length - 1)) * plotWidth);
  const y = (value) => PAD.top + (1 - Math.min(100, Math.max(0, value)) / 100) * plotHeight;
  const grid = [0, 25, 50, 75, 100].map((value) => svg('g', { class: 'grid' },
    svg('line', { x1: PAD.left, x2: WIDTH - PAD.right, y1: y(value), y2: y(value) }),
    svg('text', { x: PAD.left - 6, y: y(value) + 4, 'text-anchor': 'end' }, String(value))));
  const band = points.length
    ? svg('polygon', {
      class: 'band',
      points: [
        ...points.map((point, index) => `${x(index)},${y(point.high)}`),
        ...points.map((point, index) => `${x(index)},${y(point.low)}`).reverse(),
      ].join(' '),
    })
    : null;
  const line = svg('polyline', { class: 'line', points: points.map((point, index) => `${x(index)},${y(point.mean)}`).join(' ') });
  const dots = points.map((point, index) => svg('g', {
    class: 'point', 'data-bucket-ms': point.at, 'data-mean': point.mean.toFixed(2),
    'data-low': point.low.toFixed(2), 'data-high': point.high.toFixed(2), 'data-count': point.count,
  },
  svg('circle', { cx: x(index), cy: y(point.mean), r: 4 },
    svg('title', {}, `${dateLabel(point.at)}: ${point.mean.toFixed(1)} (${point.low.toFixed(1)}–${point.high.toFixed(1)}), n=${point.count}`)),
  svg('text', { x: x(index), y: HEIGHT - PAD.bottom + 14, 'text-anchor': 'middle', class: 'axis' }, dateLabel(point.at)),
  svg('text', { x: x(index), y: HEIGHT - PAD.bottom + 28, 'text-anchor': 'middle', class: 'count' }, `n=${point.count}`)));
  return svg('svg', {
    class: 'trend', viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: 'img', 'aria-label': label, id: 'trend-chart',
  }, grid, band, line, dots);
}
