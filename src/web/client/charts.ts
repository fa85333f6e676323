/** The overview's four bar charts (chart.js, served by this server as /vendor/chart.umd.js). */
import type { Chart as ChartJs, ChartConfiguration, ChartDataset } from 'chart.js';
import type { SeriesResponse, Side } from '../api-types.js';
import { GROUP_COLOURS, axisStart, binLabels, groupColour, tickEvery, vniOrder } from './chart-axis.js';
import { fmtBytes, fmtUs } from './format.js';
import { showMessage } from './ui.js';

declare global {
  interface Window {
    /** chart.js's UMD build puts it here. */
    Chart?: typeof ChartJs;
  }
}

type Metric = 'packetsPerSec' | 'bytesPerSec';
type BarChart = ChartJs<'bar', number[], string>;

const CHART_IDS = ['chart-u-pps', 'chart-u-bps', 'chart-o-pps', 'chart-o-bps'] as const;
const charts = new Map<string, BarChart>();

/** Removes every chart (a node without captures). */
export function clearCharts(): void {
  for (const c of charts.values()) c.destroy();
  charts.clear();
}

export function drawCharts(series: SeriesResponse): void {
  const Chart = window.Chart;
  if (!Chart) {
    showMessage('chart.js did not load (/vendor/chart.umd.js): the charts are missing');
    return;
  }
  const labels = binLabels(series);
  const every = tickEvery(series);
  const order = vniOrder(series);
  const t0 = axisStart(series);
  const big = document.body.classList.contains('large');
  const make = (id: string, side: Side, metric: Metric, yTitle: string): void => {
    const canvas = document.getElementById(id) as HTMLCanvasElement;
    const groups = series.sides[side]?.groups ?? {};
    const datasets: ChartDataset<'bar', number[]>[] = Object.entries(groups)
      .sort(([x], [y]) => (GROUP_COLOURS[x] ? 1 : 0) - (GROUP_COLOURS[y] ? 1 : 0) || x.localeCompare(y))
      .map(([label, g]) => ({
        label,
        data: g[metric].map((v) => Math.round(v * 10) / 10),
        backgroundColor: groupColour(label, order),
        borderWidth: 0,
        barPercentage: 1,
        categoryPercentage: 1,
      }));
    charts.get(id)?.destroy();
    const config: ChartConfiguration<'bar', number[], string> = {
      type: 'bar',
      data: { labels, datasets },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        plugins: {
          legend: { position: 'bottom', labels: { font: { size: big ? 18 : 13 } } },
          tooltip: {
            callbacks: {
              label: (c) =>
                `${c.dataset.label ?? ''}: ${metric === 'bytesPerSec' ? `${fmtBytes(c.parsed.y ?? 0)}/s` : `${c.parsed.y ?? 0} packets/s`}`,
            },
          },
        },
        scales: {
          x: {
            stacked: true,
            title: { display: true, text: `seconds since ${t0} UTC (bins of ${fmtUs(series.binUs)})`, font: { size: big ? 16 : 12 } },
            ticks: {
              autoSkip: false,
              maxRotation: 0,
              font: { size: big ? 16 : 12 },
              callback: (_v, i) => (i % every === 0 ? labels[i] : ''),
            },
            grid: { color: (c) => (c.index % every === 0 ? '#ddd' : 'transparent') },
          },
          // the same y-axis width everywhere, so the four charts' time axes line up
          y: {
            stacked: true,
            beginAtZero: true,
            afterFit: (scale) => {
              scale.width = big ? 110 : 80;
            },
            title: { display: true, text: yTitle, font: { size: big ? 16 : 12 } },
            ticks: { font: { size: big ? 16 : 12 }, callback: (v) => (metric === 'bytesPerSec' ? fmtBytes(Number(v)) : v) },
          },
        },
      },
    };
    charts.set(id, new Chart(canvas, config) as BarChart);
  };
  for (const id of CHART_IDS) {
    const box = document.getElementById(id)?.parentElement;
    if (box) box.style.height = big ? '17em' : '13em';
  }
  make('chart-u-pps', 'underlay', 'packetsPerSec', 'packets/s');
  make('chart-u-bps', 'underlay', 'bytesPerSec', 'bytes/s');
  make('chart-o-pps', 'overlay', 'packetsPerSec', 'packets/s');
  make('chart-o-bps', 'overlay', 'bytesPerSec', 'bytes/s');
  // both sides on the same y scale, so heights compare
  for (const [a, b] of [
    ['chart-u-pps', 'chart-o-pps'],
    ['chart-u-bps', 'chart-o-bps'],
  ] as const) {
    const ca = charts.get(a);
    const cb = charts.get(b);
    if (!ca || !cb) continue;
    const max = Math.max(ca.scales.y?.max ?? 0, cb.scales.y?.max ?? 0);
    for (const c of [ca, cb]) {
      const y = c.options.scales?.y;
      if (y) y.max = max;
      c.update();
    }
  }
}
