import type { PensionOk } from './api';
import { ageAt, formatMoney } from './format';

const COLOURS = ['#2f6f8f', '#c2772b', '#4f8a3c', '#8c4f8f', '#b5443b', '#5a6b7d', '#a08a2a', '#2b8a84'];

export interface Series {
  id: string;
  label: string;
  colour: string;
  /** (start age, yearly amount) for each ERI component */
  steps: { age: number; amount: number }[];
}

/** Each pension contributes the annualAmount of its ERI components from the age
 * at their payableDate onward. Uses the most recent illustration of each pension. */
export function buildSeries(pensions: PensionOk[], dateOfBirth: string): Series[] {
  const out: Series[] = [];
  pensions.forEach((p, i) => {
    const ills = [...(p.illustrations ?? [])].sort((a, b) => (b.illustrationDate ?? '').localeCompare(a.illustrationDate ?? ''));
    const latest = ills[0];
    const steps: Series['steps'] = [];
    for (const c of latest?.illustrationComponents ?? []) {
      if (c.illustrationType !== 'ERI') continue;
      const amount = c.payableDetails?.annualAmount;
      const age = ageAt(dateOfBirth, c.payableDetails?.payableDate ?? '');
      if (typeof amount === 'number' && age !== null) steps.push({ age, amount });
    }
    if (steps.length) out.push({ id: p.resource_id, label: p.scheme ?? p.pei, colour: COLOURS[i % COLOURS.length], steps });
  });
  return out;
}

const W = 720;
const H = 260;
const PAD = { l: 64, r: 12, t: 12, b: 36 };

export function IncomeChart({ pensions, dateOfBirth }: { pensions: PensionOk[]; dateOfBirth: string | null }) {
  if (!dateOfBirth) {
    return <p className="muted">Your date of birth is not known, so the income-by-age chart cannot be drawn.</p>;
  }
  const series = buildSeries(pensions, dateOfBirth);
  if (series.length === 0) {
    return <p className="muted">None of your pensions has an estimated retirement income yet, so there is no chart.</p>;
  }
  const starts = series.flatMap((s) => s.steps.map((st) => st.age));
  const firstAge = Math.max(0, Math.min(...starts) - 2);
  const lastAge = Math.max(...starts) + 8;
  const ages: number[] = [];
  for (let a = firstAge; a <= lastAge; a++) ages.push(a);
  const amountAt = (s: Series, age: number) => s.steps.filter((st) => st.age <= age).reduce((t, st) => t + st.amount, 0);
  const totals = ages.map((a) => series.reduce((t, s) => t + amountAt(s, a), 0));
  const max = Math.max(...totals, 1);
  const niceMax = niceCeil(max);
  const plotW = W - PAD.l - PAD.r;
  const plotH = H - PAD.t - PAD.b;
  const slot = plotW / ages.length;
  const barW = Math.max(2, slot * 0.75);
  const y = (v: number) => PAD.t + plotH - (v / niceMax) * plotH;
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => f * niceMax);
  const labelEvery = ages.length > 20 ? 5 : ages.length > 10 ? 2 : 1;
  const summary = `Estimated yearly income by age: ${formatMoney(totals[totals.length - 1])} a year from age ${Math.max(...starts)}.`;

  return (
    <figure className="card chart">
      <figcaption>Estimated yearly retirement income by age</figcaption>
      <svg data-testid="income-chart" viewBox={`0 0 ${W} ${H}`} role="img" aria-label={summary} width="100%">
        <title>{summary}</title>
        {ticks.map((t) => (
          <g key={t}>
            <line x1={PAD.l} x2={W - PAD.r} y1={y(t)} y2={y(t)} className="grid" />
            <text x={PAD.l - 6} y={y(t) + 4} textAnchor="end" className="axis">{formatMoney(t)}</text>
          </g>
        ))}
        {series.map((s, si) => (
          <g key={s.id} data-testid="chart-series" data-series={s.label} fill={s.colour}>
            {ages.map((a, ai) => {
              const below = series.slice(0, si).reduce((t, o) => t + amountAt(o, a), 0);
              const v = amountAt(s, a);
              if (v <= 0) return null;
              return (
                <rect key={a} x={PAD.l + ai * slot + (slot - barW) / 2} y={y(below + v)} width={barW}
                  height={Math.max(0, y(below) - y(below + v))}>
                  <title>{`Age ${a}: ${s.label} ${formatMoney(v)}`}</title>
                </rect>
              );
            })}
          </g>
        ))}
        {ages.map((a, ai) => (ai % labelEvery === 0 ? (
          <text key={a} x={PAD.l + ai * slot + slot / 2} y={H - PAD.b + 16} textAnchor="middle" className="axis">{a}</text>
        ) : null))}
        <text x={PAD.l + plotW / 2} y={H - 4} textAnchor="middle" className="axis">Age</text>
      </svg>
      <ul className="legend">
        {series.map((s) => (
          <li key={s.id}>
            <svg width="12" height="12" aria-hidden="true"><rect width="12" height="12" fill={s.colour} /></svg> {s.label}
          </li>
        ))}
      </ul>
    </figure>
  );
}

function niceCeil(v: number): number {
  const mag = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * mag >= v) return m * mag;
  return 10 * mag;
}
