import { useState, type FormEvent } from 'react';
import { saveSettings, unlockWallet, type ApiError, type AppState } from '../api';
import { ErrorMessage } from '../components';

const FRIENDLY: Record<string, string> = {
  wrong_passphrase: 'That passphrase is not right. Please try again.',
  wallet_in_use: 'The wallet is already open in another window or program. Close it there, then try again.',
  wallet_corrupted: 'The wallet file appears to be damaged. Restore it from a backup.',
};

export function Unlock({ state, onDone, initialError = null, notice = null }: {
  state: AppState;
  onDone: (s: AppState) => void;
  initialError?: ApiError | null;
  notice?: string | null;
}) {
  const [passphrase, setPassphrase] = useState('');
  const [error, setError] = useState<ApiError | null>(initialError);
  const [busy, setBusy] = useState(false);
  const [listen, setListen] = useState(state.settings.listen);

  async function unlock(e: FormEvent) {
    e.preventDefault();
    setError(null);
    if (!passphrase) {
      setError({ kind: 'invalid_input', message: 'Enter your passphrase.' });
      return;
    }
    setBusy(true);
    try {
      if (error?.kind === 'port_in_use' || listen !== state.settings.listen) {
        await saveSettings({ ...state.settings, listen: listen.trim() });
      }
      onDone(await unlockWallet(passphrase));
    } catch (err) {
      setError(err as ApiError);
    } finally {
      setBusy(false);
    }
  }

  const shown = error ? { kind: error.kind, message: FRIENDLY[error.kind] ? `${FRIENDLY[error.kind]} (${error.message})` : error.message } : null;
  const portProblem = error?.kind === 'port_in_use' || listen !== state.settings.listen;

  return (
    <section className="screen onboarding" data-testid="screen-unlock" aria-labelledby="h-unlock">
      <h1 id="h-unlock">Unlock your pension wallet</h1>
      {notice && <p className="success" role="status" data-testid="unlock-notice">{notice}</p>}
      <form onSubmit={unlock} noValidate>
        <div className="field">
          <label htmlFor="unlock-passphrase">Passphrase</label>
          <input id="unlock-passphrase" type="password" autoComplete="current-password" autoFocus value={passphrase}
            onChange={(e) => setPassphrase(e.target.value)} aria-invalid={error?.kind === 'wrong_passphrase'} />
        </div>
        <ErrorMessage error={shown} testId="unlock-error" />
        {portProblem && (
          <div className="field">
            <label htmlFor="unlock-listen">Address the wallet listens on (host:port)</label>
            <input id="unlock-listen" value={listen} onChange={(e) => setListen(e.target.value)} />
            <p className="hint">Another program uses this port. Choose another, e.g. 127.0.0.1:8471, then unlock again.</p>
          </div>
        )}
        <button type="submit" className="primary" data-testid="unlock" disabled={busy}>
          {busy ? 'Unlocking…' : 'Unlock'}
        </button>
      </form>
      <p className="muted small">Wallet folder: {state.data_dir}</p>
    </section>
  );
}
