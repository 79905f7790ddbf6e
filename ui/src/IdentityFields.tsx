import type { Identity } from './api';
import {
  DateInput, FieldError, NO_DATE, dateProblem, dateProblemAt, fieldAria, isoToParts, partsToIso, problemAt,
  type DateParts, type Problem,
} from './components';

/** The identity details the owner types: used when creating the wallet and
 * when editing in Settings. Providers take none of them as checked (only
 * the identity credential is): they help find possible matches. */
export interface IdentityDraft {
  givenName: string;
  familyName: string;
  dob: DateParts;
  postcode: string;
  nino: string;
  email: string;
}

export const EMPTY_IDENTITY: IdentityDraft = { givenName: '', familyName: '', dob: NO_DATE, postcode: '', nino: '', email: '' };

const compactNino = (s: string) => s.toUpperCase().replace(/\s+/g, '');

/** What is wrong with the draft, in words for the owner, each tied to its
 * field (ids carry `prefix`, as the fields do); empty when nothing. */
export function identityProblems(d: IdentityDraft, prefix = ''): Problem[] {
  const p: Problem[] = [];
  if (!d.givenName.trim()) p.push({ field: `${prefix}given-name`, message: 'Enter your first name' });
  if (!d.familyName.trim()) p.push({ field: `${prefix}family-name`, message: 'Enter your last name' });
  const dob = dateProblem(d.dob, `${prefix}date-of-birth`, { name: 'Date of birth', enter: 'Enter your date of birth', past: true });
  if (dob) p.push(dob);
  if (d.nino.trim() && !/^[A-Z]{2}\d{6}[A-D]$/.test(compactNino(d.nino))) {
    p.push({ field: `${prefix}nino`, message: 'Enter a National Insurance number in the correct format, like QQ 12 34 56 C' });
  }
  if (d.email.trim() && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(d.email.trim())) {
    p.push({ field: `${prefix}email`, message: 'Enter an email address in the correct format, like name@example.com' });
  }
  return p;
}

export function toIdentity(d: IdentityDraft): Identity {
  const opt = (s: string) => (s.trim() ? s.trim() : null);
  return {
    given_name: d.givenName.trim(),
    family_name: d.familyName.trim(),
    // The wallet keeps dates as 'YYYY-MM-DD', whatever boxes they were typed in.
    date_of_birth: partsToIso(d.dob) ?? '',
    nino: opt(d.nino) ? compactNino(d.nino) : null,
    postcode: opt(d.postcode)?.toUpperCase() ?? null,
    address_lines: [],
    email: opt(d.email),
    mobile: null,
    verified: [],
  };
}

export function fromIdentity(i: Identity): IdentityDraft {
  return {
    givenName: i.given_name, familyName: i.family_name, dob: isoToParts(i.date_of_birth), postcode: i.postcode ?? '',
    nino: i.nino ?? '', email: i.email ?? '',
  };
}

/** The fields; `prefix` keeps element ids unique where two forms could meet.
 * `problems` are those of the last attempt to save, shown at their fields. */
export function IdentityFields({ value, onChange, prefix = '', problems = [] }: {
  value: IdentityDraft;
  onChange: (d: IdentityDraft) => void;
  prefix?: string;
  problems?: readonly Problem[];
}) {
  const set = (k: Exclude<keyof IdentityDraft, 'dob'>) => (e: { target: { value: string } }) => onChange({ ...value, [k]: e.target.value });
  const id = (name: string) => `${prefix}${name}`;
  const text = (name: string, label: string, input: Record<string, unknown>, hint?: string) => {
    const field = id(name);
    const problem = problemAt(problems, field);
    const hintId = hint ? `${field}-hint` : undefined;
    return (
      <div className={`field${problem ? ' has-error' : ''}`}>
        <label htmlFor={field}>{label}</label>
        {hint && <p className="hint" id={hintId}>{hint}</p>}
        <FieldError field={field} message={problem} />
        <input id={field} {...input} {...fieldAria(field, problem, hintId)} />
      </div>
    );
  };
  return (
    <fieldset>
      <legend>About you (helps providers find possible matches)</legend>
      <div className="row">
        {text('given-name', 'First name', { autoComplete: 'given-name', spellCheck: false, value: value.givenName, onChange: set('givenName') })}
        {text('family-name', 'Last name', { autoComplete: 'family-name', spellCheck: false, value: value.familyName, onChange: set('familyName') })}
      </div>
      <DateInput id={id('date-of-birth')} legend="Date of birth" hint="For example, 27 3 1975" birthday
        value={value.dob} onChange={(dob) => onChange({ ...value, dob })} problem={dateProblemAt(problems, id('date-of-birth'))} />
      <div className="row">
        {text('postcode', 'Postcode (optional)', { autoComplete: 'postal-code', className: 'input-postcode', value: value.postcode, onChange: set('postcode') })}
        {text('nino', 'National Insurance number (optional)', { spellCheck: false, className: 'input-nino', value: value.nino, onChange: set('nino') },
          'It’s on your National Insurance card, payslip or P60. For example, QQ 12 34 56 C.')}
      </div>
      {text('email', 'Email (optional)', { type: 'email', autoComplete: 'email', spellCheck: false, value: value.email, onChange: set('email') })}
    </fieldset>
  );
}
