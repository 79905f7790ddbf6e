import { useEffect, useId, useState } from 'react';
import type { PensionOk } from './api';
import { STATE_PENSION_AGE, ageAt, formatMoney, todayIso } from './format';

/** Each at least 3:1 against the white card (WCAG 1.4.11: 4.8:1 to 7.2:1), and well apart in hue. */
export const PALETTE = ['#1d70b8', '#d4351c', '#00703c', '#912b88', '#a8600e', '#0b6e6e', '#8a6d00', '#505a5f'];

/** FNV-1a: a small hash that gives the same number for the same text on every run. */
export function hashOf(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/**
 * A colour for each pension from its own identifier, so that a pension keeps
 * its colour whatever order the providers answer in. When two land on the
 * same colour, the one whose identifier sorts first keeps it and the other
 * takes the next free one.
 */
export function coloursFor(keys: string[]): Map<string, string> {
  const out = new Map<string, string>();
  const used = new Set<number>();
  for (const key of [...new Set(keys)].sort()) {
    let i = hashOf(key) % PALETTE.length;
    for (let tries = 0; tries < PALETTE.length && used.has(i); tries++) i = (i + 1) % PALETTE.length;
    used.add(i);
    out.set(key, PALETTE[i]);
  }
  return out;
}

/** What identifies a pension across runs and wallets: its PeI, else the wallet's id for it. */
export const stableKey = (p: { pei: string; resource_id: string }) => p.pei || p.resource_id;

export interface Series {
  id: string;
  label: string;
  colour: string;
  /** (start age, yearly amount) for each ERI component */
  steps: { age: number; amount: number }[];
}

/** Each pension contributes the annualAmount of its ERI components from the age
 * at their payableDate onward. Uses the most recent illustration of each pension.
 * `colours` (from `coloursFor` over every pension on the screen) keeps a
 * pension's colour the same on its card and in the chart, even when some
 * pensions are left out of the chart. */
export function buildSeries(pensions: PensionOk[], dateOfBirth: string, colours: Map<string, string> = coloursFor(pensions.map(stableKey))): Series[] {
  const out: Series[] = [];
  for (const p of pensions) {
    const ills = [...(p.illustrations ?? [])].sort((a, b) => (b.illustrationDate ?? '').localeCompare(a.illustrationDate ?? ''));
    const latest = ills[0];
    const steps: Series['steps'] = [];
    for (const c of latest?.illustrationComponents ?? []) {
      if (c.illustrationType !== 'ERI') continue;
      const amount = c.payableDetails?.annualAmount;
      const age = ageAt(dateOfBirth, c.payableDetails?.payableDate ?? '');
      if (typeof amount === 'number' && age !== null) steps.push({ age, amount });
    }
    if (steps.length) out.push({ id: p.resource_id, label: p.scheme ?? p.pei, colour: colours.get(stableKey(p)) ?? PALETTE[0], steps });
  }
  return out;
}

const amountAt = (s: Series, age: number) => s.steps.filter((st) => st.age <= age).reduce((t, st) => t + st.amount, 0);

/** The chart's width in CSS pixels: drawn at its real size, its text is as big as the stylesheet says. */
function useWidth(fallback: number) {
  const [el, ref] = useState<HTMLDivElement | null>(null);
  const [width, setWidth] = useState(fallback);
  useEffect(() => {
    if (!el || typeof ResizeObserver === 'undefined') return undefined;
    const watch = new ResizeObserver(([entry]) => {
      const w = Math.round(entry.contentRect.width);
      if (w > 0) setWidth(w);
    });
    watch.observe(el);
    return () => watch.disconnect();
  }, [el]);
  return { ref, width };
}

/** The root font size in pixels (the owner's text size), 16 when it cannot be read. */
function rootFontPx(): number {
  const px = parseFloat(getComputedStyle(document.documentElement).fontSize);
  return Number.isFinite(px) && px > 0 ? px : 16;
}

export function Chip({ colour }: { colour: string }) {
  return <svg className="chip" viewBox="0 0 16 16" aria-hidden="true" focusable="false"><rect width="16" height="16" fill={colour} /></svg>;
}

/** Where the chart starts and ends, and the owner's age now when it can be drawn. */
export function chartSpan(starts: number[], nowAge: number | null): { firstAge: number; lastAge: number; now: number | null } {
  const first = Math.min(...starts);
  const last = Math.max(...starts);
  const lastAge = Math.max(last, STATE_PENSION_AGE) + 3;
  // From today, so that the years until the first income are seen as
  // years to wait, not as a gap; but not across decades of empty columns.
  if (nowAge !== null && nowAge <= first && first - nowAge <= 20) return { firstAge: nowAge, lastAge, now: nowAge };
  if (nowAge !== null && nowAge > first && nowAge <= lastAge) return { firstAge: first, lastAge, now: nowAge };
  return { firstAge: first, lastAge, now: null };
}

export function IncomeChart({ pensions, dateOfBirth, colours, today }: {
  pensions: PensionOk[];
  dateOfBirth: string | null;
  colours?: Map<string, string>;
  /** 'YYYY-MM-DD'; today unless a test says otherwise. */
  today?: string;
}) {
  const [asTable, setAsTable] = useState(false);
  const { ref, width } = useWidth(720);
  const captionId = useId();
  const notesId = useId();
  if (!dateOfBirth) {
    return <p className="muted">Your date of birth is not known, so the income-by-age chart cannot be drawn. Add it in Settings.</p>;
  }
  const series = buildSeries(pensions, dateOfBirth, colours);
  if (series.length === 0) {
    return <p className="muted">None of your pensions has an estimated retirement income yet, so there is no chart.</p>;
  }
  const starts = series.flatMap((s) => s.steps.map((st) => st.age));
  const nowAge = ageAt(dateOfBirth, today ?? todayIso());
  const span = chartSpan(starts, nowAge);
  const last = Math.max(...starts);
  const total = series.reduce((t, s) => t + amountAt(s, last), 0);
  const notes = [
    nowAge !== null ? `You are ${nowAge} now.` : null,
    `The State Pension is not included; it usually starts at ${STATE_PENSION_AGE}.`,
  ].filter(Boolean).join(' ');
  const summary = `Estimated yearly income by age: ${formatMoney(total)} a year from age ${last}. ${notes}`;

  return (
    <figure className="card chart" aria-labelledby={captionId} aria-describedby={notesId}>
      <div className="chart-head">
        <figcaption id={captionId}>Estimated yearly retirement income by age</figcaption>
        <button type="button" data-testid="chart-view-toggle" onClick={() => setAsTable((t) => !t)}>
          {asTable ? 'Show as chart' : 'Show as table'}
        </button>
      </div>
      <div ref={ref}>
        {asTable ? <IncomeTable series={series} starts={starts} /> : <Bars series={series} span={span} width={width} summary={summary} />}
      </div>
      {!asTable && (
        <ul className="legend" aria-label="Pensions in the chart">
          {series.map((s) => (
            <li key={s.id} data-testid="chart-legend-item" data-colour={s.colour}><Chip colour={s.colour} /> {s.label}</li>
          ))}
        </ul>
      )}
      <p className="muted small chart-notes" id={notesId} data-testid="chart-notes">{notes}</p>
    </figure>
  );
}

function Bars({ series, span, width, summary }: { series: Series[]; span: ReturnType<typeof chartSpan>; width: number; summary: string }) {
  // Axis text at 14px or more (0.875rem of the owner's text size), in a chart drawn 1:1.
  const fontPx = Math.max(14, rootFontPx() * 0.875);
  const line = Math.round(fontPx * 1.35);
  const W = Math.max(320, width);
  // Two lines above the bars for the markers' words, so that they never run into each other.
  const PAD = { l: Math.round(fontPx * 5), r: 12, t: Math.round(fontPx * 0.75) + 2 * line, b: Math.round(fontPx * 2.8) };
  const H = Math.round(200 + fontPx * 4) + 2 * line;
  const { firstAge, lastAge } = span;
  const ages: number[] = [];
  for (let a = firstAge; a <= lastAge; a++) ages.push(a);
  const totals = ages.map((a) => series.reduce((t, s) => t + amountAt(s, a), 0));
  const niceMax = niceCeil(Math.max(...totals, 1));
  const plotW = W - PAD.l - PAD.r;
  const plotH = H - PAD.t - PAD.b;
  const slot = plotW / ages.length;
  const barW = Math.max(2, slot * 0.75);
  const y = (v: number) => PAD.t + plotH - (v / niceMax) * plotH;
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => f * niceMax);
  // Enough room between age labels for them not to run into each other at this text size.
  const labelEvery = [1, 2, 5, 10].find((n) => n * slot >= fontPx * 2.4) ?? 10;
  const xOf = (age: number) => PAD.l + (age - firstAge) * slot + slot / 2;
  const markers = [
    span.now !== null ? { age: span.now, text: `You now: ${span.now}`, testId: 'chart-marker-now' } : null,
    { age: STATE_PENSION_AGE, text: `State Pension age: ${STATE_PENSION_AGE}`, testId: 'chart-marker-state-pension' },
  ].filter((m): m is { age: number; text: string; testId: string } => m !== null && m.age >= firstAge && m.age <= lastAge);

  return (
    <svg data-testid="income-chart" viewBox={`0 0 ${W} ${H}`} width={W} height={H} role="img" aria-label={summary}>
      <title>{summary}</title>
      {ticks.map((t) => (
        <g key={t}>
          <line x1={PAD.l} x2={W - PAD.r} y1={y(t)} y2={y(t)} className="grid" />
          <text x={PAD.l - 6} y={y(t) + fontPx * 0.35} textAnchor="end" className="axis">{formatMoney(t)}</text>
        </g>
      ))}
      {series.map((s, si) => (
        <g key={s.id} data-testid="chart-series" data-series={s.label} data-colour={s.colour} fill={s.colour}>
          {ages.map((a, ai) => {
            const below = series.slice(0, si).reduce((t, o) => t + amountAt(o, a), 0);
            const v = amountAt(s, a);
            if (v <= 0) return null;
            // The white edge parts one pension's block from the next, so colour is not all that tells them apart.
            return (
              <rect key={a} x={PAD.l + ai * slot + (slot - barW) / 2} y={y(below + v)} width={barW}
                height={Math.max(0, y(below) - y(below + v))} stroke="#ffffff" strokeWidth={1}>
                <title>{`Age ${a}: ${s.label} ${formatMoney(v)}`}</title>
              </rect>
            );
          })}
        </g>
      ))}
      {markers.map((m, i) => {
        const x = xOf(m.age);
        // Words run away from the nearer edge, so that they stay inside the chart.
        const anchor = x > PAD.l + plotW / 2 ? 'end' : 'start';
        const textY = Math.round(fontPx * 0.75) + (i + 1) * line - 4;
        return (
          <g key={m.testId} data-testid={m.testId} className="chart-marker">
            <line x1={x} x2={x} y1={textY + 4} y2={PAD.t + plotH} stroke="#1f2a33" strokeWidth={2} strokeDasharray="5 4" />
            <text x={anchor === 'end' ? x - 4 : x + 4} y={textY} textAnchor={anchor} className="axis chart-marker-label">{m.text}</text>
          </g>
        );
      })}
      {ages.map((a, ai) => (ai % labelEvery === 0 ? (
        <text key={a} x={PAD.l + ai * slot + slot / 2} y={H - PAD.b + fontPx + 4} textAnchor="middle" className="axis">{a}</text>
      ) : null))}
      <text x={PAD.l + plotW / 2} y={H - 4} textAnchor="middle" className="axis">Age</text>
    </svg>
  );
}

/** The chart's figures as a table: from each age at which income changes, what each pension pays, and the total. */
function IncomeTable({ series, starts }: { series: Series[]; starts: number[] }) {
  const ages = [...new Set(starts)].sort((a, b) => a - b);
  const captionId = useId();
  return (
    <div className="table-scroll" role="region" aria-labelledby={captionId} tabIndex={0}>
      <table className="table income-table" data-testid="income-table">
        <caption id={captionId}>Estimated yearly income from each pension, by age</caption>
        <thead>
          <tr>
            <th scope="col">From age</th>
            {series.map((s) => <th scope="col" key={s.id}><Chip colour={s.colour} /> {s.label}</th>)}
            <th scope="col">Total a year</th>
          </tr>
        </thead>
        <tbody>
          {ages.map((a) => (
            <tr key={a} data-testid="income-table-row">
              <th scope="row">{a}</th>
              {series.map((s) => <td key={s.id}>{formatMoney(amountAt(s, a))}</td>)}
              <td><strong>{formatMoney(series.reduce((t, s) => t + amountAt(s, a), 0))}</strong></td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function niceCeil(v: number): number {
  const mag = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * mag >= v) return m * mag;
  return 10 * mag;
}
