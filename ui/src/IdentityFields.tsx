import type { Identity } from './api';

/** The identity details the owner types: used when creating the wallet and
 * when editing in Settings. Providers take none of them as checked (only
 * the identity credential is): they help find possible matches. */
export interface IdentityDraft {
  givenName: string;
  familyName: string;
  dob: string;
  postcode: string;
  nino: string;
  email: string;
}

export const EMPTY_IDENTITY: IdentityDraft = { givenName: '', familyName: '', dob: '', postcode: '', nino: '', email: '' };

function validDate(s: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(s)) return false;
  const d = new Date(`${s}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s;
}

/** What is wrong with the draft, in words for the owner; empty when nothing. */
export function identityProblems(d: IdentityDraft): string[] {
  const p: string[] = [];
  if (!d.givenName.trim()) p.push('Enter your given name.');
  if (!d.familyName.trim()) p.push('Enter your family name.');
  if (!validDate(d.dob.trim())) p.push('Enter your date of birth as YYYY-MM-DD, for example 1975-04-12.');
  return p;
}

export function toIdentity(d: IdentityDraft): Identity {
  const opt = (s: string) => (s.trim() ? s.trim() : null);
  return {
    given_name: d.givenName.trim(),
    family_name: d.familyName.trim(),
    date_of_birth: d.dob.trim(),
    nino: opt(d.nino)?.toUpperCase().replace(/\s+/g, '') ?? null,
    postcode: opt(d.postcode)?.toUpperCase() ?? null,
    address_lines: [],
    email: opt(d.email),
    mobile: null,
    verified: [],
  };
}

export function fromIdentity(i: Identity): IdentityDraft {
  return {
    givenName: i.given_name, familyName: i.family_name, dob: i.date_of_birth, postcode: i.postcode ?? '',
    nino: i.nino ?? '', email: i.email ?? '',
  };
}

/** The fields; `prefix` keeps element ids unique where two forms could meet. */
export function IdentityFields({ value, onChange, prefix = '' }: {
  value: IdentityDraft;
  onChange: (d: IdentityDraft) => void;
  prefix?: string;
}) {
  const set = (k: keyof IdentityDraft) => (e: { target: { value: string } }) => onChange({ ...value, [k]: e.target.value });
  const id = (name: string) => `${prefix}${name}`;
  return (
    <>
      <fieldset>
        <legend>About you (helps providers find possible matches)</legend>
        <div className="row">
          <div className="field">
            <label htmlFor={id('given-name')}>Given name</label>
            <input id={id('given-name')} autoComplete="given-name" value={value.givenName} onChange={set('givenName')} required />
          </div>
          <div className="field">
            <label htmlFor={id('family-name')}>Family name</label>
            <input id={id('family-name')} autoComplete="family-name" value={value.familyName} onChange={set('familyName')} required />
          </div>
        </div>
        <div className="row">
          <div className="field">
            <label htmlFor={id('date-of-birth')}>Date of birth (YYYY-MM-DD)</label>
            <input id={id('date-of-birth')} type="text" inputMode="numeric" placeholder="YYYY-MM-DD" pattern="\d{4}-\d{2}-\d{2}"
              value={value.dob} onChange={set('dob')} required />
          </div>
          <div className="field">
            <label htmlFor={id('postcode')}>Postcode (optional)</label>
            <input id={id('postcode')} autoComplete="postal-code" value={value.postcode} onChange={set('postcode')} />
          </div>
        </div>
        <div className="row">
          <div className="field">
            <label htmlFor={id('nino')}>National Insurance number (optional)</label>
            <input id={id('nino')} placeholder="QQ123456C" value={value.nino} onChange={set('nino')} />
          </div>
          <div className="field">
            <label htmlFor={id('email')}>Email (optional)</label>
            <input id={id('email')} type="email" autoComplete="email" value={value.email} onChange={set('email')} />
          </div>
        </div>
      </fieldset>
    </>
  );
}
