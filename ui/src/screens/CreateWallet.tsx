import { useState, type FormEvent } from 'react';
import { appState, createWallet, type ApiError, type AppState, type Identity, type VerifiedField } from '../api';
import { ErrorMessage } from '../components';

const VERIFIABLE: { field: VerifiedField; label: string }[] = [
  { field: 'name', label: 'Name' },
  { field: 'date_of_birth', label: 'Date of birth' },
  { field: 'address', label: 'Address (postcode)' },
  { field: 'nino', label: 'National Insurance number' },
  { field: 'email', label: 'Email' },
];

const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;

function validDate(s: string): boolean {
  if (!DATE_RE.test(s)) return false;
  const d = new Date(`${s}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s;
}

export function CreateWallet({ onDone }: { onDone: (s: AppState, problem?: ApiError) => void }) {
  const [passphrase, setPassphrase] = useState('');
  const [confirm, setConfirm] = useState('');
  const [givenName, setGivenName] = useState('');
  const [familyName, setFamilyName] = useState('');
  const [dob, setDob] = useState('');
  const [postcode, setPostcode] = useState('');
  const [nino, setNino] = useState('');
  const [email, setEmail] = useState('');
  const [verified, setVerified] = useState<VerifiedField[]>([]);
  const [problems, setProblems] = useState<string[]>([]);
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);

  function toggle(field: VerifiedField) {
    setVerified((v) => (v.includes(field) ? v.filter((f) => f !== field) : [...v, field]));
  }

  async function submit(e: FormEvent) {
    e.preventDefault();
    setError(null);
    const p: string[] = [];
    if (passphrase.length < 8) p.push('The passphrase must be at least 8 characters long.');
    else if (passphrase !== confirm) p.push('The two passphrases do not match.');
    if (!givenName.trim()) p.push('Enter your given name.');
    if (!familyName.trim()) p.push('Enter your family name.');
    if (!validDate(dob.trim())) p.push('Enter your date of birth as YYYY-MM-DD, for example 1975-04-12.');
    setProblems(p);
    if (p.length) return;
    const opt = (s: string) => (s.trim() ? s.trim() : null);
    const identity: Identity = {
      given_name: givenName.trim(),
      family_name: familyName.trim(),
      date_of_birth: dob.trim(),
      nino: opt(nino)?.toUpperCase().replace(/\s+/g, '') ?? null,
      postcode: opt(postcode)?.toUpperCase() ?? null,
      address_lines: [],
      email: opt(email),
      mobile: null,
      verified: VERIFIABLE.map((v) => v.field).filter((f) => verified.includes(f)),
    };
    setBusy(true);
    try {
      onDone(await createWallet(passphrase, identity));
    } catch (err) {
      // The wallet may exist although its server could not start: then the
      // unlock screen takes over, showing why.
      const now = await appState().catch(() => null);
      if (now?.wallet_exists) onDone(now, err as ApiError);
      else setError(err as ApiError);
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="screen onboarding" data-testid="screen-create" aria-labelledby="h-create">
      <h1 id="h-create">Create your pension wallet</h1>
      <p>
        Your wallet keeps your pensions under your control: you decide who may see them. It is locked with a
        passphrase that only you know — it cannot be recovered, so keep it safe.
      </p>
      <form onSubmit={submit} noValidate>
        <fieldset>
          <legend>Passphrase</legend>
          <div className="field">
            <label htmlFor="passphrase">Passphrase (at least 8 characters)</label>
            <input id="passphrase" type="password" autoComplete="new-password" value={passphrase}
              onChange={(e) => setPassphrase(e.target.value)} required minLength={8} />
          </div>
          <div className="field">
            <label htmlFor="passphrase-confirm">Repeat the passphrase</label>
            <input id="passphrase-confirm" type="password" autoComplete="new-password" value={confirm}
              onChange={(e) => setConfirm(e.target.value)} required />
          </div>
        </fieldset>
        <fieldset>
          <legend>About you (used to find your pensions)</legend>
          <div className="row">
            <div className="field">
              <label htmlFor="given-name">Given name</label>
              <input id="given-name" autoComplete="given-name" value={givenName} onChange={(e) => setGivenName(e.target.value)} required />
            </div>
            <div className="field">
              <label htmlFor="family-name">Family name</label>
              <input id="family-name" autoComplete="family-name" value={familyName} onChange={(e) => setFamilyName(e.target.value)} required />
            </div>
          </div>
          <div className="row">
            <div className="field">
              <label htmlFor="date-of-birth">Date of birth (YYYY-MM-DD)</label>
              <input id="date-of-birth" type="text" inputMode="numeric" placeholder="YYYY-MM-DD" pattern="\d{4}-\d{2}-\d{2}"
                value={dob} onChange={(e) => setDob(e.target.value)} required />
            </div>
            <div className="field">
              <label htmlFor="postcode">Postcode (optional)</label>
              <input id="postcode" autoComplete="postal-code" value={postcode} onChange={(e) => setPostcode(e.target.value)} />
            </div>
          </div>
          <div className="row">
            <div className="field">
              <label htmlFor="nino">National Insurance number (optional)</label>
              <input id="nino" placeholder="QQ123456C" value={nino} onChange={(e) => setNino(e.target.value)} />
            </div>
            <div className="field">
              <label htmlFor="email">Email (optional)</label>
              <input id="email" type="email" autoComplete="email" value={email} onChange={(e) => setEmail(e.target.value)} />
            </div>
          </div>
        </fieldset>
        <fieldset>
          <legend>Which of these details have been verified (for example by an identity check)?</legend>
          <div className="checks">
            {VERIFIABLE.map(({ field, label }) => (
              <div className="check" key={field}>
                <input id={`verified-${field}`} type="checkbox" checked={verified.includes(field)} onChange={() => toggle(field)} />
                <label htmlFor={`verified-${field}`}>{label}</label>
              </div>
            ))}
          </div>
        </fieldset>
        {problems.length > 0 && (
          <div className="error" role="alert">
            <ul>{problems.map((p) => <li key={p}>{p}</li>)}</ul>
          </div>
        )}
        <ErrorMessage error={error} />
        <button type="submit" className="primary" data-testid="create-wallet" disabled={busy}>
          {busy ? 'Creating…' : 'Create wallet'}
        </button>
      </form>
    </section>
  );
}
