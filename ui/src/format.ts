import type { Party } from './api';

const money = new Intl.NumberFormat('en-GB', { style: 'currency', currency: 'GBP', maximumFractionDigits: 0 });

export function formatMoney(n: number | null | undefined): string {
  return typeof n === 'number' && Number.isFinite(n) ? money.format(n) : '—';
}

/** Unix seconds → readable local date and time. */
export function formatTime(unix: number | null | undefined): string {
  if (typeof unix !== 'number') return '—';
  return new Date(unix * 1000).toLocaleString('en-GB', {
    day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit',
  });
}

/** 'YYYY-MM-DD' → '12 Apr 2040' (left as is when not a date). */
export function formatDay(iso: string | null | undefined): string {
  if (!iso) return '—';
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(iso);
  if (!m) return iso;
  const d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3]));
  return d.toLocaleDateString('en-GB', { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' });
}

/** Whole years between two 'YYYY-MM-DD' dates. */
export function ageAt(birth: string, on: string): number | null {
  const b = /^(\d{4})-(\d{2})-(\d{2})/.exec(birth);
  const o = /^(\d{4})-(\d{2})-(\d{2})/.exec(on);
  if (!b || !o) return null;
  let age = +o[1] - +b[1];
  if (+o[2] < +b[2] || (+o[2] === +b[2] && +o[3] < +b[3])) age -= 1;
  return age;
}

export function shortId(s: string, n = 8): string {
  return s.length > n + 1 ? `${s.slice(0, n)}…` : s;
}

export interface PartyView {
  kind: 'anonymous' | 'verified' | 'self-asserted' | 'mixed';
  verified: [string, string][];
  selfAsserted: [string, string][];
}

const CLAIM_LABELS: Record<string, string> = {
  email: 'Email', name: 'Name', issuer: 'Issuer', iss: 'Issuer', subject: 'Subject', sub: 'Subject', purpose: 'Purpose',
};

function claimsOf(o: unknown): [string, string][] {
  if (!o || typeof o !== 'object') return [];
  return Object.entries(o as Record<string, unknown>)
    .filter(([, v]) => v !== null && v !== undefined && v !== '')
    .map(([k, v]) => [CLAIM_LABELS[k] ?? k, typeof v === 'string' ? v : JSON.stringify(v)]);
}

/** Who is asking: claims an issuer the owner trusts verified, and claims
 * the party typed in itself. None at all → anonymous. */
export function describeParty(party: Party | null | undefined): PartyView {
  const verified = claimsOf(party?.verified);
  const selfAsserted = claimsOf(party?.self_asserted);
  const kind = verified.length && selfAsserted.length ? 'mixed'
    : verified.length ? 'verified'
    : selfAsserted.length ? 'self-asserted'
    : 'anonymous';
  return { kind, verified, selfAsserted };
}

/** Who sent an access request, as a sentence can name them: the official
 * list's name when it vouches for the app, else the name the app gave itself, said as such. */
export function requesterName(r: { client_name?: string | null; registry?: { listed?: boolean; name?: string | null } | null }): string {
  if (r.registry?.listed && r.registry.name) return r.registry.name;
  return `an app calling itself “${r.client_name || 'unnamed'}”`;
}

/** Unix seconds → '3 Nov 2026': when the owner needs the day, not the minute. */
export function formatDate(unix: number | null | undefined): string {
  if (typeof unix !== 'number') return '—';
  return new Date(unix * 1000).toLocaleDateString('en-GB', { day: 'numeric', month: 'short', year: 'numeric' });
}

/** Today as 'YYYY-MM-DD' in the owner's own time zone (her age changes on her birthday, not in UTC). */
export function todayIso(now: Date = new Date()): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
}

/**
 * The State Pension age the wallet assumes. It is 67 for everyone born
 * between April 1960 and March 1977, which is the owners this app is for;
 * the real age comes from the owner's own forecast on GOV.UK, which the
 * screens point to, so this is only where the chart draws its marker.
 */
export const STATE_PENSION_AGE = 67;

/** Where the owner checks her State Pension forecast. Shown as text: the
 * app's window must never navigate away from the wallet. */
export const STATE_PENSION_FORECAST = 'www.gov.uk/check-state-pension';

/** A pension's kind in words: PDP's `pensionType` codes mean nothing to the owner. */
export function pensionTypeLabel(code: string | null | undefined): string | null {
  switch ((code ?? '').toUpperCase()) {
    case 'DB': return 'Defined benefit (final salary)';
    case 'DC': return 'Defined contribution (pension pot)';
    case 'HY': case 'HYB': case 'HYBRID': return 'Hybrid (part final salary, part pension pot)';
    case 'AVC': return 'Additional voluntary contributions';
    case '': return null;
    default: return 'Other kind of pension';
  }
}

/** What a document a provider points to holds (PDP `informationType`). */
export function documentLabel(code: string | null | undefined): string {
  switch (code) {
    case 'SIP': return 'Statement of investment principles';
    case 'ANR': return 'Annual report';
    case 'C_AND_C': return 'Costs and charges';
    default: return 'More information';
  }
}

const yearOf = (iso: string | null | undefined) => /^(\d{4})/.exec(iso ?? '')?.[1] ?? null;

/** "Acme Manufacturing Ltd, 1998–2012": how people recognise an old pension. */
export function employmentLine(periods: readonly { employerName: string | null; membershipStartDate: string | null; membershipEndDate: string | null }[] | null | undefined): string | null {
  const parts = (periods ?? []).map((e) => {
    const from = yearOf(e.membershipStartDate);
    const to = yearOf(e.membershipEndDate);
    const years = from && to ? (from === to ? from : `${from}–${to}`) : from ? `since ${from}` : to ? `until ${to}` : null;
    return [e.employerName, years].filter(Boolean).join(', ');
  }).filter(Boolean);
  return parts.length ? parts.join('; ') : null;
}

/** A provider's name for sentences, never its web address: that belongs in the technical details. */
export const providerLabel = (name: string | null | undefined) => name?.trim() || 'Your pension provider';

/**
 * One employer of a pension found for her, as she would say it: "Acme
 * Manufacturing Ltd, 1998 to 2012", or "…, since 2012" while she still
 * works there (no end year).
 */
export function employerYears(e: { employer: string; from?: number | null; to?: number | null }): string {
  const from = typeof e.from === 'number' ? e.from : null;
  const to = typeof e.to === 'number' ? e.to : null;
  const years = from !== null && to !== null ? (from === to ? `in ${from}` : `${from} to ${to}`)
    : from !== null ? `since ${from}`
    : to !== null ? `until ${to}`
    : null;
  return years ? `${e.employer}, ${years}` : e.employer;
}
