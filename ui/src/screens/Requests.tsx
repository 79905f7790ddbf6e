import { useCallback, useEffect, useRef, useState } from 'react';
import {
  approveClient, listClients, listGrants, listPolicies, listProviders, listResources, refuseClient, revokeGrant,
  type ApiError, type Client, type Grant, type PendingRequest, type Policy, type Provider, type Resource,
} from '../api';
import { ConfirmBox, ErrorMessage, Loading, Notice, Screen, headingId, useFocusLater } from '../components';
import { formatTime } from '../format';
import { ConsentCard, type Decision } from '../consent/ConsentCard';
import { DecisionReceipt } from '../consent/DecisionReceipt';
import { appLabeller, capital, clusterShort, formatClock, formatDate, partyWords } from '../consent/words';

/** What the owner last decided about a provider, said once its card has gone. */
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
  /** Opens the Sharing screen, for the receipt's "See Sharing". */
  onGoto?: (screen: 'sharing') => void;
  /** A request a link opened the inbox on (`seq` tells one opening from the next). */
  linked?: { id: string; seq: number } | null;
}

const NO_PROVIDERS: Client[] = [];
const nothing = async () => {};

/** How the inbox names a provider: as the official list does, else as it
 * named itself, else by its address. */
function waitingProviderName(c: Client): string {
  if (c.registry?.listed && c.registry.name) return c.registry.name;
  return c.client_name?.trim() || c.client_id;
}

/**
 * Sharing, opened the way the owner would: by the app when it passes a way
 * to, else by the sidebar's own Sharing button, so that the screen change
 * (and its focus on the heading) is the one every other route takes.
 */
function openSharing(onGoto?: (screen: 'sharing') => void) {
  if (onGoto) onGoto('sharing');
  else document.querySelector<HTMLButtonElement>('[data-testid="nav-sharing"]')?.click();
}

/** How far ahead the inbox reminds the owner of access about to end. */
export const ENDING_SOON_DAYS = 7;

/** What the inbox needs to say whose access ends soon, and on what. */
interface SharingNow {
  grants: Grant[];
  clients: Client[];
  policies: Policy[];
}

/** Access in force that ends on its own within the next week, soonest first. */
export function endingSoon(grants: readonly Grant[], now: number): Grant[] {
  const horizon = now + ENDING_SOON_DAYS * 86400;
  return grants
    .filter((g) => g.active && g.revoked_at == null && g.expires_at != null && g.expires_at > now && g.expires_at <= horizon)
    .sort((a, b) => a.expires_at! - b.expires_at! || a.id.localeCompare(b.id));
}

export function Requests({ pending, loaded, error, refresh, waiting = NO_PROVIDERS, waitingError = null, refreshWaiting = nothing, onGoto, linked = null }: Props) {
  const [resources, setResources] = useState<Resource[]>([]);
  const [providers, setProviders] = useState<Provider[]>([]);
  /** Who can see what now, for the reminder of access about to end; null until read (or when it could not be). */
  const [sharing, setSharing] = useState<SharingNow | null>(null);
  // Requests whose decision failed stay on screen with their error, even once
  // they have left the pending list (e.g. expired), until dismissed.
  const [failed, setFailed] = useState<Record<string, { request: PendingRequest; error: ApiError }>>({});
  useEffect(() => {
    listResources().then(setResources, () => setResources([]));
    // Only names, for the consent card: without them it names no provider.
    listProviders().then(setProviders, () => setProviders([]));
    void refresh();
    void refreshWaiting();
  }, [refresh, refreshWaiting]);
  // Read once when the inbox opens, and again on Refresh or after access is
  // stopped here: not on every request that arrives.
  const loadSharing = useCallback(async () => {
    try {
      const [grants, clients, policies] = await Promise.all([
        listGrants(), listClients(),
        // Only to tell whether a rule lets them in again: without it, the reminder says they will ask.
        listPolicies().catch(() => [] as Policy[]),
      ]);
      setSharing({ grants, clients, policies });
    } catch {
      // A reminder that cannot be read is left out; Sharing says what went wrong.
      setSharing(null);
    }
  }, []);
  useEffect(() => { void loadSharing(); }, [loadSharing]);
  /** What the owner last decided about a provider; focus goes there. */
  const [decided, setDecided] = useState<Decided | null>(null);
  /** What the owner last decided about a request: the receipt, which takes focus. */
  const [decision, setDecision] = useState<Decision | null>(null);
  const seq = useRef(0);
  const focusLater = useFocusLater();
  const said = (testId: string) => (text: string) => { setDecision(null); setDecided({ text, testId }); };
  const onDecided = useCallback((d: Omit<Decision, 'seq'>) => {
    seq.current += 1;
    setDecided(null);
    setDecision({ ...d, seq: seq.current });
  }, []);

  const onFailed = (request: PendingRequest, err: ApiError) => setFailed((f) => ({ ...f, [request.id]: { request, error: err } }));
  const dismiss = (id: string) => setFailed((f) => {
    if (!(id in f)) return f;
    const n = { ...f };
    delete n[id];
    return n;
  });
  const pendingIds = new Set(pending.map((r) => r.id));
  /** The linked request is no longer waiting: said instead of showing it. */
  const [linkedGone, setLinkedGone] = useState<number | null>(null);
  const shownLink = useRef<number | null>(null);
  useEffect(() => {
    if (!linked || !loaded || shownLink.current === linked.seq) return;
    shownLink.current = linked.seq;
    if (!pending.some((r) => r.id === linked.id)) {
      setLinkedGone(linked.seq);
      return;
    }
    setLinkedGone(null);
    // After the screen's own focus on its heading, which a new screen takes.
    window.setTimeout(() => {
      const heading = document.getElementById(`req-${linked.id}-h`);
      heading?.scrollIntoView?.({ block: 'start' });
      heading?.focus();
    }, 0);
  }, [linked, loaded, pending]);
  const gone = Object.values(failed).filter((f) => !pendingIds.has(f.request.id));
  const cards = [
    ...pending.map((r) => ({ request: r, gone: false })),
    ...gone.map((f) => ({ request: f.request, gone: true })),
  ];
  // A dismissed card had focus: the screen's heading takes it.
  const dismissGone = (id: string) => { dismiss(id); focusLater(headingId('requests')); };

  return (
    <Screen name="requests" title="Requests"
      actions={<button type="button" onClick={() => { void refresh(); void refreshWaiting(); void loadSharing(); }}>Refresh</button>}>
      <ErrorMessage error={error} />
      <ErrorMessage error={waitingError} testId="providers-waiting-error" />
      {linkedGone !== null && linkedGone === linked?.seq && (
        <Notice testId="linked-request-gone" tone="warning" focusKey={linkedGone}>
          The request you opened is no longer waiting for you: it was answered, withdrawn or ran out of time. Activity shows what happened to it.
        </Notice>
      )}
      {decided && <Notice testId={decided.testId} focusKey={decided}>{decided.text}</Notice>}
      {decision && <DecisionReceipt key={decision.seq} decision={decision} onSeeSharing={() => openSharing(onGoto)} onStopped={() => { void loadSharing(); }} />}
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
          <ConsentCard key={request.id} request={request} resources={resources} providers={providers} refresh={refresh} gone={isGone}
            error={failed[request.id]?.error ?? null} onFailed={onFailed} onDismiss={isGone ? dismissGone : dismiss} onDecided={onDecided} />
        ))
      )}
      {sharing && <EndingSoon sharing={sharing} resources={resources} reload={loadSharing} onStopped={said('ending-soon-done')} />}
    </Screen>
  );
}

/**
 * "Access ending soon": each grant that ends on its own within the week, in
 * one sentence, so that the end never comes as a surprise, with a way to
 * end it now. Nothing at all when nothing ends soon.
 */
function EndingSoon({ sharing, resources, reload, onStopped }: {
  sharing: SharingNow;
  resources: Resource[];
  reload: () => Promise<void>;
  onStopped: (said: string) => void;
}) {
  const [busy, setBusy] = useState<string | null>(null);
  const [failure, setFailure] = useState<{ id: string; error: ApiError } | null>(null);
  const soon = endingSoon(sharing.grants, Math.floor(Date.now() / 1000));
  if (soon.length === 0) return null;
  const appLabel = appLabeller(sharing.clients);
  const pensionName = (id: string) => resources.find((r) => r.id === id)?.description ?? 'one of your pensions';
  /** A rule lets them in again without asking: the one that gave this access, or one she left by "next time, without asking". */
  const ruleLetsBackIn = (g: Grant) => sharing.policies.some((p) => p.outcome === 'permit' && (
    g.source.kind === 'policy'
      ? p.id === g.source.policy_id
      : p.party.client_id === g.client_id
        && (p.target.kind === 'resource' ? p.target.id === g.resource_id : resources.some((r) => r.id === g.resource_id && r.resource_server === p.target.id))));

  async function stop(g: Grant, app: string, pension: string) {
    setBusy(g.id);
    setFailure(null);
    try {
      await revokeGrant(g.id);
      // Said before the reload takes the line away, so that focus lands on what happened.
      onStopped(`You stopped ${app} seeing ${pension}. They can no longer see it, but may keep a copy of what they had already seen.`);
      await reload();
    } catch (e) {
      setFailure({ id: g.id, error: e as ApiError });
    } finally {
      setBusy(null);
    }
  }

  return (
    <section aria-labelledby="h-ending-soon" data-testid="ending-soon" className="ending-soon">
      <h2 id="h-ending-soon">Access ending soon</h2>
      <p className="muted">You don’t need to do anything: this access ends on its own in the next {ENDING_SOON_DAYS} days.</p>
      <ul className="rows">
        {soon.map((g) => {
          const app = appLabel(g.client_id);
          const person = partyWords(g.party);
          const who = person ? `${capital(person)}, using ${app},` : capital(app);
          const pension = pensionName(g.resource_id);
          const what = g.scopes.length ? ` (${g.scopes.map(clusterShort).join(', ')})` : '';
          const until = `${formatDate(g.expires_at!)} at ${formatClock(g.expires_at!)}`;
          const next = ruleLetsBackIn(g)
            ? 'one of your rules in Sharing lets them see it again without asking you'
            : 'if they need longer, they will have to ask you again';
          const sid = `ending-${g.id}`;
          return (
            <li key={g.id} data-testid="ending-soon-item" data-grant-id={g.id}>
              <div>
                <p id={sid}>{who} can see {pension}{what} until {until}, when it stops on its own; {next}.</p>
                {failure?.id === g.id && <ErrorMessage error={`Sharing was not stopped: ${failure.error.message}`} testId="ending-soon-error" />}
              </div>
              <button type="button" className="danger" data-testid="ending-soon-stop" aria-describedby={sid} disabled={busy === g.id}
                onClick={() => stop(g, app, pension)}>
                {busy === g.id ? 'Stopping…' : 'Stop sharing now'}
              </button>
            </li>
          );
        })}
      </ul>
    </section>
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
