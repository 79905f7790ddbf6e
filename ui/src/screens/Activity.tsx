import { useCallback, useEffect, useState } from 'react';
import { listAudit, verifyAudit, type ApiError, type AuditEntry, type AuditVerify } from '../api';
import { ErrorMessage, Loading, Screen } from '../components';
import { formatTime, shortId } from '../format';

const LIMIT = 200;

const ACTIONS: Record<string, string> = {
  'token.request_submitted': 'Access requested',
  'token.rpt_issued': 'Access token issued',
  'token.request_denied': 'Access refused',
  'client.registered': 'App registered',
  'pending.approve': 'You approved a request',
  'pending.deny': 'You denied a request',
  'identity.disclosed': 'Your details were sent to providers',
  'identity.credential.receive': 'You proved who you are',
  'identity.credential.delete': 'You deleted your proof of identity',
  'registry.import': 'Official list imported',
  'registry.key': 'Official list key set',
  'grant.revoke': 'You withdrew access',
};

const ITEM_WORDS: Record<string, string> = {
  name: 'name', date_of_birth: 'date of birth', nino: 'National Insurance number', address: 'postcode', email: 'email', mobile: 'mobile',
  given_name: 'given name', family_name: 'family name', birthdate: 'date of birth', postal_code: 'postcode',
  national_insurance_number: 'National Insurance number',
};

/** What a find told whom: the providers, what the owner stated, and what
 * her identity credential attested (only those claims). */
function disclosure(detail: Record<string, unknown>): string {
  const words = (list: unknown) => (Array.isArray(list) ? list.map((i) => ITEM_WORDS[String(i)] ?? String(i)).join(', ') : '');
  const to = Array.isArray(detail.to) ? detail.to.map(String) : [];
  const attested = detail.attested as { claims?: unknown } | null | undefined;
  const parts = [`to ${to.length === 1 ? to[0] : `${to.length} providers (${to.join(', ')})`}`];
  const stated = words(detail.items);
  if (stated) parts.push(`as you typed them: ${stated}`);
  if (attested?.claims) parts.push(`from your proof of identity: ${words(attested.claims)}`);
  return parts.join(' · ');
}

function summarise(action: string, detail: Record<string, unknown>): string {
  if (action === 'identity.disclosed') return disclosure(detail ?? {});
  const parts: string[] = [];
  for (const [k, v] of Object.entries(detail ?? {})) {
    if (v === null || v === undefined) continue;
    if (k === 'permissions' && Array.isArray(v)) {
      const scopes = v.flatMap((p) => (p && typeof p === 'object' && Array.isArray((p as { resource_scopes?: unknown }).resource_scopes) ? (p as { resource_scopes: string[] }).resource_scopes : []));
      parts.push(`scopes: ${[...new Set(scopes)].join(', ') || '—'}`);
    } else if (typeof v === 'string') {
      parts.push(`${k.replace(/_/g, ' ')}: ${/^[0-9a-f]{24,}$/.test(v) ? shortId(v) : v}`);
    } else if (typeof v === 'number' || typeof v === 'boolean') {
      parts.push(`${k.replace(/_/g, ' ')}: ${v}`);
    } else if (k === 'decision' && typeof v === 'object') {
      const d = v as Record<string, unknown>;
      if (typeof d.status === 'string') parts.push(`decision: ${d.status}`);
    }
  }
  return parts.join(' · ');
}

export function Activity() {
  const [entries, setEntries] = useState<AuditEntry[] | null>(null);
  const [check, setCheck] = useState<AuditVerify | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [checkError, setCheckError] = useState<ApiError | null>(null);

  const load = useCallback(() => {
    setError(null);
    setCheckError(null);
    listAudit(LIMIT).then(setEntries, (e) => setError(e as ApiError));
    verifyAudit().then(setCheck, (e) => setCheckError(e as ApiError));
  }, []);
  useEffect(load, [load]);

  return (
    <Screen name="activity" title="Activity" actions={<button type="button" onClick={load}>Refresh</button>}>
      <div data-testid="audit-status" className="audit-status">
        {checkError ? (
          <ErrorMessage error={checkError} />
        ) : !check ? (
          <Loading what="Checking the activity log…" />
        ) : check.intact ? (
          <p className="success" role="status">The activity log is intact: all {check.entries} entries are chained and unchanged.</p>
        ) : (
          <p className="error" role="alert">
            The activity log has been tampered with or damaged: the chain is broken at entry {check.broken_at} ({check.reason}).
          </p>
        )}
      </div>
      <ErrorMessage error={error} />
      {entries && entries.length === 0 && <p className="empty">Nothing has happened yet.</p>}
      {!entries && !error && <Loading />}
      {entries && entries.length > 0 && (
        <table className="table">
          <thead>
            <tr><th scope="col">#</th><th scope="col">When</th><th scope="col">What</th><th scope="col">Who</th><th scope="col">Details</th></tr>
          </thead>
          <tbody>
            {entries.map((e) => (
              <tr key={e.seq} data-testid="audit-row">
                <td>{e.seq}</td>
                <td className="nowrap">{formatTime(e.at)}</td>
                <td>{ACTIONS[e.action] ?? e.action}<div className="muted small mono">{e.action}</div></td>
                <td className="mono small">{e.actor.startsWith('client:') ? `app ${shortId(e.actor.slice(7))}` : e.actor}</td>
                <td className="small">{summarise(e.action, (e.detail ?? {}) as Record<string, unknown>)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {entries && entries.length === LIMIT && <p className="muted small">Showing the latest {LIMIT} entries.</p>}
    </Screen>
  );
}
