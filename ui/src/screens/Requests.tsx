import { useEffect, useState } from 'react';
import {
  approveClient, approveRequest, denyRequest, listResources, refuseClient, type ApiError, type Client, type PendingRequest, type Resource,
} from '../api';
import { ConfirmBox, ErrorMessage, Loading, Notice, PartyClaims, Screen, headingId, useFocusLater } from '../components';
import { formatTime, requesterName } from '../format';

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

/** What was shared, in the few words a receipt has room for. */
const SHARED_WORDS: Record<string, string> = {
  owner: 'pension details',
  value: 'values and estimates',
  delegate: 'acting for you',
};

/** What the owner last decided, said once its card has gone. */
interface Decided {
  text: string;
  testId: string;
}

interface Props {
  pending: PendingRequest[];
  loaded: boolean;
  error: ApiError | null;
  refresh: () => Promise<void>;
  /** Pension providers waiting for the owner to let them use this wallet. */
  waiting?: Client[];
  waitingError?: ApiError | null;
  refreshWaiting?: () => Promise<void>;
}

const NO_PROVIDERS: Client[] = [];
const nothing = async () => {};

/** How the inbox names a provider: as the official list does, else as it
 * named itself, else by its address. */
function waitingProviderName(c: Client): string {
  if (c.registry?.listed && c.registry.name) return c.registry.name;
  return c.client_name?.trim() || c.client_id;
}

export function Requests({ pending, loaded, error, refresh, waiting = NO_PROVIDERS, waitingError = null, refreshWaiting = nothing }: Props) {
  const [resources, setResources] = useState<Resource[]>([]);
  // Requests whose decision failed stay on screen with their error, even once
  // they have left the pending list (e.g. expired), until dismissed.
  const [failed, setFailed] = useState<Record<string, { request: PendingRequest; error: ApiError }>>({});
  useEffect(() => {
    listResources().then(setResources, () => setResources([]));
    void refresh();
    void refreshWaiting();
  }, [refresh, refreshWaiting]);
  /** What the owner last decided, said once its card is gone; focus goes there. */
  const [decided, setDecided] = useState<Decided | null>(null);
  const said = (testId: string) => (text: string) => setDecided({ text, testId });

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
    <Screen name="requests" title="Requests"
      actions={<button type="button" onClick={() => { void refresh(); void refreshWaiting(); }}>Refresh</button>}>
      <ErrorMessage error={error} />
      <ErrorMessage error={waitingError} testId="providers-waiting-error" />
      {decided && <Notice testId={decided.testId} focusKey={decided}>{decided.text}</Notice>}
      {waiting.length > 0 && (
        <section aria-labelledby="h-providers-waiting" data-testid="providers-waiting">
          <h2 id="h-providers-waiting">Pension providers waiting for your answer</h2>
          <p className="muted">
            A pension provider asks before it lets your wallet decide who sees the pensions it holds for you. Only let in a provider you expected.
          </p>
          {waiting.map((c) => (
            <ProviderCard key={c.client_id} client={c} refreshWaiting={refreshWaiting} onDecided={said('provider-decided')} />
          ))}
        </section>
      )}
      {!loaded ? (
        <Loading />
      ) : cards.length === 0 ? (
        waiting.length === 0 ? (
          <p className="empty" data-testid="requests-empty">
            No one is waiting for an answer. When an app or adviser asks to see one of your pensions, the request appears here.
          </p>
        ) : (
          <p className="muted" data-testid="requests-none">No app or person is asking to see your pensions.</p>
        )
      ) : (
        cards.map(({ request, gone: isGone }) => (
          <RequestCard key={request.id} request={request} resources={resources} refresh={refresh} gone={isGone}
            error={failed[request.id]?.error ?? null} onFailed={onFailed} onDismiss={dismiss} onDecided={said('request-decided')} />
        ))
      )}
    </Screen>
  );
}

/** A pension provider asking to use this wallet to protect the owner's pensions with it. */
function ProviderCard({ client, refreshWaiting, onDecided }: {
  client: Client;
  refreshWaiting: () => Promise<void>;
  onDecided: (said: string) => void;
}) {
  const [busy, setBusy] = useState<'approve' | 'refuse' | null>(null);
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const focusLater = useFocusLater();
  const name = waitingProviderName(client);
  const listed = client.registry?.listed === true;

  async function decide(approve: boolean) {
    setError(null);
    setBusy(approve ? 'approve' : 'refuse');
    try {
      if (approve) await approveClient(client.client_id);
      else await refuseClient(client.client_id);
      onDecided(approve
        ? `You let ${name} use your wallet. Your rules in Sharing now decide who sees your pensions with them.`
        : `You refused ${name}. It cannot use your wallet for your pensions.`);
      await refreshWaiting();
    } catch (e) {
      // The card stays, with what went wrong; Refresh shows whether it still waits.
      setError(e as ApiError);
    } finally {
      setBusy(null);
      setConfirming(false);
    }
  }

  const idp = `provider-${client.client_id.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  const goBack = () => { setConfirming(false); focusLater(`${idp}-refuse`); };
  return (
    <article className="card provider-waiting" data-testid="provider-waiting" data-client-id={client.client_id} aria-labelledby={`${idp}-h`}>
      <h3 id={`${idp}-h`}>{name} asks to use your wallet to look after who sees your pensions with them</h3>
      {listed ? (
        <p className="small" data-testid="provider-listed">
          <span className="tag tag-ok">On the official list</span> {client.registry.status ?? 'Listed in the governance registry.'}
        </p>
      ) : (
        <p className="muted small" data-testid="provider-unverified">
          This name is the provider’s own: it is not on the official list, so your wallet could not check who it is.
        </p>
      )}
      <p>
        If you let them, {name} checks with your wallet each time someone wants to see one of your pensions with them, and your
        wallet answers by your rules in Sharing, or asks you here. If you refuse, {name} cannot use your wallet; this app cannot undo that.
      </p>
      <p className="muted small">Asked {formatTime(client.created_at)}.</p>
      <details className="small">
        <summary>Technical details</summary>
        <p className="mono">Address: {client.client_id}</p>
      </details>
      <ErrorMessage error={error} testId="provider-error" />
      {confirming ? (
        <ConfirmBox labelledBy={`${idp}-confirm`}>
          <p id={`${idp}-confirm`}><strong>Refuse {name}?</strong> It will not be able to use your wallet for your pensions, and this app cannot undo it.</p>
          <div className="buttons">
            <button type="button" className="danger" data-testid="provider-refuse-confirm" onClick={() => decide(false)} disabled={busy !== null}>
              {busy === 'refuse' ? 'Refusing…' : `Yes, refuse ${name}`}
            </button>
            <button type="button" data-testid="provider-refuse-cancel" onClick={goBack} disabled={busy !== null}>
              Go back
            </button>
          </div>
        </ConfirmBox>
      ) : (
        <div className="buttons">
          <button type="button" className="primary" data-testid="provider-approve" onClick={() => decide(true)} disabled={busy !== null}>
            {busy === 'approve' ? 'Letting them in…' : `Let ${name} use my wallet`}
          </button>
          <button type="button" className="danger" id={`${idp}-refuse`} data-testid="provider-refuse" onClick={() => { setError(null); setConfirming(true); }} disabled={busy !== null}>
            Refuse
          </button>
        </div>
      )}
    </article>
  );
}

/** The card that had focus is gone: the screen's heading takes it. */
const focusHeading = () => requestAnimationFrame(() => document.getElementById(headingId('requests'))?.focus());

interface CardProps {
  request: PendingRequest;
  resources: Resource[];
  refresh: () => Promise<void>;
  gone: boolean;
  error: ApiError | null;
  onFailed: (r: PendingRequest, e: ApiError) => void;
  onDismiss: (id: string) => void;
  /** Says what the owner decided, where the card was. */
  onDecided: (text: string) => void;
}

function RequestCard({ request, resources, refresh, gone, error: failure, onFailed, onDismiss, onDecided }: CardProps) {
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
      const what = permissions.map((p) => {
        const pension = resources.find((r) => r.id === p.resource_id)?.description ?? 'a pension';
        return `${pension} (${p.resource_scopes.map((s) => SHARED_WORDS[s] ?? s).join(', ')})`;
      }).join(' and ');
      const until = approval.expires_at ? ` until ${formatTime(approval.expires_at)}` : ', with no end date';
      onDecided(`You shared ${what} with ${requesterName(request)}${until}. You can stop sharing at any time in Sharing.`);
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
      onDecided(`You denied the request from ${requesterName(request)}. They were not given access.`);
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
          <button type="button" onClick={() => { onDismiss(request.id); focusHeading(); }}>Dismiss</button>
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
