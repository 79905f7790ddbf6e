import { useCallback, useEffect, useState, type FormEvent } from 'react';
import {
  addPolicy, listClients, listGrants, listPolicies, listReceipts, listResources, removePolicy, revokeGrant,
  type ApiError, type Client, type Grant, type NewPolicy, type Outcome, type Party, type Policy, type Receipt, type Resource,
} from '../api';
import { ErrorMessage, Loading, Screen } from '../components';
import { formatTime } from '../format';
import { SCOPE_LABELS } from './Requests';

interface Data {
  resources: Resource[];
  policies: Policy[];
  grants: Grant[];
  clients: Client[];
}

const OUTCOME_LABEL: Record<Outcome, string> = { permit: 'Allow', ask: 'Ask me', deny: 'Refuse' };

export function Sharing() {
  const [data, setData] = useState<Data | null>(null);
  const [error, setError] = useState<ApiError | null>(null);

  const load = useCallback(async () => {
    try {
      const [resources, policies, grants, clients] = await Promise.all([listResources(), listPolicies(), listGrants(), listClients()]);
      setData({ resources, policies, grants, clients });
      setError(null);
    } catch (e) {
      setError(e as ApiError);
    }
  }, []);
  useEffect(() => { void load(); }, [load]);

  if (error && !data) return <Screen name="sharing" title="Sharing"><ErrorMessage error={error} /></Screen>;
  if (!data) return <Screen name="sharing" title="Sharing"><Loading /></Screen>;
  if (data.resources.length === 0) {
    return (
      <Screen name="sharing" title="Sharing">
        <p className="empty">No pensions are protected by this wallet yet. Go to Offers to find and protect them; then you can decide here who may see them.</p>
      </Screen>
    );
  }
  return (
    <Screen name="sharing" title="Sharing">
      <p>For each pension: the rules you set (who is allowed, who must ask, who is refused) and who currently has access.</p>
      {data.resources.map((r) => <ResourceSharing key={r.id} resource={r} data={data} reload={load} />)}
      <Receipts version={data.grants.filter((g) => !g.active).length} />
    </Screen>
  );
}

/** The owner's consent receipts: each approval she gave, in words, with the
 * signed credential the wallet issued for it under Technical details. */
function Receipts({ version }: { version: number }) {
  const [receipts, setReceipts] = useState<Receipt[] | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  useEffect(() => {
    listReceipts().then(setReceipts, (e) => setError(e as ApiError));
  }, [version]);
  if (error) return <ErrorMessage error={error} />;
  if (!receipts || receipts.length === 0) return null;
  return (
    <section className="card" aria-labelledby="h-receipts" data-testid="receipts">
      <h2 id="h-receipts">Your receipts</h2>
      <p>A record of each time you said yes: who may see what, and until when. Each is signed by your wallet, so it can be shown to anyone.</p>
      <ul className="rows">
        {receipts.map((r) => (
          <li key={r.grant_id} data-testid="receipt">
            <div>
              <p>
                You let <strong>{r.client_name ?? 'an app'}</strong> see <strong>{r.pension ?? 'a pension'}</strong>:{' '}
                {r.scopes.map((s) => SCOPE_LABELS[s] ?? s).join('; ')}.
              </p>
              <p className="muted small">
                From {formatTime(r.granted_at)}{r.until ? ` until ${formatTime(r.until)}` : ', with no end date'}.{' '}
                {r.revoked_at ? `You withdrew it on ${formatTime(r.revoked_at)}.` : r.active ? 'In force. To withdraw it, revoke this access above.' : 'It has ended.'}
              </p>
              <details>
                <summary>Technical details</summary>
                <p className="small">Access grant credential (VC-JOSE, signed by this wallet's DID; revoked through its status list):</p>
                <p className="mono small receipt-credential">{r.credential}</p>
              </details>
            </div>
          </li>
        ))}
      </ul>
    </section>
  );
}

/** Who a grant is for, in words: a proven name (and firm), else an email;
 * nothing when the app asked on no one's behalf. The raw key stays out. */
function personOf(party: Party | null | undefined): string | null {
  const claims = (c: unknown) => (c && typeof c === 'object' ? (c as Record<string, unknown>) : {});
  const verified = claims(party?.verified);
  const stated = claims(party?.self_asserted);
  const text = (v: unknown) => (typeof v === 'string' && v.trim() ? v.trim() : null);
  const name = text(verified.name);
  const firm = text(verified.organisation);
  if (name) return firm ? `${name} of ${firm}` : name;
  return text(verified.email) ?? text(stated.name) ?? text(stated.email);
}

function partyText(p: Policy['party'], clientName: (id: string) => string): string {
  const bits: string[] = [];
  if (p.email) bits.push(`email ${p.email}`);
  if (p.client_id) bits.push(`app “${clientName(p.client_id)}”`);
  if (p.issuer) bits.push(`issuer ${p.issuer}`);
  if (p.subject) bits.push(`subject ${p.subject}`);
  if (p.credential_type === 'AdviserCredential') bits.push('any authorised financial adviser');
  else if (p.credential_type) bits.push(`anyone proving a ${p.credential_type}`);
  const who = bits.length ? bits.join(', ') : 'anyone who identifies themselves';
  return p.verified_only ? `${who} (verified only)` : who;
}

function ResourceSharing({ resource, data, reload }: { resource: Resource; data: Data; reload: () => Promise<void> }) {
  const clientName = (id: string) => data.clients.find((c) => c.client_id === id)?.client_name ?? id;
  const policies = data.policies.filter(
    (p) => (p.target.kind === 'resource' && p.target.id === resource.id) || (p.target.kind === 'resource_server' && p.target.id === resource.resource_server),
  );
  const grants = data.grants.filter((g) => g.active && g.resource_id === resource.id);
  const [rowError, setRowError] = useState<{ id: string; error: ApiError } | null>(null);
  const [busy, setBusy] = useState<string | null>(null);

  async function act(id: string, f: () => Promise<unknown>) {
    setBusy(id);
    setRowError(null);
    try {
      await f();
      await reload();
    } catch (e) {
      setRowError({ id, error: e as ApiError });
    } finally {
      setBusy(null);
    }
  }

  const h = `share-${resource.id}`;
  return (
    <section className="card" aria-labelledby={h} data-testid="sharing-pension">
      <h2 id={h}>{resource.description}</h2>
      <p className="muted small mono">{resource.name}</p>

      <h3>Rules</h3>
      {policies.length === 0 ? (
        <p className="muted">No rules: anyone who asks must wait for your answer in Requests.</p>
      ) : (
        <ul className="rows">
          {policies.map((p) => (
            <li key={p.id} data-testid="policy-row">
              <div>
                <strong>{OUTCOME_LABEL[p.outcome] ?? p.outcome}</strong> {partyText(p.party, clientName)}
                {' '}— {p.scopes.length ? p.scopes.join(', ') : 'everything'}
                {p.target.kind === 'resource_server' && <span className="muted"> (applies to all pensions from this provider)</span>}
                {p.description && <div className="muted small">{p.description}</div>}
                {rowError?.id === p.id && <ErrorMessage error={rowError.error} />}
              </div>
              <button type="button" onClick={() => act(p.id, () => removePolicy(p.id))} disabled={busy === p.id}
                aria-label={`Remove rule: ${OUTCOME_LABEL[p.outcome]} ${partyText(p.party, clientName)}`}>
                {busy === p.id ? 'Removing…' : 'Remove'}
              </button>
            </li>
          ))}
        </ul>
      )}

      <h3>Who has access now</h3>
      {grants.length === 0 ? (
        <p className="muted">Nobody has access to this pension.</p>
      ) : (
        <ul className="rows">
          {grants.map((g) => (
            <li key={g.id} data-testid="grant-row">
              <div>
                <strong>{clientName(g.client_id)}</strong>
                {personOf(g.party) && <> for {personOf(g.party)}</>} — {g.scopes.join(', ') || 'everything'}
                <div className="muted small">
                  Since {formatTime(g.created_at)}{g.expires_at ? `, until ${formatTime(g.expires_at)}` : ', no end date'}
                  {g.source.kind === 'policy' ? ' · by a rule' : ' · you approved it'}
                </div>
                {rowError?.id === g.id && <ErrorMessage error={rowError.error} />}
              </div>
              <button type="button" className="danger" onClick={() => act(g.id, () => revokeGrant(g.id))} disabled={busy === g.id}
                data-testid="revoke-grant" aria-label={`Revoke access of ${clientName(g.client_id)}`}>
                {busy === g.id ? 'Revoking…' : 'Revoke'}
              </button>
            </li>
          ))}
        </ul>
      )}

      <AddPolicy resource={resource} clients={data.clients} reload={reload} />
    </section>
  );
}

function AddPolicy({ resource, clients, reload }: { resource: Resource; clients: Client[]; reload: () => Promise<void> }) {
  const [open, setOpen] = useState(false);
  const [outcome, setOutcome] = useState<Outcome>('permit');
  const [who, setWho] = useState<'email' | 'client' | 'adviser'>('email');
  /** How long a permit's access lasts: days, or 0 for as long as the rule stands. */
  const [days, setDays] = useState(30);
  const [email, setEmail] = useState('');
  const [clientId, setClientId] = useState('');
  const [verifiedOnly, setVerifiedOnly] = useState(true);
  const [scopes, setScopes] = useState<string[]>(resource.resource_scopes.filter((s) => s !== 'delegate'));
  const [description, setDescription] = useState('');
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const id = (s: string) => `pol-${resource.id}-${s}`;
  const others = clients.filter((c) => c.protection !== 'approved');

  async function submit(e: FormEvent) {
    e.preventDefault();
    setError(null);
    if (who === 'email' && !/^[^@\s]+@[^@\s]+$/.test(email.trim())) {
      setError({ kind: 'invalid_input', message: 'Enter the email address of the person.' });
      return;
    }
    if (who === 'client' && !clientId) {
      setError({ kind: 'invalid_input', message: 'Choose an app.' });
      return;
    }
    if (scopes.length === 0) {
      setError({ kind: 'invalid_input', message: 'Tick at least one thing this rule covers.' });
      return;
    }
    const party = who === 'email'
      ? { email: email.trim(), verified_only: verifiedOnly }
      : who === 'adviser' ? { credential_type: 'AdviserCredential', verified_only: true } : { client_id: clientId, verified_only: false };
    const policy: NewPolicy = {
      target: { kind: 'resource', id: resource.id },
      scopes,
      outcome,
      party,
      ...(outcome === 'permit' && days > 0 ? { grant_lifetime: days * 86400 } : {}),
      ...(description.trim() ? { description: description.trim() } : {}),
    };
    setBusy(true);
    try {
      await addPolicy(policy);
      setOpen(false);
      setEmail('');
      setDescription('');
      await reload();
    } catch (err) {
      setError(err as ApiError);
    } finally {
      setBusy(false);
    }
  }

  if (!open) return <button type="button" onClick={() => setOpen(true)} data-testid="add-policy-open">Add a rule for this pension</button>;
  return (
    <form onSubmit={submit} className="subform" aria-label={`New rule for ${resource.description}`}>
      <h3>New rule</h3>
      <div className="field inline">
        <label htmlFor={id('outcome')}>When they ask</label>
        <select id={id('outcome')} value={outcome} onChange={(e) => setOutcome(e.target.value as Outcome)}>
          <option value="permit">Allow without asking me</option>
          <option value="ask">Ask me</option>
          <option value="deny">Refuse</option>
        </select>
      </div>
      <fieldset>
        <legend>Who</legend>
        <div className="check">
          <input type="radio" id={id('who-email')} name={id('who')} checked={who === 'email'} onChange={() => setWho('email')} />
          <label htmlFor={id('who-email')}>A person, by email</label>
        </div>
        <div className="check">
          <input type="radio" id={id('who-client')} name={id('who')} checked={who === 'client'} onChange={() => setWho('client')} />
          <label htmlFor={id('who-client')}>An app</label>
        </div>
        <div className="check">
          <input type="radio" id={id('who-adviser')} name={id('who')} checked={who === 'adviser'} onChange={() => setWho('adviser')} />
          <label htmlFor={id('who-adviser')}>Any authorised financial adviser (proved by a regulator on the official list)</label>
        </div>
        {who === 'adviser' ? (
          <p className="small muted">The adviser's app shows the regulator's proof each time it asks; an adviser the regulator does not vouch for is not let in.</p>
        ) : who === 'email' ? (
          <>
            <div className="field">
              <label htmlFor={id('email')}>Email</label>
              <input id={id('email')} type="email" value={email} onChange={(e) => setEmail(e.target.value)} />
            </div>
            <div className="check">
              <input type="checkbox" id={id('verified')} checked={verifiedOnly} onChange={(e) => setVerifiedOnly(e.target.checked)} />
              <label htmlFor={id('verified')}>Only when the email is verified by a trusted identity provider</label>
            </div>
          </>
        ) : (
          <div className="field">
            <label htmlFor={id('client')}>App</label>
            <select id={id('client')} value={clientId} onChange={(e) => setClientId(e.target.value)}>
              <option value="">Choose…</option>
              {others.map((c) => <option key={c.client_id} value={c.client_id}>{c.client_name}</option>)}
            </select>
          </div>
        )}
      </fieldset>
      <fieldset>
        <legend>What</legend>
        {resource.resource_scopes.map((s) => (
          <div className="check" key={s}>
            <input type="checkbox" id={id(`scope-${s}`)} checked={scopes.includes(s)}
              onChange={() => setScopes((c) => (c.includes(s) ? c.filter((x) => x !== s) : [...c, s]))} />
            <label htmlFor={id(`scope-${s}`)}>{SCOPE_LABELS[s] ?? s}</label>
          </div>
        ))}
      </fieldset>
      {outcome === 'permit' && (
        <div className="field inline">
          <label htmlFor={id('days')}>Access lasts</label>
          <select id={id('days')} value={days} onChange={(e) => setDays(Number(e.target.value))}>
            <option value={1}>1 day</option>
            <option value={30}>30 days</option>
            <option value={365}>1 year</option>
            <option value={0}>As long as this rule stands</option>
          </select>
        </div>
      )}
      <div className="field">
        <label htmlFor={id('desc')}>Note (optional)</label>
        <input id={id('desc')} value={description} onChange={(e) => setDescription(e.target.value)} />
      </div>
      <ErrorMessage error={error} />
      <div className="buttons">
        <button type="submit" className="primary" disabled={busy}>{busy ? 'Saving…' : 'Save rule'}</button>
        <button type="button" onClick={() => setOpen(false)}>Cancel</button>
      </div>
    </form>
  );
}
