import { useCallback, useEffect, useId, useRef, useState, type ReactNode } from 'react';
import type { ApiError } from './api';
import { describeParty } from './format';
import type { Party } from './api';

export function ErrorMessage({ error, testId }: { error: ApiError | string | null | undefined; testId?: string }) {
  if (!error) return null;
  const message = typeof error === 'string' ? error : error.message;
  return (
    <p className="error" role="alert" data-testid={testId}>
      {message}
    </p>
  );
}

export function Loading({ what = 'Loading…' }: { what?: string }) {
  return <p className="muted" role="status">{what}</p>;
}

/** The id of a screen's heading: the app moves focus there on every change of screen. */
export const headingId = (name: string) => `h-${name}`;

export function Screen({ name, title, children, actions }: { name: string; title: string; children: ReactNode; actions?: ReactNode }) {
  return (
    <section className="screen" data-testid={`screen-${name}`} aria-labelledby={headingId(name)}>
      <header className="screen-head">
        {/* tabIndex -1: focus can be put here (a new screen, an action that
            removed what had focus) without adding a stop to the Tab order. */}
        <h1 id={headingId(name)} tabIndex={-1}>{title}</h1>
        {actions && <div className="screen-actions">{actions}</div>}
      </header>
      {children}
    </section>
  );
}

/**
 * Focuses an element by id once React has drawn the next change. For when
 * what had focus is about to go (a confirmation closing, a row removed):
 * without it, keyboard and screen reader users are dropped at the top of
 * the page.
 */
export function useFocusLater(): (id: string) => void {
  const next = useRef<string | null>(null);
  const [, redraw] = useState(0);
  useEffect(() => {
    if (!next.current) return;
    const el = document.getElementById(next.current);
    next.current = null;
    el?.focus();
  });
  return useCallback((id: string) => {
    next.current = id;
    redraw((n) => n + 1);
  }, []);
}

/**
 * What came of an action that removed the thing acted on (a request
 * answered, access revoked, a rule removed). Focus moves here when it
 * appears, so the owner hears the outcome instead of losing her place.
 */
export function Notice({ children, testId, tone = 'success', focusKey }: {
  children: ReactNode;
  testId?: string;
  tone?: 'success' | 'warning';
  /** Focus again whenever this changes (the same notice saying something new). */
  focusKey?: unknown;
}) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => { ref.current?.focus(); }, [focusKey]);
  return (
    <div className={`${tone} notice`} role="status" tabIndex={-1} ref={ref} data-testid={testId}>
      {children}
    </div>
  );
}

/** A question that replaced the button the owner pressed (are you sure?):
 * it takes focus, which otherwise would have nowhere to be. */
export function ConfirmBox({ label, labelledBy, testId, children }: { label?: string; labelledBy?: string; testId?: string; children: ReactNode }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => { ref.current?.focus(); }, []);
  return (
    <div className="confirm" role="group" aria-label={label} aria-labelledby={labelledBy} data-testid={testId} tabIndex={-1} ref={ref}>
      {children}
    </div>
  );
}

// ----- Form errors, the GOV.UK way: a summary on top, a message at each field -----

export type DatePart = 'day' | 'month' | 'year';

/** One thing wrong with what the owner typed. */
export interface Problem {
  /** The id of the element to go to (the field, or a date's first wrong box); none for a problem with no field. */
  field?: string;
  message: string;
  /** For a date: the id it was given (its day box) and which boxes are wrong. */
  date?: { id: string; parts: DatePart[] };
}

export const errorId = (field: string) => `${field}-error`;

/** The message of the problem at a field, if any. */
export const problemAt = (problems: readonly Problem[], field: string) => problems.find((p) => p.field === field)?.message;

/** What ties a field to its hint and its error message. */
export function fieldAria(field: string, problem: string | null | undefined, ...hints: (string | false | null | undefined)[]) {
  const ids = [...hints.filter((h): h is string => !!h), ...(problem ? [errorId(field)] : [])];
  return {
    'aria-invalid': problem ? true : undefined,
    'aria-describedby': ids.length ? ids.join(' ') : undefined,
  } as const;
}

/** The message under a field's label; its id is what `fieldAria` points the field to. */
export function FieldError({ field, message }: { field: string; message: string | null | undefined }) {
  if (!message) return null;
  return (
    <p className="error-message" id={errorId(field)}>
      <span className="sr-only">Error:</span> {message}
    </p>
  );
}

function goTo(field: string) {
  const el = document.getElementById(field);
  if (!el) return;
  el.focus();
  // The label and hint sit above the field: bring them into view with it.
  el.closest('.field, fieldset')?.scrollIntoView?.({ block: 'nearest' });
}

/**
 * The list of problems at the top of a form, focused when it appears (and
 * on each new attempt), each linking to its field. `problems` must keep its
 * identity between renders (state, not a fresh array): a new array is a new
 * attempt, and focus moves back here.
 */
export function ErrorSummary({ problems, testId, level = 2 }: { problems: readonly Problem[]; testId?: string; level?: 2 | 3 | 4 }) {
  const ref = useRef<HTMLDivElement>(null);
  const titleId = useId();
  useEffect(() => {
    if (problems.length) ref.current?.focus();
  }, [problems]);
  if (problems.length === 0) return null;
  const Heading = `h${level}` as const;
  return (
    <div className="error-summary" role="alert" aria-labelledby={titleId} tabIndex={-1} ref={ref} data-testid={testId}>
      <Heading className="error-summary-title" id={titleId}>There is a problem</Heading>
      <ul>
        {problems.map((p, i) => (
          <li key={`${p.field ?? ''}-${i}`}>
            {p.field ? (
              <a href={`#${p.field}`} onClick={(e) => { e.preventDefault(); goTo(p.field!); }}>{p.message}</a>
            ) : p.message}
          </li>
        ))}
      </ul>
    </div>
  );
}

/** A problem from the wallet, shown in the summary; tied to `field` when it is about that field. */
export const fromError = (e: ApiError, field?: string, message = e.message): Problem => (field ? { field, message } : { message });

// ----- Dates: three boxes, as people write them -----

export interface DateParts { day: string; month: string; year: string }
export const NO_DATE: DateParts = { day: '', month: '', year: '' };
const ALL_PARTS: DatePart[] = ['day', 'month', 'year'];

/** The ids of a date's boxes: the day box has the date's own id, so links and labels to the date land on its first box. */
export const dateBoxId = (id: string, part: DatePart) => (part === 'day' ? id : `${id}-${part}`);

/** 'YYYY-MM-DD' from the three boxes; null unless they make a real date. */
export function partsToIso(p: DateParts): string | null {
  const d = p.day.trim();
  const m = p.month.trim();
  const y = p.year.trim();
  if (!/^\d{1,2}$/.test(d) || !/^\d{1,2}$/.test(m) || !/^\d{4}$/.test(y)) return null;
  const iso = `${y}-${m.padStart(2, '0')}-${d.padStart(2, '0')}`;
  const t = new Date(`${iso}T00:00:00Z`);
  return !Number.isNaN(t.getTime()) && t.toISOString().slice(0, 10) === iso ? iso : null;
}

export function isoToParts(iso: string | null | undefined): DateParts {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso ?? '');
  return m ? { day: String(+m[3]), month: String(+m[2]), year: m[1] } : NO_DATE;
}

/** A whole date typed or pasted into one box ('1975-04-12', '12/04/1975',
 * '12 4 1975'), so that it is not refused for being in the wrong place. */
function wholeDate(text: string): DateParts | null {
  const t = text.trim();
  const iso = /^(\d{4})-(\d{2})-(\d{2})$/.exec(t);
  if (iso) return { day: String(+iso[3]), month: String(+iso[2]), year: iso[1] };
  const uk = /^(\d{1,2})[/. -](\d{1,2})[/. -](\d{4})$/.exec(t);
  return uk ? { day: uk[1], month: uk[2], year: uk[3] } : null;
}

/**
 * What is wrong with a date, worded as GOV.UK words it; null when nothing.
 * `name` starts the sentences ("Date of birth must be a real date");
 * `enter` is said when a required date is empty.
 */
export function dateProblem(p: DateParts, id: string, words: { name: string; enter?: string; past?: boolean }): Problem | null {
  const problem = (message: string, parts: DatePart[]): Problem => ({ field: dateBoxId(id, parts[0]), message, date: { id, parts } });
  const missing = ALL_PARTS.filter((k) => !p[k].trim());
  if (missing.length === 3) return words.enter ? problem(words.enter, ALL_PARTS) : null;
  if (missing.length) return problem(`${words.name} must include a ${missing.join(' and a ')}`, missing);
  const bad: DatePart[] = [];
  const d = p.day.trim();
  const m = p.month.trim();
  if (!/^\d{1,2}$/.test(d) || +d < 1 || +d > 31) bad.push('day');
  if (!/^\d{1,2}$/.test(m) || +m < 1 || +m > 12) bad.push('month');
  if (!/^\d{4}$/.test(p.year.trim())) bad.push('year');
  if (bad.length === 1 && bad[0] === 'year') return problem('Year must include 4 numbers', ['year']);
  const iso = partsToIso(p);
  if (!iso) return problem(`${words.name} must be a real date`, bad.length ? bad : ALL_PARTS);
  if (words.past && iso >= new Date().toISOString().slice(0, 10)) return problem(`${words.name} must be in the past`, ALL_PARTS);
  return null;
}

/** The problem of the date with this id, if any. */
export const dateProblemAt = (problems: readonly Problem[], id: string) => problems.find((p) => p.date?.id === id) ?? null;

/**
 * The GOV.UK date input: Day, Month and Year boxes in a fieldset, with the
 * hint under the legend. `id` is the day box's (month and year add
 * `-month` and `-year`); `testId` likewise.
 */
export function DateInput({ id, legend, hint, value, onChange, problem, testId, birthday = false }: {
  id: string;
  legend: ReactNode;
  hint: string;
  value: DateParts;
  onChange: (p: DateParts) => void;
  problem?: Problem | null;
  testId?: string;
  /** Lets the browser offer the owner's own date of birth. */
  birthday?: boolean;
}) {
  const hintId = `${id}-hint`;
  const wrong = problem?.date?.parts ?? [];
  const boxes: { part: DatePart; label: string; wide: boolean }[] = [
    { part: 'day', label: 'Day', wide: false },
    { part: 'month', label: 'Month', wide: false },
    { part: 'year', label: 'Year', wide: true },
  ];
  return (
    <fieldset className={`date-input${problem ? ' has-error' : ''}`} role="group"
      aria-describedby={problem ? `${hintId} ${errorId(id)}` : hintId}>
      <legend>{legend}</legend>
      <p className="hint" id={hintId}>{hint}</p>
      <FieldError field={id} message={problem?.message} />
      <div className="date-boxes">
        {boxes.map(({ part, label, wide }) => {
          const boxId = dateBoxId(id, part);
          return (
            <div className="date-box" key={part}>
              <label htmlFor={boxId}>{label}</label>
              <input id={boxId} className={wide ? 'date-year' : 'date-short'} type="text" inputMode="numeric" spellCheck={false}
                autoComplete={birthday ? `bday-${part}` : 'off'} aria-invalid={wrong.includes(part) ? true : undefined}
                data-testid={testId && (part === 'day' ? testId : `${testId}-${part}`)} value={value[part]}
                onChange={(e) => onChange(wholeDate(e.target.value) ?? { ...value, [part]: e.target.value })} />
            </div>
          );
        })}
      </div>
    </fieldset>
  );
}

// ----- Passphrases -----

/**
 * A passphrase field with a button to show what was typed: long
 * passphrases are easy to mistype unseen, and a wrong one locks the owner
 * out. The caller gives the label (for `id`).
 */
export function PassphraseInput({ id, value, onChange, autoComplete, testId, invalid, describedBy, autoFocus }: {
  id: string;
  value: string;
  onChange: (v: string) => void;
  autoComplete: 'current-password' | 'new-password';
  testId?: string;
  invalid?: boolean;
  describedBy?: string;
  autoFocus?: boolean;
}) {
  const [shown, setShown] = useState(false);
  return (
    <div className="passphrase-input">
      <input id={id} type={shown ? 'text' : 'password'} autoComplete={autoComplete} spellCheck={false} autoCapitalize="none"
        data-testid={testId} aria-invalid={invalid ? true : undefined} aria-describedby={describedBy} autoFocus={autoFocus}
        value={value} onChange={(e) => onChange(e.target.value)} />
      <button type="button" className="show-passphrase" aria-pressed={shown} aria-controls={id} data-testid={`${id}-show`}
        onClick={() => setShown((s) => !s)}>
        Show passphrase
      </button>
    </div>
  );
}

export function PartyClaims({ party }: { party: Party }) {
  const view = describeParty(party);
  if (view.kind === 'anonymous') {
    return <p className="party"><span className="tag tag-anon">Anonymous</span> The requester gave no details about who they are.</p>;
  }
  return (
    <div className="party">
      {view.verified.length > 0 && (
        <div>
          <span className="tag tag-ok">Verified</span>
          <span className="muted"> claims from a trusted identity provider</span>
          <dl className="claims">
            {view.verified.map(([k, v]) => (<div key={`v-${k}`}><dt>{k}</dt><dd>{v}</dd></div>))}
          </dl>
        </div>
      )}
      {view.selfAsserted.length > 0 && (
        <div>
          <span className="tag tag-warn">Self-asserted</span>
          <span className="muted"> typed in by the requester, not checked</span>
          <dl className="claims">
            {view.selfAsserted.map(([k, v]) => (<div key={`s-${k}`}><dt>{k}</dt><dd>{v}</dd></div>))}
          </dl>
        </div>
      )}
    </div>
  );
}
