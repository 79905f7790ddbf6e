import { useEffect, useState } from 'react';
import { listCredentials, showCredential, verifyCredential, type ApiError, type Credential } from '../api';
import { ErrorMessage, Loading, Screen } from '../components';
import { formatTime } from '../format';

export function Credentials() {
  const [list, setList] = useState<Credential[] | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [selected, setSelected] = useState<string | null>(null);

  useEffect(() => {
    listCredentials().then(setList, (e) => setError(e as ApiError));
  }, []);

  if (error) return <Screen name="credentials" title="Credentials"><ErrorMessage error={error} /></Screen>;
  if (!list) return <Screen name="credentials" title="Credentials"><Loading /></Screen>;
  return (
    <Screen name="credentials" title="Credentials">
      <p>Each provider gives your wallet a signed credential as proof that the pension is protected by this wallet.</p>
      {list.length === 0 ? (
        <p className="empty">No credentials yet. You receive one when you protect a pension on the Offers screen.</p>
      ) : (
        <table className="table">
          <thead><tr><th scope="col">Scheme</th><th scope="col">Status</th><th scope="col">Received</th><th scope="col"><span className="sr-only">Actions</span></th></tr></thead>
          <tbody>
            {list.map((c) => (
              <tr key={c.id} data-testid="credential-row" className={selected === c.id ? 'selected' : undefined}>
                <td>{c.scheme}<div className="muted small mono">{c.pei}</div></td>
                <td><span className={`tag ${c.status === 'active' ? 'tag-ok' : 'tag-anon'}`}>{c.status}</span></td>
                <td>{formatTime(c.received_at)}</td>
                <td>
                  <button type="button" onClick={() => setSelected(selected === c.id ? null : c.id)} aria-expanded={selected === c.id}
                    data-testid="credential-details">
                    {selected === c.id ? 'Hide details' : 'Details'}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {selected && <CredentialDetail key={selected} id={selected} />}
    </Screen>
  );
}

function CredentialDetail({ id }: { id: string }) {
  const [detail, setDetail] = useState<Record<string, unknown> | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [verify, setVerify] = useState<{ verified: boolean; error?: string } | null>(null);
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
    <section className="card" aria-label="Credential details" data-testid="credential-detail">
      <h2>Credential details</h2>
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
        <p className="error" role="alert" data-testid="verify-result">This credential did not verify{verify.error ? `: ${verify.error}` : '.'}</p>
      ))}
      <ErrorMessage error={verifyError} />
    </section>
  );
}
