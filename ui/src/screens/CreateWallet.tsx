import { useEffect, useRef, useState, type FormEvent } from 'react';
import { appState, createWallet, listBackups, restoreBackup, type ApiError, type AppState, type BackupFile } from '../api';
import { EMPTY_IDENTITY, IdentityFields, identityProblems, toIdentity } from '../IdentityFields';
import {
  ErrorMessage, ErrorSummary, FieldError, Loading, PassphraseInput, fieldAria, fromError, problemAt, type Problem,
} from '../components';
import { formatTime } from '../format';
import { formatSize, newestFirst } from './Settings';

/** What a forgotten passphrase costs, said wherever the passphrase is chosen or asked for. */
export function ForgottenPassphrase() {
  return (
    <p className="warning-text" data-testid="forgotten-passphrase">
      <strong>If you forget your passphrase, nobody can open this wallet for you.</strong> Your pensions stay with your
      providers; you would lose your sharing choices and history in this wallet. Keep a backup.
    </p>
  );
}

/** `onCreated` is told, before `onDone`, when a new wallet was made (not
 * restored from a backup): the app then starts the first run. */
export function CreateWallet({ onDone, onCreated }: { onDone: (s: AppState, problem?: ApiError) => void; onCreated?: () => void }) {
  const [passphrase, setPassphrase] = useState('');
  const [confirm, setConfirm] = useState('');
  const [identity, setIdentity] = useState(EMPTY_IDENTITY);
  const [problems, setProblems] = useState<Problem[]>([]);
  const [busy, setBusy] = useState(false);
  const [restoring, setRestoring] = useState(false);
  const restoreButton = useRef<HTMLButtonElement>(null);
  const cameBack = useRef(false);
  useEffect(() => {
    // Back from the restore form: focus where the owner left.
    if (!restoring && cameBack.current) restoreButton.current?.focus();
  }, [restoring]);

  async function submit(e: FormEvent) {
    e.preventDefault();
    const p: Problem[] = [];
    if (passphrase.length < 8) p.push({ field: 'passphrase', message: 'The passphrase must be at least 8 characters long' });
    else if (passphrase !== confirm) p.push({ field: 'passphrase-confirm', message: 'The two passphrases do not match' });
    p.push(...identityProblems(identity));
    setProblems(p);
    if (p.length) return;
    setBusy(true);
    try {
      const created = await createWallet(passphrase, toIdentity(identity));
      onCreated?.();
      onDone(created);
    } catch (err) {
      // The wallet may exist although its server could not start: then the
      // unlock screen takes over, showing why, and the first run follows it.
      const now = await appState().catch(() => null);
      if (now?.wallet_exists) {
        onCreated?.();
        onDone(now, err as ApiError);
      }
      else setProblems([fromError(err as ApiError)]);
    } finally {
      setBusy(false);
    }
  }

  const passphraseProblem = problemAt(problems, 'passphrase');
  const confirmProblem = problemAt(problems, 'passphrase-confirm');
  return (
    <section className="screen onboarding" data-testid="screen-create" aria-labelledby="h-create">
      <h1 id="h-create">{restoring ? 'Restore your pension wallet' : 'Create your pension wallet'}</h1>
      <p>
        Your wallet keeps your pensions under your control: you decide who may see them. It is locked with a
        passphrase that only you know.
      </p>
      <ForgottenPassphrase />
      {restoring ? (
        <RestoreBackup onDone={onDone} onCancel={() => { cameBack.current = true; setRestoring(false); }} />
      ) : (
        <>
          <div className="restore-offer">
            <p>Had a pension wallet before? If you kept a backup of it, you can bring it back with everything that was in it.</p>
            <button type="button" ref={restoreButton} data-testid="restore-open" onClick={() => setRestoring(true)}>Restore from a backup</button>
          </div>
          <h2 className="create-heading">Or create a new wallet</h2>
          <form onSubmit={submit} noValidate>
            <ErrorSummary problems={problems} testId="create-error" />
            <fieldset>
              <legend>Passphrase</legend>
              <div className={`field${passphraseProblem ? ' has-error' : ''}`}>
                <label htmlFor="passphrase">Passphrase</label>
                <p className="hint" id="passphrase-hint">At least 8 characters. A few unrelated words make a strong one that is easy to remember.</p>
                <FieldError field="passphrase" message={passphraseProblem} />
                <PassphraseInput id="passphrase" autoComplete="new-password" value={passphrase} onChange={setPassphrase}
                  invalid={!!passphraseProblem} describedBy={fieldAria('passphrase', passphraseProblem, 'passphrase-hint')['aria-describedby']} />
              </div>
              <div className={`field${confirmProblem ? ' has-error' : ''}`}>
                <label htmlFor="passphrase-confirm">Repeat the passphrase</label>
                <FieldError field="passphrase-confirm" message={confirmProblem} />
                <PassphraseInput id="passphrase-confirm" autoComplete="new-password" value={confirm} onChange={setConfirm}
                  invalid={!!confirmProblem} describedBy={fieldAria('passphrase-confirm', confirmProblem)['aria-describedby']} />
              </div>
            </fieldset>
            <IdentityFields value={identity} onChange={setIdentity} problems={problems} />
            <button type="submit" className="primary" data-testid="create-wallet" disabled={busy}>
              {busy ? 'Creating…' : 'Create wallet'}
            </button>
          </form>
        </>
      )}
    </section>
  );
}

/** What a failed restore tells the owner. */
function restoreProblem(e: ApiError): ApiError {
  switch (e.kind) {
    case 'wrong_passphrase':
      return { ...e, message: 'That passphrase does not open this backup. Use the passphrase your wallet had when the backup was made: if you changed it since, that is the old one.' };
    case 'invalid_input':
      return { ...e, message: `No backup file was found there. Check where the file is and try again. (${e.message})` };
    default:
      return e;
  }
}

/** A value of the backup choice that is no listed backup: a file elsewhere. */
const ELSEWHERE = '';

/** Brings a wallet back from a backup file: one of those in the backup
 * folder, or a file elsewhere, with the passphrase it was sealed with. */
function RestoreBackup({ onDone, onCancel }: { onDone: (s: AppState, problem?: ApiError) => void; onCancel: () => void }) {
  const [backups, setBackups] = useState<BackupFile[] | null>(null);
  const [listError, setListError] = useState<ApiError | null>(null);
  const [choice, setChoice] = useState(ELSEWHERE);
  const [path, setPath] = useState('');
  const [passphrase, setPassphrase] = useState('');
  const [problems, setProblems] = useState<Problem[]>([]);
  const [busy, setBusy] = useState(false);
  const heading = useRef<HTMLHeadingElement>(null);

  useEffect(() => {
    heading.current?.focus();
    listBackups().then(
      (l) => {
        const sorted = newestFirst(l);
        setBackups(sorted);
        setChoice(sorted[0]?.path ?? ELSEWHERE);
      },
      (e) => { setListError(e as ApiError); setBackups([]); },
    );
  }, []);

  async function submit(e: FormEvent) {
    e.preventDefault();
    const file = choice === ELSEWHERE ? path.trim() : choice;
    const p: Problem[] = [];
    if (!file) p.push({ field: 'restore-path', message: backups?.length ? 'Choose a backup, or type where the backup file is.' : 'Type where the backup file is.' });
    if (!passphrase) p.push({ field: 'restore-passphrase', message: 'Enter the passphrase your wallet had when this backup was made.' });
    setProblems(p);
    if (p.length) return;
    setBusy(true);
    try {
      onDone(await restoreBackup(file, passphrase));
    } catch (err) {
      // As when creating: the wallet may be back although its server could
      // not start; then the unlock screen takes over, showing why.
      const now = await appState().catch(() => null);
      const problem = err as ApiError;
      if (now?.wallet_exists) onDone(now, problem);
      else {
        const field = problem.kind === 'wrong_passphrase' ? 'restore-passphrase' : problem.kind === 'invalid_input' && choice === ELSEWHERE ? 'restore-path' : undefined;
        setProblems([fromError(restoreProblem(problem), field)]);
      }
    } finally {
      setBusy(false);
    }
  }

  const elsewhere = choice === ELSEWHERE;
  const pathProblem = problemAt(problems, 'restore-path');
  const passphraseProblem = problemAt(problems, 'restore-passphrase');
  return (
    <form onSubmit={submit} noValidate aria-labelledby="h-restore" data-testid="restore-form">
      <h2 id="h-restore" tabIndex={-1} ref={heading}>Restore from a backup</h2>
      <ErrorSummary problems={problems} testId="restore-error" level={3} />
      <p>Your wallet comes back as it was when the backup was made, and opens.</p>
      {!backups && <Loading what="Looking for backups…" />}
      <ErrorMessage error={listError} />
      {backups && backups.length > 0 && (
        <fieldset>
          <legend>Which backup?</legend>
          {backups.map((b, i) => (
            <div className="check" key={b.path}>
              <input type="radio" name="restore-choice" id={`restore-backup-${i}`} data-testid="restore-backup" value={b.path}
                checked={choice === b.path} onChange={() => setChoice(b.path)} />
              <label htmlFor={`restore-backup-${i}`}>
                Made {formatTime(b.made_at)}, {formatSize(b.bytes)}{i === 0 ? ' (the newest)' : ''}
              </label>
            </div>
          ))}
          <div className="check">
            <input type="radio" name="restore-choice" id="restore-elsewhere" value={ELSEWHERE}
              checked={elsewhere} onChange={() => setChoice(ELSEWHERE)} />
            <label htmlFor="restore-elsewhere">A backup file somewhere else</label>
          </div>
        </fieldset>
      )}
      {backups && backups.length === 0 && (
        <p data-testid="restore-none-found">
          No backups were found in this wallet’s backup folder. If you have a backup file somewhere else, for example on a
          USB stick, type where it is.
        </p>
      )}
      {backups && elsewhere && (
        <div className={`field${pathProblem ? ' has-error' : ''}`}>
          <label htmlFor="restore-path">Where the backup file is (its full path)</label>
          <p className="hint" id="restore-path-hint">For example, a file on a USB stick: /Volumes/USB/wallet-backup.json</p>
          <FieldError field="restore-path" message={pathProblem} />
          <input id="restore-path" data-testid="restore-path" className="mono" spellCheck={false} autoComplete="off"
            {...fieldAria('restore-path', pathProblem, 'restore-path-hint')} value={path} onChange={(e) => setPath(e.target.value)} />
        </div>
      )}
      <div className={`field${passphraseProblem ? ' has-error' : ''}`}>
        <label htmlFor="restore-passphrase">The passphrase your wallet had when this backup was made</label>
        <FieldError field="restore-passphrase" message={passphraseProblem} />
        <PassphraseInput id="restore-passphrase" testId="restore-passphrase" autoComplete="current-password" value={passphrase}
          onChange={setPassphrase} invalid={!!passphraseProblem} describedBy={fieldAria('restore-passphrase', passphraseProblem)['aria-describedby']} />
      </div>
      {busy && <Loading what="Restoring your wallet. This can take a moment…" />}
      <div className="buttons">
        <button type="submit" className="primary" data-testid="restore-submit" disabled={busy || !backups}>
          {busy ? 'Restoring…' : 'Restore my wallet'}
        </button>
        <button type="button" onClick={onCancel} disabled={busy}>Create a new wallet instead</button>
      </div>
    </form>
  );
}
