import { useCallback, useEffect, useMemo, useState } from 'react';
import {
  exportAudit, listAudit, listClients, listProviders, listResources, verifyAudit,
  type ApiError, type AuditEntry, type AuditVerify, type Client, type Provider, type Resource,
} from '../api';
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
  'grant.revoked_by_policy': 'Access withdrawn by one of your rules',
  'policy.add': 'You added a rule',
  'policy.remove': 'You removed a rule',
  'token.need_info': 'An app was asked who it acts for',
  'token.too_many_requests': 'An app asked too often',
  'token.invalid_scope': 'An app asked for something not on offer',
  'token.resources_gone': 'An app asked for a pension no longer here',
  'token.unknown_ticket': 'An attempt to get access was refused',
  'token.foreign_ticket': 'An attempt to get access was refused',
  'token.unexpected_ticket': 'An attempt to get access was refused',
  'token.used_ticket': 'An attempt to get access was refused',
  'token.expired_ticket': 'An attempt to get access was refused',
  'token.ticket_replayed': 'The same access attempt was made twice',
  'claims.gathered': 'An app said who it acts for',
  'client.registration_refused': 'An app could not register',
  'client.authentication_failed': 'An app failed to sign in',
  'revocation.revoked': 'An app gave up its access',
  'revocation.refused': 'An app could not give up its access',
  'resource.registered': 'A provider added a pension',
  'resource.updated': 'A provider updated a pension',
  'resource.deleted': 'A provider removed a pension',
  'resource_server.approve': 'You approved a provider',
  'resource_server.refuse': 'You refused a provider',
  'pat.issued': 'A provider connected',
  'pat.refused': 'A provider was turned away',
  'pat.awaiting_owner': 'A provider is waiting for your approval',
  'pat.too_many_waiting': 'Too many providers waiting',
  'pat.assertion_rejected': "A provider's permission code was not accepted",
  'pat.assertion_replayed': 'A permission code was used twice',
  'permission.rate_limited': 'A provider asked too often',
  'assertion.minted': 'You gave a provider a permission code',
  'trusted_issuer.add': 'You trusted an identity checker',
  'trusted_issuer.remove': 'You stopped trusting an identity checker',
  'identity.update': 'You changed your details',
  'identity.credential.refused': 'Your proof of identity was not accepted',
  'credential.delete': 'You deleted a record',
  'provider.add': 'You added a provider',
  'provider.remove': 'You removed a provider',
  'provider.import': 'Providers taken from the official list',
  'wallet.backup': 'Backup made',
  'wallet.passphrase_changed': 'You changed your passphrase',
};

const actionLabel = (action: string) => ACTIONS[action] ?? action;

/** Names to put on who acted and which pension: looked up, never required. */
interface Names {
  /** Whether `resources` is this wallet's list (false when it could not be read). */
  known: boolean;
  resources: Resource[];
  clients: Client[];
  providers: Provider[];
}

const NO_NAMES: Names = { known: false, resources: [], clients: [], providers: [] };

/** Who acted, in words: `owner`, `client:<id>`, `resource_server:<id>`, `anonymous`, `many`. */
function whoLabel(actor: string, names: Names): string {
  if (actor === 'owner') return 'You';
  if (actor.startsWith('client:')) {
    const id = actor.slice('client:'.length);
    return names.clients.find((c) => c.client_id === id)?.client_name ?? 'An app';
  }
  if (actor.startsWith('resource_server:')) {
    const id = actor.slice('resource_server:'.length);
    return names.providers.find((p) => p.url === id)?.name ?? names.clients.find((c) => c.client_id === id)?.client_name ?? 'A pension provider';
  }
  if (actor === 'anonymous') return 'Someone unknown';
  if (actor === 'many') return 'Many unknown visitors';
  return actor;
}

/** Every string anywhere in an entry's detail. */
function strings(v: unknown, out: Set<string> = new Set()): Set<string> {
  if (typeof v === 'string') out.add(v);
  else if (Array.isArray(v)) v.forEach((x) => strings(x, out));
  else if (v && typeof v === 'object') Object.values(v).forEach((x) => strings(x, out));
  return out;
}

/** The pension references in an entry's detail: `resource_id` (grants, access
 * requests, decisions, provider registrations), `pei` (deleted records) and
 * a rule's `target` on one pension. */
function pensionRefs(v: unknown, out: Set<string> = new Set()): Set<string> {
  if (Array.isArray(v)) v.forEach((x) => pensionRefs(x, out));
  else if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    for (const [k, x] of Object.entries(o)) {
      if ((k === 'resource_id' || k === 'pei') && typeof x === 'string') out.add(x);
      else pensionRefs(x, out);
    }
    if (o.kind === 'resource' && typeof o.id === 'string') out.add(o.id);
  }
  return out;
}

/** Is a string one way of naming this pension (its id here, or its PeI)? */
const mentions = (r: Resource, s: Set<string>) => s.has(r.id) || (!!r.name && s.has(r.name));

const pensionName = (r: Resource, n: Names) =>
  r.description ?? `A pension at ${n.providers.find((p) => p.url === r.resource_server)?.name ?? r.resource_server}`;

const GONE = '__gone';

function matchesPension(e: AuditEntry, filter: string, n: Names): boolean {
  if (!filter) return true;
  if (filter === GONE) {
    const refs = pensionRefs(e.detail);
    return [...refs].some((ref) => !n.resources.some((r) => r.id === ref || r.name === ref));
  }
  const r = n.resources.find((x) => x.id === filter);
  return !!r && mentions(r, strings(e.detail));
}

function matchesWho(actor: string, filter: string): boolean {
  if (!filter) return true;
  if (filter === 'apps') return actor.startsWith('client:');
  if (filter === 'providers') return actor.startsWith('resource_server:');
  if (filter === 'others') return actor === 'anonymous' || actor === 'many';
  return actor === filter;
}

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
  const [lookup, setLookup] = useState<Names>(NO_NAMES);
  const [pension, setPension] = useState('');
  const [who, setWho] = useState('');
  const [action, setAction] = useState('');
  const [exporting, setExporting] = useState(false);
  const [exported, setExported] = useState<string | null>(null);
  const [exportError, setExportError] = useState<ApiError | null>(null);

  const load = useCallback(() => {
    setError(null);
    setCheckError(null);
    listAudit(LIMIT).then(setEntries, (e) => setError(e as ApiError));
    verifyAudit().then(setCheck, (e) => setCheckError(e as ApiError));
    // Only to name pensions, apps and providers: the log reads without them.
    Promise.all([
      listResources().catch(() => null),
      listClients().catch(() => [] as Client[]),
      listProviders().catch(() => [] as Provider[]),
    ]).then(([resources, clients, providers]) => setLookup({ known: resources !== null, resources: resources ?? [], clients, providers }));
  }, []);
  useEffect(load, [load]);

  async function runExport() {
    setExporting(true);
    setExported(null);
    setExportError(null);
    try {
      setExported((await exportAudit()).path);
    } catch (e) {
      setExportError(e as ApiError);
    } finally {
      setExporting(false);
    }
  }

  const options = useMemo(() => {
    const all = entries ?? [];
    const actors = [...new Set(all.map((e) => e.actor))];
    const apps = actors.filter((a) => a.startsWith('client:') && whoLabel(a, lookup) !== 'An app')
      .map((a) => ({ value: a, label: `App: ${whoLabel(a, lookup)}` }));
    const providers = actors.filter((a) => a.startsWith('resource_server:'))
      .map((a) => ({ value: a, label: `Provider: ${whoLabel(a, lookup) === 'A pension provider' ? a.slice('resource_server:'.length) : whoLabel(a, lookup)}` }));
    const whoOptions = [
      { value: 'owner', label: 'You' },
      { value: 'apps', label: 'Any app' },
      ...apps.sort((a, b) => a.label.localeCompare(b.label)),
      { value: 'providers', label: 'Any pension provider' },
      ...providers.sort((a, b) => a.label.localeCompare(b.label)),
      { value: 'others', label: 'Someone unknown' },
    ];
    const byLabel = new Map<string, string[]>();
    for (const a of new Set(all.map((e) => e.action))) byLabel.set(actionLabel(a), [...(byLabel.get(actionLabel(a)) ?? []), a]);
    const actionOptions = [...byLabel.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([label, codes]) => ({ value: codes.join(' '), label }));
    const pensionOptions = lookup.resources.map((r) => ({ value: r.id, label: pensionName(r, lookup) }))
      .sort((a, b) => a.label.localeCompare(b.label));
    if (lookup.known && all.some((e) => matchesPension(e, GONE, lookup))) pensionOptions.push({ value: GONE, label: 'Pensions no longer in this wallet' });
    return { whoOptions, actionOptions, pensionOptions };
  }, [entries, lookup]);

  const shown = (entries ?? []).filter((e) =>
    matchesPension(e, pension, lookup) && matchesWho(e.actor, who) && (!action || action.split(' ').includes(e.action)));
  const filtering = !!(pension || who || action);
  const plural = (n: number) => `${n} ${n === 1 ? 'entry' : 'entries'}`;

  const actions = (
    <>
      <button type="button" onClick={runExport} disabled={exporting} data-testid="activity-export">
        {exporting ? 'Exporting…' : 'Export'}
      </button>
      <button type="button" onClick={load}>Refresh</button>
    </>
  );

  return (
    <Screen name="activity" title="Activity" actions={actions}>
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
      {exported && (
        <p className="success" role="status" data-testid="activity-exported">
          Saved a copy of the whole activity log to <span className="mono">{exported}</span>
        </p>
      )}
      <ErrorMessage error={exportError && `The activity log was not exported: ${exportError.message}`} />
      <ErrorMessage error={error} />
      {entries && entries.length === 0 && <p className="empty">Nothing has happened yet.</p>}
      {!entries && !error && <Loading />}
      {entries && entries.length > 0 && (
        <>
          <fieldset className="filters">
            <legend>Show only</legend>
            <div className="row">
              <div className="field">
                <label htmlFor="filter-pension">Pension</label>
                <select id="filter-pension" data-testid="filter-pension" value={pension} onChange={(e) => setPension(e.target.value)}>
                  <option value="">All pensions and other events</option>
                  {options.pensionOptions.map((o) => <option key={o.value} value={o.value}>{o.label}</option>)}
                </select>
              </div>
              <div className="field">
                <label htmlFor="filter-who">Who</label>
                <select id="filter-who" data-testid="filter-who" value={who} onChange={(e) => setWho(e.target.value)}>
                  <option value="">Everyone</option>
                  {options.whoOptions.map((o) => <option key={o.value} value={o.value}>{o.label}</option>)}
                </select>
              </div>
              <div className="field">
                <label htmlFor="filter-action">What happened</label>
                <select id="filter-action" data-testid="filter-action" value={action} onChange={(e) => setAction(e.target.value)}>
                  <option value="">Anything</option>
                  {options.actionOptions.map((o) => <option key={o.value} value={o.value}>{o.label}</option>)}
                </select>
              </div>
            </div>
            {filtering && (
              <button type="button" onClick={() => { setPension(''); setWho(''); setAction(''); }}>Show everything</button>
            )}
          </fieldset>
          <p role="status" data-testid="activity-count" className="activity-count">
            {filtering ? `${shown.length} of ${plural(entries.length)} match.` : `${plural(entries.length)}.`}
          </p>
          {shown.length === 0 ? (
            <p className="empty">No entries match. Choose other filters, or “Show everything”.</p>
          ) : (
            <table className="table">
              <thead>
                <tr><th scope="col">#</th><th scope="col">When</th><th scope="col">What</th><th scope="col">Who</th><th scope="col">Details</th></tr>
              </thead>
              <tbody>
                {shown.map((e) => {
                  const detail = (e.detail ?? {}) as Record<string, unknown>;
                  const mentioned = strings(detail);
                  const pensions = lookup.resources.filter((r) => mentions(r, mentioned)).map((r) => pensionName(r, lookup));
                  const technical = summarise(e.action, detail);
                  return (
                    <tr key={e.seq} data-testid="audit-row">
                      <td>{e.seq}</td>
                      <td className="nowrap">{formatTime(e.at)}</td>
                      <td>{actionLabel(e.action)}</td>
                      <td>{whoLabel(e.actor, lookup)}</td>
                      <td className="small">
                        {pensions.length > 0 && <div>{pensions.length === 1 ? 'Pension' : 'Pensions'}: {pensions.join(', ')}</div>}
                        {e.action === 'identity.disclosed' && <div>{technical}</div>}
                        <details>
                          <summary>Technical details</summary>
                          <div className="mono">{e.action} · {e.actor}</div>
                          {e.action !== 'identity.disclosed' && technical && <div className="mono">{technical}</div>}
                        </details>
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          )}
        </>
      )}
      {entries && entries.length === LIMIT && <p className="muted small">Showing the latest {LIMIT} entries; the filters look through these.</p>}
    </Screen>
  );
}
