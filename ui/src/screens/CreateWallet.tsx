import { useState, type FormEvent } from 'react';
import { appState, createWallet, type ApiError, type AppState } from '../api';
import { EMPTY_IDENTITY, IdentityFields, identityProblems, toIdentity } from '../IdentityFields';
import { ErrorMessage } from '../components';

export function CreateWallet({ onDone }: { onDone: (s: AppState, problem?: ApiError) => void }) {
  const [passphrase, setPassphrase] = useState('');
  const [confirm, setConfirm] = useState('');
  const [identity, setIdentity] = useState(EMPTY_IDENTITY);
  const [problems, setProblems] = useState<string[]>([]);
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setError(null);
    const p: string[] = [];
    if (passphrase.length < 8) p.push('The passphrase must be at least 8 characters long.');
    else if (passphrase !== confirm) p.push('The two passphrases do not match.');
    p.push(...identityProblems(identity));
    setProblems(p);
    if (p.length) return;
    setBusy(true);
    try {
      onDone(await createWallet(passphrase, toIdentity(identity)));
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
        <IdentityFields value={identity} onChange={setIdentity} />
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
