import { useCallback, useEffect, useRef, useState } from 'react';
import {
  deleteCredential, exportCredentials, listCredentials, showCredential, verifyCredential, walletDid,
  type ApiError, type Credential, type CredentialCheck,
} from '../api';
import { ErrorMessage, Loading, Notice, useFocusLater } from '../components';
import { formatTime } from '../format';
import { formatClock, formatDate } from '../consent/words';
import '../consent/consent.css';

const STATUS_LABELS: Record<string, string> = {
  active: 'Current',
  superseded: 'Replaced by a newer proof',
};

/**
 * The records providers gave the wallet of the pensions it protects, as
 * they are: a section of Settings, under Advanced. The owner sees what
 * they mean on each pension in My pensions ("Proof this pension is
 * protected"); here are the wallet's public name, checking a record
 * again, its every field, saving a copy of them all, and deleting one.
 */
export function Credentials() {
  const [list, setList] = useState<Credential[] | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [selected, setSelected] = useState<string | null>(null);
  const [confirming, setConfirming] = useState<string | null>(null);
  const [deleting, setDeleting] = useState(false);
  const [deleteError, setDeleteError] = useState<ApiError | null>(null);
  const [deleted, setDeleted] = useState<string | null>(null);
  const focusLater = useFocusLater();

  const load = useCallback(() => listCredentials().then((l) => { setList(l); setError(null); }, (e) => setError(e as ApiError)), []);
  useEffect(() => { void load(); }, [load]);

  function askDelete(id: string) {
    setConfirming(confirming === id ? null : id);
    setDeleteError(null);
    setDeleted(null);
  }

  async function confirmDelete(c: Credential) {
    setDeleting(true);
    setDeleteError(null);
    try {
      await deleteCredential(c.id);
      setConfirming(null);
      if (selected === c.id) setSelected(null);
      setDeleted(c.scheme);
      await load();
    } catch (e) {
      setDeleteError(e as ApiError);
    } finally {
      setDeleting(false);
    }
  }

  return (
    <section className="card credential-records" aria-labelledby="h-credentials" data-testid="settings-credentials">
      <h2 id="h-credentials">Records of your pensions (technical)</h2>
      <p>
        When you protect a pension with this wallet, its provider gives your wallet a signed record of it: the proof shown on each
        pension in My pensions. Your wallet checks each record when it arrives. Here you can check one again, see it in full,
        save a copy of them all, or delete one.
      </p>
      {deleted && <Notice testId="credential-deleted">The record of {deleted} has been deleted from this wallet.</Notice>}
      {error ? <ErrorMessage error={error} /> : !list ? <Loading /> : list.length === 0 ? (
        <p className="empty">No records yet. You receive one when you protect a pension on the Find pensions screen.</p>
      ) : (
        <>
          <ul className="rows proof-list">
            {list.map((c) => (
              <li key={c.id} data-testid="credential-row" className={selected === c.id ? 'selected' : undefined}>
                <div className="proof">
                  <h3 className="proof-scheme" id={`proof-${c.id}`}>{c.scheme}</h3>
                  <ProofLine credential={c} />
                  {confirming === c.id && (
                    <ConfirmDelete credential={c} busy={deleting} error={deleteError}
                      onConfirm={() => void confirmDelete(c)} onCancel={() => { setConfirming(null); setDeleteError(null); focusLater(`credential-delete-${c.id}`); }} />
                  )}
                  {selected === c.id && <CredentialDetail key={c.id} id={c.id} scheme={c.scheme} />}
                </div>
                <div className="row-actions">
                  <button type="button" onClick={() => setSelected(selected === c.id ? null : c.id)} aria-expanded={selected === c.id}
                    data-testid="credential-details" aria-describedby={`proof-${c.id}`}>
                    {selected === c.id ? 'Hide technical details' : 'Technical details'}
                  </button>
                  <button type="button" className="danger" id={`credential-delete-${c.id}`} onClick={() => askDelete(c.id)} aria-expanded={confirming === c.id}
                    data-testid="credential-delete" aria-label={`Delete the record of ${c.scheme}`}>
                    Delete
                  </button>
                </div>
              </li>
            ))}
          </ul>
          <ExportAll />
        </>
      )}
      <WalletName />
    </section>
  );
}

/**
 * "Proof this pension is protected: ✓ checked 21 Dec 2026". The wallet
 * checked the proof's signature when it arrived (it refuses one that does
 * not check out), so that is the date until the owner checks again here.
 */
function ProofLine({ credential: c }: { credential: Credential }) {
  const [check, setCheck] = useState<{ at: number; result: CredentialCheck } | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);

  async function again() {
    setBusy(true);
    setError(null);
    try {
      setCheck({ at: Math.floor(Date.now() / 1000), result: await verifyCredential(c.id) });
    } catch (e) {
      setError(e as ApiError);
    } finally {
      setBusy(false);
    }
  }

  const replaced = c.status !== 'active';
  return (
    <>
      <p className="proof-line" data-testid="proof-status">
        {replaced ? (
          <><span className="tag tag-anon">{STATUS_LABELS[c.status] ?? 'No longer current'}</span> Received {formatDate(c.received_at)}.</>
        ) : check && !check.result.verified ? (
          <span className="error-text">✗ This proof did not check out{check.result.reason ? `: ${check.result.reason}` : '.'}</span>
        ) : (
          <>Proof this pension is protected: <span className="tag tag-ok">✓ checked {formatDate(check?.at ?? c.received_at)}</span></>
        )}
      </p>
      <div className="buttons">
        <button type="button" onClick={again} disabled={busy} data-testid="credential-check" aria-describedby={`proof-${c.id}`}>
          {busy ? 'Checking…' : 'Check again'}
        </button>
        <span role="status" className="small" data-testid="credential-check-result">
          {check ? (check.result.verified ? `Checked just now, at ${formatClock(check.at)}.` : 'Checked just now: it did not check out.') : ''}
        </span>
      </div>
      <ErrorMessage error={error && `The proof could not be checked just now: ${error.message}`} />
    </>
  );
}

/** Asks before a record is deleted: what goes, what stays. */
function ConfirmDelete({ credential, busy, error, onConfirm, onCancel }: {
  credential: Credential; busy: boolean; error: ApiError | null; onConfirm: () => void; onCancel: () => void;
}) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => { ref.current?.focus(); }, []);
  const headingId = `confirm-delete-${credential.id}`;
  return (
    <div className="confirm" role="group" aria-labelledby={headingId} tabIndex={-1} ref={ref} data-testid="credential-delete-confirmation">
      <p id={headingId}><strong>Delete the record of {credential.scheme}?</strong></p>
      <p>
        This removes the provider's signed record from this wallet. The pension itself stays protected by your wallet, but
        you will no longer have this record to show. You cannot undo this.
      </p>
      <ErrorMessage error={error && `The record was not deleted: ${error.message}`} />
      <div className="buttons">
        <button type="button" className="danger" onClick={onConfirm} disabled={busy} data-testid="credential-delete-confirm">
          {busy ? 'Deleting…' : 'Yes, delete it'}
        </button>
        <button type="button" onClick={onCancel} disabled={busy}>Keep it</button>
      </div>
    </div>
  );
}

/** "Export all": a copy of every record, written to a file. */
function ExportAll() {
  const [busy, setBusy] = useState(false);
  const [path, setPath] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | null>(null);

  async function run() {
    setBusy(true);
    setPath(null);
    setError(null);
    try {
      setPath((await exportCredentials()).path);
    } catch (e) {
      setError(e as ApiError);
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="export">
      <div className="buttons">
        <button type="button" onClick={run} disabled={busy} data-testid="credentials-export">
          {busy ? 'Exporting…' : 'Export all'}
        </button>
        <p className="hint">Saves a copy of all these records in one file, for example to give to an adviser.</p>
      </div>
      {path && (
        <p className="success" role="status" data-testid="credentials-exported">
          Saved a copy of all your records to <span className="mono">{path}</span>
        </p>
      )}
      <ErrorMessage error={error && `The records were not exported: ${error.message}`} />
    </div>
  );
}

/** The wallet's own public identifier, to copy. */
function WalletName() {
  const [did, setDid] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [copied, setCopied] = useState<'yes' | 'failed' | null>(null);

  useEffect(() => {
    walletDid().then((d) => setDid(d.did), (e) => setError(e as ApiError));
  }, []);

  async function copy() {
    if (!did) return;
    setCopied(null);
    try {
      await navigator.clipboard.writeText(did);
      setCopied('yes');
    } catch {
      setCopied('failed');
    }
  }

  return (
    <section className="subform wallet-name" aria-labelledby="h-wallet-name">
      <h3 id="h-wallet-name">Your wallet's public name</h3>
      <p>
        Providers write it into the records they give you, so anyone can check those records are yours. It is safe to share.
      </p>
      {error ? (
        <ErrorMessage error={`Your wallet's public name could not be shown: ${error.message}`} />
      ) : !did ? (
        <Loading />
      ) : (
        <div className="copy-row">
          <code className="mono" data-testid="wallet-did">{did}</code>
          <button type="button" onClick={copy} data-testid="wallet-did-copy" aria-label="Copy your wallet's public name">Copy</button>
          <span role="status" className="small">
            {copied === 'yes' ? 'Copied' : null}
          </span>
        </div>
      )}
      {copied === 'failed' && <p className="error" role="alert">Could not copy. Select the name above and copy it yourself.</p>}
    </section>
  );
}

/** The proof as it is: every field, the signed content and the token, for whoever needs them (an adviser, support). */
function CredentialDetail({ id, scheme }: { id: string; scheme: string }) {
  const [detail, setDetail] = useState<Record<string, unknown> | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [verify, setVerify] = useState<CredentialCheck | null>(null);
  const [verifyError, setVerifyError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    showCredential(id).then(setDetail, (e) => setError(e as ApiError));
  }, [id]);

  async function runVerify() {
    setBusy(true);
    setVerify(null);
    setVerifyError(null);
    try {
      setVerify(await verifyCredential(id));
    } catch (e) {
      setVerifyError(e as ApiError);
    } finally {
      setBusy(false);
    }
  }

  const { jwt, claims, ...rest } = (detail ?? {}) as Record<string, unknown>;
  return (
    <section className="card" aria-labelledby={`detail-${id}`} data-testid="credential-detail">
      <h4 id={`detail-${id}`}>Technical details of the proof for {scheme}</h4>
      <ErrorMessage error={error} />
      {!detail && !error && <Loading />}
      {detail && (
        <>
          <dl className="facts wide">
            {Object.entries(rest).map(([k, v]) => (
              <div key={k}><dt>{k.replace(/_/g, ' ')}</dt><dd className="mono">{k.endsWith('_at') && typeof v === 'number' ? formatTime(v) : typeof v === 'string' ? v : JSON.stringify(v)}</dd></div>
            ))}
          </dl>
          {claims !== undefined && (
            <details>
              <summary>Signed content</summary>
              <pre className="code">{JSON.stringify(claims, null, 2)}</pre>
            </details>
          )}
          {typeof jwt === 'string' && (
            <details>
              <summary>Raw token</summary>
              <pre className="code wrap">{jwt}</pre>
            </details>
          )}
        </>
      )}
      <div className="buttons">
        <button type="button" className="primary" onClick={runVerify} disabled={busy} data-testid="verify-credential">
          {busy ? 'Checking…' : 'Verify'}
        </button>
      </div>
      {verify && (verify.verified ? (
        <p className="success" role="status" data-testid="verify-result">The signature is valid: this credential was issued by its provider and has not been changed.</p>
      ) : (
        <p className="error" role="alert" data-testid="verify-result">This credential did not verify{verify.reason ? `: ${verify.reason}` : '.'}</p>
      ))}
      <ErrorMessage error={verifyError} />
    </section>
  );
}
