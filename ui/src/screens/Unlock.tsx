import { useState, type FormEvent } from 'react';
import { saveSettings, unlockWallet, type ApiError, type AppState } from '../api';
import { ErrorSummary, FieldError, PassphraseInput, fieldAria, problemAt, type Problem } from '../components';
import { ForgottenPassphrase } from './CreateWallet';

/** The wallet's own words for these are technical; the owner reads one plain sentence instead. */
const FRIENDLY: Record<string, string> = {
  wrong_passphrase: 'That passphrase is not right. Check it and try again.',
  wallet_in_use: 'The wallet is already open in another window or program. Close it there, then try again.',
  wallet_corrupted: 'The wallet file appears to be damaged. Restore it from a backup.',
  older_copy: 'Your wallet was not opened: its records are older than when you last used it, or it was copied here from somewhere else. An old copy put back would bring back access you have since stopped.',
  safety_record_unavailable: 'Your wallet could not be opened: the safety record it keeps outside its folder cannot be saved. Your wallet itself is fine. Check that your computer’s disk is not full, then try again.',
  port_in_use: 'Your wallet could not start: another program on this computer is using its connection point. It is often the wallet itself, still open in another window. Close it there and try again.',
};

/** A failed unlock as the owner reads it, tied to the field it is about. */
function problemOf(error: ApiError): Problem {
  const message = FRIENDLY[error.kind] ?? error.message;
  if (error.kind === 'wrong_passphrase') return { field: 'unlock-passphrase', message };
  return { message };
}

export function Unlock({ state, onDone, initialError = null, notice = null }: {
  state: AppState;
  onDone: (s: AppState) => void;
  initialError?: ApiError | null;
  notice?: string | null;
}) {
  const [passphrase, setPassphrase] = useState('');
  const [error, setError] = useState<ApiError | null>(initialError);
  const [problems, setProblems] = useState<Problem[]>(() => (initialError ? [problemOf(initialError)] : []));
  const [busy, setBusy] = useState(false);
  const [listen, setListen] = useState(state.settings.listen);

  async function unlock(e: FormEvent, acceptOlderCopy = false) {
    e.preventDefault();
    if (!passphrase) {
      setProblems([{ field: 'unlock-passphrase', message: 'Enter your passphrase' }]);
      return;
    }
    setBusy(true);
    try {
      if (error?.kind === 'port_in_use' || listen !== state.settings.listen) {
        await saveSettings({ ...state.settings, listen: listen.trim() });
      }
      onDone(await unlockWallet(passphrase, acceptOlderCopy));
    } catch (err) {
      const a = err as ApiError;
      setError(a);
      setProblems([problemOf(a)]);
    } finally {
      setBusy(false);
    }
  }

  const portProblem = error?.kind === 'port_in_use' || listen !== state.settings.listen;
  const passphraseProblem = problemAt(problems, 'unlock-passphrase');
  const listenProblem = problemAt(problems, 'unlock-listen');

  return (
    <section className="screen onboarding" data-testid="screen-unlock" aria-labelledby="h-unlock">
      <h1 id="h-unlock">Unlock your pension wallet</h1>
      {notice && <p className="success" role="status" data-testid="unlock-notice">{notice}</p>}
      <form onSubmit={unlock} noValidate>
        <ErrorSummary problems={problems} testId="unlock-error" />
        <div className={`field${passphraseProblem ? ' has-error' : ''}`}>
          <label htmlFor="unlock-passphrase">Passphrase</label>
          <FieldError field="unlock-passphrase" message={passphraseProblem} />
          <PassphraseInput id="unlock-passphrase" autoComplete="current-password" autoFocus value={passphrase} onChange={setPassphrase}
            invalid={!!passphraseProblem} describedBy={fieldAria('unlock-passphrase', passphraseProblem)['aria-describedby']} />
        </div>
        {portProblem && (
          <details className="advanced" data-testid="unlock-address" open={listen !== state.settings.listen}>
            <summary>Use a different connection point (for technical users)</summary>
            <div className={`field${listenProblem ? ' has-error' : ''}`}>
              <label htmlFor="unlock-listen">Address the wallet listens on (host:port)</label>
              <p className="hint" id="unlock-listen-hint">
                Your pension providers and the apps you share with reach your wallet at this address. If you change it, they
                will not find your wallet until they are told the new one, so try closing the other program first.
              </p>
              <FieldError field="unlock-listen" message={listenProblem} />
              <input id="unlock-listen" value={listen} onChange={(e) => setListen(e.target.value)} spellCheck={false}
                {...fieldAria('unlock-listen', listenProblem, 'unlock-listen-hint')} />
            </div>
          </details>
        )}
        <button type="submit" className="primary" data-testid="unlock" disabled={busy}>
          {busy ? 'Unlocking…' : 'Unlock'}
        </button>
        {error?.kind === 'older_copy' && (
          <section className="card" aria-labelledby="h-older-copy" data-testid="older-copy">
            <h2 id="h-older-copy">Did you copy this wallet here yourself?</h2>
            <p>
              Only if you did, from a backup drive or your old computer for example, open it anyway. Everything will be as it
              was in that copy: sharing you stopped since then may be back on, so check Sharing straight after. Opening it is
              noted in your activity.
            </p>
            <p>If you did not, do not open it: contact whoever looks after your computer.</p>
            <button type="button" data-testid="accept-older-copy" disabled={busy} onClick={(e) => unlock(e, true)}>
              I copied it here: open it
            </button>
          </section>
        )}
      </form>
      <details>
        <summary>Forgotten your passphrase?</summary>
        <ForgottenPassphrase />
      </details>
      <details>
        <summary>Technical details</summary>
        <p className="small">Wallet folder: <span className="mono">{state.data_dir}</span></p>
      </details>
    </section>
  );
}
