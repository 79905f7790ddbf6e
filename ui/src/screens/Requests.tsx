import { useEffect, useState } from 'react';
import { approveRequest, denyRequest, listResources, type ApiError, type PendingRequest, type Resource } from '../api';
import { ErrorMessage, Loading, PartyClaims, Screen } from '../components';
import { formatTime } from '../format';

const EXPIRY: { value: string; label: string; seconds: number | null }[] = [
  { value: 'never', label: 'Never', seconds: null },
  { value: '1d', label: '1 day', seconds: 86400 },
  { value: '7d', label: '7 days', seconds: 7 * 86400 },
  { value: '30d', label: '30 days', seconds: 30 * 86400 },
];

export const SCOPE_LABELS: Record<string, string> = {
  owner: 'See who holds the pension (owner)',
  value: 'See values and estimates (value)',
  delegate: 'Act on your behalf (delegate)',
};

interface Props {
  pending: PendingRequest[];
  loaded: boolean;
  error: ApiError | null;
  refresh: () => Promise<void>;
}

export function Requests({ pending, loaded, error, refresh }: Props) {
  const [resources, setResources] = useState<Resource[]>([]);
  // Requests whose decision failed stay on screen with their error, even once
  // they have left the pending list (e.g. expired), until dismissed.
  const [failed, setFailed] = useState<Record<string, { request: PendingRequest; error: ApiError }>>({});
  useEffect(() => {
    listResources().then(setResources, () => setResources([]));
    void refresh();
  }, [refresh]);

  const onFailed = (request: PendingRequest, err: ApiError) => setFailed((f) => ({ ...f, [request.id]: { request, error: err } }));
  const dismiss = (id: string) => setFailed((f) => {
    const n = { ...f };
    delete n[id];
    return n;
  });
  const pendingIds = new Set(pending.map((r) => r.id));
  const gone = Object.values(failed).filter((f) => !pendingIds.has(f.request.id));
  const cards = [
    ...pending.map((r) => ({ request: r, gone: false })),
    ...gone.map((f) => ({ request: f.request, gone: true })),
  ];

  return (
    <Screen name="requests" title="Requests" actions={<button type="button" onClick={() => void refresh()}>Refresh</button>}>
      <ErrorMessage error={error} />
      {!loaded ? (
        <Loading />
      ) : cards.length === 0 ? (
        <p className="empty" data-testid="requests-empty">
          No one is waiting for an answer. When an app or adviser asks to see one of your pensions, the request appears here.
        </p>
      ) : (
        cards.map(({ request, gone: isGone }) => (
          <RequestCard key={request.id} request={request} resources={resources} refresh={refresh} gone={isGone}
            error={failed[request.id]?.error ?? null} onFailed={onFailed} onDismiss={dismiss} />
        ))
      )}
    </Screen>
  );
}

interface CardProps {
  request: PendingRequest;
  resources: Resource[];
  refresh: () => Promise<void>;
  gone: boolean;
  error: ApiError | null;
  onFailed: (r: PendingRequest, e: ApiError) => void;
  onDismiss: (id: string) => void;
}

function RequestCard({ request, resources, refresh, gone, error: failure, onFailed, onDismiss }: CardProps) {
  // ticked scopes, keyed `${resource_id}|${scope}`
  const [ticked, setTicked] = useState<Set<string>>(
    () => new Set(request.permissions.flatMap((p) => p.resource_scopes.map((s) => `${p.resource_id}|${s}`))),
  );
  const [expiry, setExpiry] = useState('never');
  const [busy, setBusy] = useState<'approve' | 'deny' | null>(null);
  const [localError, setLocalError] = useState<ApiError | null>(null);
  const error = localError ?? failure;
  const setError = (e: ApiError | null) => {
    setLocalError(null);
    if (e && e.kind !== 'invalid_input') onFailed(request, e);
    else setLocalError(e);
    if (!e) onDismiss(request.id);
  };

  function toggle(k: string) {
    setTicked((t) => {
      const n = new Set(t);
      if (n.has(k)) n.delete(k);
      else n.add(k);
      return n;
    });
  }

  async function approve() {
    setError(null);
    const permissions = request.permissions
      .map((p) => ({ resource_id: p.resource_id, resource_scopes: p.resource_scopes.filter((s) => ticked.has(`${p.resource_id}|${s}`)) }))
      .filter((p) => p.resource_scopes.length > 0);
    if (permissions.length === 0) {
      setError({ kind: 'invalid_input', message: 'Tick at least one thing to share, or deny the request.' });
      return;
    }
    const seconds = EXPIRY.find((e) => e.value === expiry)?.seconds ?? null;
    const approval = seconds === null ? { permissions } : { permissions, expires_at: Math.floor(Date.now() / 1000) + seconds };
    setBusy('approve');
    try {
      await approveRequest(request.id, approval);
      await refresh();
    } catch (e) {
      setError(e as ApiError);
      setBusy(null);
      await refresh();
    }
  }

  async function deny() {
    setError(null);
    setBusy('deny');
    try {
      await denyRequest(request.id);
      await refresh();
    } catch (e) {
      setError(e as ApiError);
      setBusy(null);
      await refresh();
    }
  }

  const idp = `req-${request.id}`;
  return (
    <article className="card request" data-testid="request-card" data-request-id={request.id} aria-labelledby={`${idp}-h`}>
      {request.registry?.listed ? (
        <>
          <h2 id={`${idp}-h`}>{request.registry.name} asks to see your pension</h2>
          <p className="small" data-testid="registry-listed">
            <span className="tag tag-ok">On the official list</span>{' '}
            {request.registry.status ?? 'Listed in the governance registry.'} Asked {formatTime(request.created_at)}.
          </p>
        </>
      ) : (
        <>
          <h2 id={`${idp}-h`}>An app calling itself “{request.client_name || 'unnamed'}” asks to see your pension</h2>
          <p className="muted small" data-testid="name-unverified">
            The app chose this name itself and is not on the official list; your wallet could not check who it is.
            {request.registry?.claims_to_be ? ` It says it is “${request.registry.claims_to_be}” on the list, but the list does not vouch for it.` : ''}{' '}
            Asked {formatTime(request.created_at)}.
          </p>
        </>
      )}
      <details className="small">
        <summary>Technical details</summary>
        <p className="mono">Client id: {request.client_id}</p>
      </details>
      <PartyClaims party={request.party} />
      <fieldset>
        <legend>What to share</legend>
        {request.permissions.map((p) => {
          const res = resources.find((r) => r.id === p.resource_id);
          return (
            <div key={p.resource_id} className="permission">
              <p>
                <strong>{res?.description ?? 'Unknown pension'}</strong>{' '}
                <span className="muted small mono">{res?.name ?? p.resource_id}</span>
              </p>
              {p.resource_scopes.map((s) => {
                const id = `${idp}-${p.resource_id}-${s}`;
                return (
                  <div className="check" key={s}>
                    <input type="checkbox" id={id} checked={ticked.has(`${p.resource_id}|${s}`)} onChange={() => toggle(`${p.resource_id}|${s}`)} />
                    <label htmlFor={id}>{SCOPE_LABELS[s] ?? s}</label>
                  </div>
                );
              })}
            </div>
          );
        })}
      </fieldset>
      <div className="field inline">
        <label htmlFor={`${idp}-expiry`}>Access ends after</label>
        <select id={`${idp}-expiry`} value={expiry} onChange={(e) => setExpiry(e.target.value)}>
          {EXPIRY.map((e) => <option key={e.value} value={e.value}>{e.label}</option>)}
        </select>
      </div>
      <ErrorMessage error={error} testId="request-error" />
      {gone ? (
        <div className="buttons">
          <p className="muted">This request is no longer waiting for an answer.</p>
          <button type="button" onClick={() => onDismiss(request.id)}>Dismiss</button>
        </div>
      ) : (
      <div className="buttons">
        <button type="button" className="primary" data-testid="approve-request" onClick={approve} disabled={busy !== null}>
          {busy === 'approve' ? 'Approving…' : 'Approve'}
        </button>
        <button type="button" className="danger" data-testid="deny-request" onClick={deny} disabled={busy !== null}>
          {busy === 'deny' ? 'Denying…' : 'Deny'}
        </button>
      </div>
      )}
    </article>
  );
}
