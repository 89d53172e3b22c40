// Small SVG charts drawn from numbers, with no library. Each chart is an <svg role="img"> with a
// <title> stating the figures in words, and sizes in viewBox units so it scales from a laptop
// to a projector. Colours come from CSS classes (the CSP allows no inline styles).
import { s } from './dom.js';
import { format_number, format_percent } from './i18n.js';

// Horizontal bars: rows [{label, value}], each bar's length relative to the largest. With
// `share_of_previous`, each row from the third on also shows its share of the row above (the
// funnel's step-to-step conversion). The viewBox is narrow so text stays large when scaled.
export function bar_chart(rows, { title, share_of_previous = false, css = 'bars' } = {}) {
  const row_h = 40;
  const label_w = 110;
  const value_w = 130;
  const bar_w = 250;
  const width = label_w + bar_w + value_w;
  const height = rows.length * row_h + 8;
  const max = Math.max(1, ...rows.map((r) => r.value || 0));
  const svg = s('svg', {
    class: `chart ${css}`, viewBox: `0 0 ${width} ${height}`, role: 'img',
    preserveAspectRatio: 'xMinYMin meet',
  });
  svg.append(s('title', {}, `${title}: ${rows.map((r) => `${r.label} ${format_number(r.value)}`).join(', ')}`));
  rows.forEach((row, i) => {
    const y = 4 + i * row_h;
    const w = Math.max(row.value > 0 ? 2 : 0, Math.round(((row.value || 0) / max) * bar_w));
    const prev = rows[i - 1]?.value || 0;
    const share = share_of_previous && i >= 2 && prev > 0 ? ` (${format_percent((row.value || 0) / prev)})` : '';
    svg.append(
      s('text', { x: label_w - 8, y: y + row_h / 2, class: 'label', 'text-anchor': 'end', 'dominant-baseline': 'middle' }, row.label),
      s('rect', { x: label_w, y: y + 6, width: bar_w, height: row_h - 12, class: 'track', rx: 3 }),
      s('rect', { x: label_w, y: y + 6, width: w, height: row_h - 12, class: `bar bar-${i % 6}`, rx: 3 }),
      s('text', { x: label_w + bar_w + 8, y: y + row_h / 2, class: 'value', 'dominant-baseline': 'middle' },
        `${format_number(row.value)}${share}`),
    );
  });
  return svg;
}

// A ring showing one ratio (0..1).
export function ratio_ring(ratio, { title }) {
  const r = 40;
  const c = 2 * Math.PI * r;
  const value = Number.isFinite(ratio) ? Math.max(0, Math.min(1, ratio)) : 0;
  return s('svg', { class: 'chart ring', viewBox: '0 0 100 100', role: 'img' },
    s('title', {}, `${title}: ${format_percent(ratio)}`),
    s('circle', { cx: 50, cy: 50, r, class: 'track', fill: 'none', 'stroke-width': 12 }),
    s('circle', {
      cx: 50, cy: 50, r, class: 'arc', fill: 'none', 'stroke-width': 12,
      'stroke-dasharray': `${(value * c).toFixed(2)} ${c.toFixed(2)}`, transform: 'rotate(-90 50 50)',
    }),
    s('text', { x: 50, y: 50, class: 'ring-value', 'text-anchor': 'middle', 'dominant-baseline': 'central' },
      format_percent(ratio)));
}

// Grouped columns: groups [{label, values: [{label, value}]}], e.g. funnel steps by route.
export function grouped_columns(groups, series, { title }) {
  const group_w = 84;
  const height = 210;
  const base = 170;
  const width = Math.max(280, groups.length * group_w + 20);
  const max = Math.max(1, ...groups.flatMap((g) => g.values.map((v) => v.value || 0)));
  const col_w = Math.min(28, (group_w - 16) / Math.max(1, series.length));
  const svg = s('svg', { class: 'chart columns', viewBox: `0 0 ${width} ${height}`, role: 'img' });
  svg.append(s('title', {}, `${title}: ${groups.map((g) => `${g.label} ${g.values.map((v) => `${v.label} ${v.value}`).join(' / ')}`).join(', ')}`));
  svg.append(s('line', { x1: 10, x2: width - 10, y1: base, y2: base, class: 'axis' }));
  groups.forEach((g, gi) => {
    const x0 = 14 + gi * group_w;
    g.values.forEach((v, si) => {
      const hgt = Math.round(((v.value || 0) / max) * (base - 24));
      const x = x0 + si * col_w;
      svg.append(
        s('rect', { x, y: base - hgt, width: col_w - 3, height: hgt, class: `bar series-${si}` }),
        s('text', { x: x + (col_w - 3) / 2, y: base - hgt - 4, class: 'value small', 'text-anchor': 'middle' }, format_number(v.value)),
      );
    });
    svg.append(s('text', { x: x0 + (series.length * col_w) / 2, y: base + 22, class: 'label small', 'text-anchor': 'middle' }, g.label));
  });
  return svg;
}
