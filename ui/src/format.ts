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

/** How a provider's match of the owner's details reads (PDP match status). */
export const MATCH_LABELS: Record<string, string> = {
  'match-yes': 'Matches you',
  'match-possible': 'Possible match',
  'match-no': 'No match',
};

/** Who sent an access request, as a sentence can name them: the official
 * list's name when it vouches for the app, else the name the app gave itself, said as such. */
export function requesterName(r: { client_name?: string | null; registry?: { listed?: boolean; name?: string | null } | null }): string {
  if (r.registry?.listed && r.registry.name) return r.registry.name;
  return `an app calling itself “${r.client_name || 'unnamed'}”`;
}
