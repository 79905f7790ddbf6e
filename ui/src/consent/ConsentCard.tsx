import { useEffect, useState } from 'react';
import {
  approveRequest, denyRequest, requestPreview,
  type ApiError, type PendingRequest, type PensionPreview, type PersonStanding, type Provider, type Requester, type Resource,
} from '../api';
import { ErrorMessage, ErrorSummary, FieldError, type Problem } from '../components';
import { formatTime } from '../format';
import { CLUSTER_CONTENTS, appWords, clusterShort, clusterTitle, formatDate, hostOf, plural } from './words';
import './consent.css';

/** What the owner decided on a card: enough for the receipt to say it, and to undo a yes. */
export interface Decision {
  /** Tells one decision from the next, so the receipt takes focus again. */
  seq: number;
  kind: 'shared' | 'refused';
  requestId: string;
  clientId: string;
  partyKey: string;
  /** The app as a sentence names it ("“Family dashboard”"). */
  app: string;
  shared: { resourceId: string; pension: string; scopes: string[] }[];
  /** When access ends (Unix seconds); null for no end. */
  until: number | null;
  /** She also said "next time, without asking me": a standing rule lets the same app and person in again. */
  remembered: boolean;
}

type Length = 'once' | '30d' | '90d' | 'none';

/**
 * How long access lasts. "Just this once" still has to last long enough for
 * the app to fetch what it asked for, so it ends the next day. 30 days is
 * the default (the review: never "for ever" by default); no end is only
 * offered for a person someone the owner trusts has checked.
 */
const LENGTHS: { value: Length; seconds: number | null; label: string; button: string }[] = [
  { value: 'once', seconds: 86400, label: 'Just this once', button: 'just this once' },
  { value: '30d', seconds: 30 * 86400, label: '30 days', button: 'for 30 days' },
  { value: '90d', seconds: 90 * 86400, label: '90 days', button: 'for 90 days' },
  { value: 'none', seconds: null, label: 'No end date', button: 'with no end date' },
];

/**
 * Who is asking, from a request as the inbox lists it. A request that came
 * by an event has no `requester`: it is then treated as the riskiest case,
 * an app naming itself and a person nobody knows, never as a trusted one.
 */
export function requesterOf(r: PendingRequest): { requester: Requester; historyKnown: boolean } {
  if (r.requester) return { requester: r.requester, historyKnown: true };
  const listed = !!(r.registry?.listed && r.registry.name);
  return {
    requester: {
      app_name: listed ? r.registry!.name! : r.client_name,
      app_name_checked: listed,
      app_first_seen_at: r.created_at,
      earlier_requests: 0,
      purpose: null,
      person_purpose: null,
      person: { kind: 'unknown' },
      may_have_no_end: false,
    },
    historyKnown: false,
  };
}

const upperFirst = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
const lowerFirst = (s: string) => s.charAt(0).toLowerCase() + s.slice(1);

/** "Acme Staff DB (details, values) and Northwind (values)". */
export function sharedWords(shared: Decision['shared']): string {
  return shared.map((s) => `${s.pension} (${s.scopes.map(clusterShort).join(', ')})`).join(' and ');
}

type PreviewState = { status: 'loading' } | { status: 'failed'; error: ApiError } | { status: 'ready'; list: PensionPreview[] };

interface Props {
  request: PendingRequest;
  resources: Resource[];
  providers: Provider[];
  refresh: () => Promise<void>;
  /** The request has left the inbox (it expired, or was decided elsewhere) after a decision failed. */
  gone: boolean;
  error: ApiError | null;
  onFailed: (r: PendingRequest, e: ApiError) => void;
  onDismiss: (id: string) => void;
  onDecided: (d: Omit<Decision, 'seq'>) => void;
}

/**
 * The approval moment: who is asking (and how far anyone vouches for
 * them), why, exactly what each pension would release, for how long, and
 * two answers of equal weight. Nothing is ticked for the owner: a
 * pre-ticked box is not consent.
 */
export function ConsentCard({ request, resources, providers, refresh, gone, error: failure, onFailed, onDismiss, onDecided }: Props) {
  const { requester, historyKnown } = requesterOf(request);
  const [ticked, setTicked] = useState<Set<string>>(() => new Set());
  const [length, setLength] = useState<Length>('30d');
  /** "Next time, without asking me": unticked until she ticks it, and never for a person nobody checked. */
  const [remember, setRemember] = useState(false);
  const [busy, setBusy] = useState<'approve' | 'deny' | null>(null);
  const [problems, setProblems] = useState<Problem[]>([]);
  const [preview, setPreview] = useState<PreviewState>({ status: 'loading' });

  // What the providers would show, read as soon as the card opens: the
  // owner should see her own figures before she decides, not after.
  useEffect(() => {
    let live = true;
    setPreview({ status: 'loading' });
    requestPreview(request.id).then(
      (list) => { if (live) setPreview({ status: 'ready', list }); },
      (e) => { if (live) setPreview({ status: 'failed', error: e as ApiError }); },
    );
    return () => { live = false; };
  }, [request.id]);

  const idp = `req-${request.id}`;
  const key = (resourceId: string, scope: string) => `${resourceId}|${scope}`;
  const boxId = (resourceId: string, scope: string) => `${idp}-${resourceId}-${scope}`;
  const firstBox = request.permissions.flatMap((p) => p.resource_scopes.map((s) => boxId(p.resource_id, s)))[0];
  const app = appWords(requester.app_name, requester.app_name_checked);
  const offered = LENGTHS.filter((l) => l.value !== 'none' || requester.may_have_no_end);
  const chosen = offered.find((l) => l.value === length) ?? offered[1];
  const until = (from: number) => (chosen.seconds === null ? null : from + chosen.seconds);
  const nowSeconds = Math.floor(Date.now() / 1000);
  const count = ticked.size;
  const remembering = requester.may_have_no_end && remember;

  const pensionName = (resourceId: string) => {
    const fromPreview = preview.status === 'ready' ? preview.list.find((p) => p.resource_id === resourceId)?.scheme : null;
    return fromPreview ?? resources.find((r) => r.id === resourceId)?.description ?? 'A pension';
  };
  const providerName = (address: string) => providers.find((p) => p.url === address)?.name?.trim() || null;

  /** What would be shared, pension by pension, in the order asked. */
  const chosenShare = () => request.permissions
    .map((p) => ({ resourceId: p.resource_id, pension: pensionName(p.resource_id), scopes: p.resource_scopes.filter((s) => ticked.has(key(p.resource_id, s))) }))
    .filter((p) => p.scopes.length > 0);

  function toggle(k: string) {
    setTicked((t) => {
      const n = new Set(t);
      if (n.has(k)) n.delete(k);
      else n.add(k);
      return n;
    });
    setProblems((p) => (p.length ? [] : p));
  }

  const setError = (e: ApiError) => {
    // A failure of the decision itself outlives the card (the request may have expired meanwhile).
    if (e.kind === 'invalid_input') setProblems([{ message: e.message }]);
    else onFailed(request, e);
  };

  async function approve() {
    const shared = chosenShare();
    if (shared.length === 0) {
      setProblems([{ field: firstBox, message: 'Tick at least one thing to share, or choose “Don’t share”.' }]);
      return;
    }
    setProblems([]);
    onDismiss(request.id);
    const expiresAt = until(Math.floor(Date.now() / 1000));
    const permissions = shared.map((s) => ({ resource_id: s.resourceId, resource_scopes: s.scopes }));
    setBusy('approve');
    try {
      // `remember` is true only when she ticked it; the box is never shown for a person nobody checked.
      await approveRequest(request.id, expiresAt === null ? { permissions, remember: remembering } : { permissions, expires_at: expiresAt, remember: remembering });
      onDecided({ kind: 'shared', requestId: request.id, clientId: request.client_id, partyKey: request.party_key, app, shared, until: expiresAt, remembered: remembering });
      await refresh();
    } catch (e) {
      setError(e as ApiError);
      setBusy(null);
      await refresh();
    }
  }

  async function deny() {
    setProblems([]);
    onDismiss(request.id);
    setBusy('deny');
    try {
      await denyRequest(request.id);
      onDecided({ kind: 'refused', requestId: request.id, clientId: request.client_id, partyKey: request.party_key, app, shared: [], until: null, remembered: false });
      await refresh();
    } catch (e) {
      setError(e as ApiError);
      setBusy(null);
      await refresh();
    }
  }

  const pensions = request.permissions.length;
  const heading = `${requester.app_name_checked ? requester.app_name : `An app calling itself “${requester.app_name || 'unnamed'}”`} wants to see ${pensions === 1 ? 'your pension' : `${pensions} of your pensions`}`;
  const shareLabel = count === 0 ? `Share ${chosen.button}` : `Share ${plural(count, 'item')} ${chosen.button}`;
  const share = count > 0 ? chosenShare() : [];
  const boxProblem = problems.find((p) => p.field === firstBox)?.message;

  return (
    <article className="card request consent" data-testid="request-card" data-request-id={request.id} aria-labelledby={`${idp}-h`}>
      {/* tabIndex -1: a link to this request puts focus here. */}
      <h2 id={`${idp}-h`} tabIndex={-1}>{heading}</h2>
      <ErrorSummary problems={problems} testId="consent-problems" level={3} />

      <section aria-labelledby={`${idp}-who`} className="consent-section">
        <h3 id={`${idp}-who`}>Who is asking</h3>
        {requester.app_name_checked ? (
          <p data-testid="app-verified">
            <span className="tag tag-ok">✓ Listed in the pensions register</span>{' '}
            {request.registry?.status ?? 'The register vouches for this app’s name.'}
          </p>
        ) : (
          <p data-testid="name-unverified">
            <span className="tag tag-warn">Name not checked</span>{' '}
            The app chose this name itself. It is not in the pensions register, so nobody has checked who is behind it.
            {request.registry?.claims_to_be ? ` It says it is “${request.registry.claims_to_be}” on the register, but the register does not vouch for it.` : ''}
          </p>
        )}
        {historyKnown && (
          <p className="small" data-testid="app-history">
            {requester.earlier_requests === 0
              ? `New app · first asked ${formatDate(requester.app_first_seen_at)}`
              : `Has asked ${requester.earlier_requests === 1 ? 'once' : requester.earlier_requests === 2 ? 'twice' : `${requester.earlier_requests} times`} before · first seen ${formatDate(requester.app_first_seen_at)}`}
          </p>
        )}
        <PersonPanel person={requester.person} />
        <p className="muted small">Asked {formatTime(request.created_at)}.</p>
      </section>

      <section aria-labelledby={`${idp}-why`} className="consent-section">
        <h3 id={`${idp}-why`}>Why</h3>
        <p data-testid="request-purpose">
          {requester.purpose?.trim()
            ? <>“{requester.purpose.trim()}” <span className="muted">(stated by the app)</span></>
            : <span className="muted">The app did not say why.</span>}
        </p>
        {requester.person_purpose?.trim() && (
          <p data-testid="request-person-purpose">
            “{requester.person_purpose.trim()}” <span className="muted">(typed by the person asking, not checked)</span>
          </p>
        )}
      </section>

      <section aria-labelledby={`${idp}-what`} className="consent-section">
        <h3 id={`${idp}-what`}>What they’ll see</h3>
        <p className="hint">Tick each thing you agree to share. Nothing is ticked for you.</p>
        {preview.status === 'loading' && (
          <p className="muted" role="status" data-testid="preview-loading">Asking your providers what they would show…</p>
        )}
        {preview.status === 'failed' && (
          <p className="warning" data-testid="preview-failed">
            We could not ask your providers just now, so your own figures are not shown. You can still decide from the descriptions below.
          </p>
        )}
        <FieldError field={firstBox} message={boxProblem} />
        {request.permissions.map((p) => {
          const res = resources.find((r) => r.id === p.resource_id);
          const pv = preview.status === 'ready' ? preview.list.find((x) => x.resource_id === p.resource_id) : undefined;
          const provider = res ? providerName(res.resource_server) : null;
          return (
            <fieldset key={p.resource_id} className={`consent-pension${boxProblem ? ' has-error' : ''}`} data-testid="consent-pension" data-resource-id={p.resource_id}>
              <legend>{pensionName(p.resource_id)}{provider && <span className="consent-provider"> · {provider}</span>}</legend>
              {pv?.error && <p className="warning" data-testid="preview-error">{pv.error} You can still decide from the descriptions below.</p>}
              {p.resource_scopes.map((s) => {
                const sp = pv && !pv.error ? pv.scopes.find((x) => x.scope === s) : undefined;
                const items = sp && sp.items.length > 0 ? sp.items : null;
                const title = sp?.title ?? clusterTitle(s);
                const id = boxId(p.resource_id, s);
                const contents = items
                  ? upperFirst(items.map((i) => lowerFirst(i.label)).join(', '))
                  : upperFirst(CLUSTER_CONTENTS[s] ?? 'what the provider keeps under this name');
                return (
                  <div className="consent-scope" key={s}>
                    <div className="check">
                      <input type="checkbox" id={id} data-testid="share-scope" data-scope={s} data-resource-id={p.resource_id}
                        checked={ticked.has(key(p.resource_id, s))} onChange={() => toggle(key(p.resource_id, s))}
                        aria-describedby={`${id}-hint`} aria-invalid={boxProblem && id === firstBox ? true : undefined} />
                      <label htmlFor={id}>{title}</label>
                    </div>
                    <p className="hint consent-contents" id={`${id}-hint`} data-testid="scope-contents">{contents}</p>
                    {items && (
                      <details className="consent-preview" data-testid="scope-preview">
                        <summary>See exactly what they’ll see<span className="sr-only">: {title}</span></summary>
                        <dl className="consent-values">
                          {items.map((i, n) => <div key={`${i.label}-${n}`}><dt>{i.label}</dt><dd>{i.value}</dd></div>)}
                        </dl>
                      </details>
                    )}
                  </div>
                );
              })}
              <details className="small">
                <summary>Technical details<span className="sr-only">: {pensionName(p.resource_id)}</span></summary>
                <p className="mono">Pension: {res?.name ?? p.resource_id}</p>
                <p className="mono">Resource id: {p.resource_id}</p>
                <p className="mono">Scopes asked: {p.resource_scopes.join(' ')}</p>
              </details>
            </fieldset>
          );
        })}
      </section>

      <fieldset className="consent-length" data-testid="request-expiry">
        <legend>How long they can see it</legend>
        {offered.map((l) => {
          const id = `${idp}-length-${l.value}`;
          const ends = l.seconds === null ? 'until you stop it' : l.value === 'once' ? `ends tomorrow, ${formatDate(nowSeconds + l.seconds)}` : `until ${formatDate(nowSeconds + l.seconds)}`;
          return (
            <div className="check" key={l.value}>
              <input type="radio" id={id} name={`${idp}-length`} data-testid={`expiry-${l.value}`} value={l.value}
                checked={chosen.value === l.value} onChange={() => setLength(l.value)} />
              <label htmlFor={id}>{l.label} <span className="muted">({ends})</span></label>
            </div>
          );
        })}
        {!requester.may_have_no_end && (
          <p className="hint" data-testid="no-end-withheld">No end date is only offered for a person whose identity has been checked.</p>
        )}
      </fieldset>

      {/* Only for a person someone she trusts has checked: a rule for an app
          alone would let in anyone using that app. Never ticked for her. */}
      {requester.may_have_no_end && (
        <div className="consent-remember" data-testid="remember">
          <div className="check">
            <input type="checkbox" id={`${idp}-remember`} data-testid="remember-app" checked={remember}
              onChange={(e) => setRemember(e.target.checked)} aria-describedby={`${idp}-remember-hint`} />
            <label htmlFor={`${idp}-remember`}>Next time, let {app} see this without asking me</label>
          </div>
          <p className="hint" id={`${idp}-remember-hint`} data-testid="remember-hint">
            Only for the same person using the same app: they would see the same things, for the same length of time, each time they ask. You can stop this at any time in Sharing.
          </p>
        </div>
      )}

      <p className="consent-keep">They may keep a copy of what they have already seen. You can stop access at any time in Sharing.</p>
      <p className="consent-check" id={`${idp}-check`} data-testid="consent-summary">
        {share.length === 0
          ? 'Nothing is ticked, so nothing would be shared.'
          : `If you share: ${app} will see ${sharedWords(share)} ${until(nowSeconds) === null ? 'with no end date' : `until ${formatDate(until(nowSeconds)!)}`}.`
            + (remembering ? ' Next time, they will not need to ask you: they get the same again, for the same length of time.' : '')}
      </p>

      <ErrorMessage error={failure} testId="request-error" />
      {gone ? (
        <div className="buttons">
          <p className="muted">This request is no longer waiting for an answer.</p>
          <button type="button" data-testid="request-dismiss" onClick={() => onDismiss(request.id)}>Dismiss</button>
        </div>
      ) : (
        <>
          <div className="buttons consent-buttons">
            <button type="button" className="consent-choice" data-testid="deny-request" onClick={deny} disabled={busy !== null}>
              {busy === 'deny' ? 'Saying no…' : 'Don’t share'}
            </button>
            {/* aria-disabled, not disabled: the button stays where keyboard and
                screen reader users can find it and hear why it will not share. */}
            <button type="button" className="consent-choice" data-testid="approve-request" onClick={approve} disabled={busy !== null}
              aria-disabled={count === 0 ? true : undefined} aria-describedby={count === 0 ? `${idp}-reason` : `${idp}-check`}>
              {busy === 'approve' ? 'Sharing…' : shareLabel}
            </button>
          </div>
          {count === 0 && <p className="hint" id={`${idp}-reason`} data-testid="approve-reason">Tick at least one thing above to share it.</p>}
        </>
      )}
    </article>
  );
}

/**
 * The person behind the request, coloured by how far anyone vouches for
 * them: green when someone the owner trusts checked them, amber when they
 * only typed their details, amber with a plain warning when nothing at all
 * is known.
 */
function PersonPanel({ person }: { person: PersonStanding }) {
  if (person.kind === 'verified') {
    const who = person.name ?? person.email ?? 'A person';
    return (
      <div className="consent-person consent-person-ok" data-testid="person-verified">
        <p>
          <span className="tag tag-ok">✓ Identity checked</span> <strong>{who}</strong>
          {person.name && person.email ? ` (${person.email})` : ''}
        </p>
        {person.vouched_as && <p>{person.vouched_as}</p>}
        <p className="small">Checked by {person.checked_by ? hostOf(person.checked_by) : 'a service you trust'}.</p>
      </div>
    );
  }
  if (person.kind === 'stated') {
    const who = [person.name, person.email].filter(Boolean).join(', ');
    return (
      <div className="consent-person consent-person-warn" data-testid="person-stated">
        <p>
          <span className="tag tag-warn">Not checked</span> The person says they are <strong>{who || 'someone'}</strong>.
        </p>
        <p className="small">Typed by the requester, not checked.</p>
      </div>
    );
  }
  return (
    <div className="consent-person consent-person-warn" data-testid="person-unknown">
      <p><strong>We can’t tell who this is.</strong> Only continue if you started this yourself just now.</p>
    </div>
  );
}
