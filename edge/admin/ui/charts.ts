// Charts as server-rendered SVG: no script, no library. Each chart scales with its box (viewBox,
// width 100%), so it stays readable on a phone; every bar carries a <title> with its exact value,
// and the chart an aria-label that says what it shows.
import { html } from 'hono/html';
import type { Html } from './layout.ts';

const W = 640;
const H = 220;
const PAD = { left: 36, right: 8, top: 14, bottom: 30 };

export interface BarSeries {
  name: string;
  color: string;
  values: number[];
}

/** Vertical bars per slot; several series are drawn over each other (the first, tallest, behind). */
export function columnChart(o: {
  label: string;
  slots: string[];
  series: BarSeries[];
  every?: number;
}): Html {
  const n = o.slots.length;
  const max = Math.max(1, ...o.series.flatMap((s) => s.values));
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const slotW = plotW / Math.max(1, n);
  const barW = Math.max(1, slotW * 0.8);
  const y = (v: number) => PAD.top + plotH - (v / max) * plotH;
  const every = o.every ?? Math.max(1, Math.ceil(n / 8));
  const total = o.series.map((s) => `${s.name} ${s.values.reduce((a, b) => a + b, 0)}`).join(', ');
  return html`<figure class="chart">
    <svg viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-label="${o.label}: ${total}" xmlns="http://www.w3.org/2000/svg">
      <line x1="${PAD.left}" y1="${PAD.top + plotH}" x2="${W - PAD.right}" y2="${PAD.top + plotH}" stroke="#b9c0cf" />
      <text x="${PAD.left - 4}" y="${PAD.top + 4}" text-anchor="end" font-size="15" fill="#5b6478">${max}</text>
      <text x="${PAD.left - 4}" y="${PAD.top + plotH}" text-anchor="end" font-size="15" fill="#5b6478">0</text>
      ${o.series.map((s) =>
        s.values.map((v, i) =>
          v > 0
            ? html`<rect x="${(PAD.left + i * slotW + (slotW - barW) / 2).toFixed(1)}" y="${y(v).toFixed(1)}" width="${barW.toFixed(1)}" height="${(PAD.top + plotH - y(v)).toFixed(1)}" fill="${s.color}"><title>${o.slots[i]}: ${v} ${s.name}</title></rect>`
            : '',
        ),
      )}
      ${o.slots.map((t, i) =>
        i % every === 0
          ? html`<text x="${(PAD.left + i * slotW + slotW / 2).toFixed(1)}" y="${H - 10}" text-anchor="middle" font-size="15" fill="#5b6478">${t}</text>`
          : '',
      )}
    </svg>
    <figcaption>${o.series.map(
      (s) => html`<span class="key"><i style="background:${s.color}"></i>${s.name}</span> `,
    )}</figcaption>
  </figure>`;
}

/** Horizontal bars with their labels, for a short list of categories. */
export function barList(o: { label: string; items: { name: string; value: number }[]; color: string }): Html {
  if (o.items.length === 0) return html`<p class="muted">None in this period.</p>`;
  const rowH = 26;
  const h = o.items.length * rowH + 8;
  const max = Math.max(1, ...o.items.map((i) => i.value));
  const barX = 8;
  const barMax = W - barX - 60;
  return html`<figure class="chart">
    <svg viewBox="0 0 ${W} ${h}" width="100%" role="img" aria-label="${o.label}" xmlns="http://www.w3.org/2000/svg">
      ${o.items.map((it, i) => {
        const w = Math.max(2, (it.value / max) * barMax);
        const top = 4 + i * rowH;
        return html`<rect x="${barX}" y="${top}" width="${w.toFixed(1)}" height="${rowH - 6}" fill="${o.color}" opacity="0.25"><title>${it.name}: ${it.value}</title></rect>
          <text x="${barX + 6}" y="${top + rowH - 11}" font-size="13" fill="#1d2433">${it.name}</text>
          <text x="${W - 8}" y="${top + rowH - 11}" font-size="13" text-anchor="end" fill="#1d2433">${it.value}</text>`;
      })}
    </svg>
  </figure>`;
}
