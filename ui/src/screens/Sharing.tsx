import { useCallback, useEffect, useState, type FormEvent, type ReactNode } from 'react';
import {
  addPolicy, listClients, listGrants, listPolicies, listProviders, listReceipts, listResources, removePolicy, revokeGrant,
  type ApiError, type Client, type Grant, type NewPolicy, type Outcome, type Policy, type Provider, type Receipt,
  type Resource,
} from '../api';
import {
  ConfirmBox, DateInput, ErrorMessage, ErrorSummary, FieldError, Loading, NO_DATE, Notice, Screen, dateProblem, dateProblemAt, fieldAria,
  fromError, isoToParts, partsToIso, problemAt, useFocusLater, type DateParts, type Problem,
} from '../components';
import { formatTime } from '../format';
import {
  CLUSTER_CONTENTS, appLabeller, appListed, capital, clusterList, clusterTitle, formatDate, hostOf, partyWords, plural,
} from '../consent/words';
import '../consent/consent.css';

interface Data {
  resources: Resource[];
  policies: Policy[];
  grants: Grant[];
  clients: Client[];
  /** The owner's providers, for their names (none when they could not be read). */
  providers: Provider[];
}

export function Sharing() {
  const [data, setData] = useState<Data | null>(null);
  const [error, setError] = useState<ApiError | null>(null);

  const load = useCallback(async () => {
    try {
      const [resources, policies, grants, clients, providers] = await Promise.all([
        listResources(), listPolicies(), listGrants(), listClients(),
        // Only names: without them the screen names a provider by its address.
        listProviders().catch(() => [] as Provider[]),
      ]);
      setData({ resources, policies, grants, clients, providers });
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
      <p>For each pension: who can see it now, and the rules you set (who is let in, who must ask you, who is refused).</p>
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
                {clusterList(r.scopes)}.
              </p>
              <p className="muted small">
                From {formatTime(r.granted_at)}{r.until ? ` until ${formatTime(r.until)}` : ', with no end date'}.{' '}
                {r.revoked_at ? `You withdrew it on ${formatTime(r.revoked_at)}.` : r.active ? 'In force. To end it, press Stop sharing above.' : 'It has ended.'}
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

/** What a rule does, as the owner reads it. */
const OUTCOME_WORDS: Record<Outcome, string> = {
  permit: 'Let them in without asking me',
  ask: 'Ask me first',
  deny: 'Refuse',
};

/** The credential kind the screen offers by name: an adviser the regulator vouches for. */
const ADVISER = 'AdviserCredential';

/** The longest access a rule may give: five years of days (the wallet refuses more). */
const LIFETIMES: { days: number; label: string }[] = [
  { days: 1, label: '1 day' },
  { days: 7, label: '1 week' },
  { days: 30, label: '30 days' },
  { days: 90, label: '3 months' },
  { days: 365, label: '1 year' },
  { days: 5 * 365, label: '5 years (the longest allowed)' },
  { days: 0, label: 'As long as this rule stands' },
];

/** 'YYYY-MM-DD' → unix seconds at local midnight of that day; null when it is not a real date. */
function localMidnight(day: string): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (!m) return null;
  const d = new Date(+m[1], +m[2] - 1, +m[3]);
  if (d.getFullYear() !== +m[1] || d.getMonth() !== +m[2] - 1 || d.getDate() !== +m[3]) return null;
  return Math.floor(d.getTime() / 1000);
}

const dayText = (unix: number) =>
  new Date(unix * 1000).toLocaleDateString('en-GB', { day: 'numeric', month: 'long', year: 'numeric' });

function whenText(from: number | null | undefined, until: number | null | undefined): string {
  if (from != null && until != null) return `From ${dayText(from)} until ${dayText(until)}`;
  if (from != null) return `From ${dayText(from)}, with no end date`;
  if (until != null) return `From now until ${dayText(until)}`;
  return 'Any time, with no start or end date';
}

function lifetimeText(seconds: number | null | undefined): string {
  if (seconds == null) return 'As long as this rule stands';
  if (seconds % 86400 === 0) {
    const days = seconds / 86400;
    const named = LIFETIMES.find((l) => l.days === days && days > 0);
    if (named) return `${named.label.replace(/ \(.*\)$/, '')} once given`;
    return `${days} days once given`;
  }
  if (seconds % 3600 === 0) return `${seconds / 3600} hour${seconds === 3600 ? '' : 's'} once given`;
  const minutes = Math.max(1, Math.round(seconds / 60));
  return `${minutes} minute${minutes === 1 ? '' : 's'} once given`;
}

/** 'PensionTransferCredential' → 'pension transfer credential'. */
const credentialWords = (kind: string) => kind.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase();

/** The apps a rule for "every app the official register doesn't list" covers, in words. */
const UNLISTED_APPS = 'any app the official register doesn’t list';

/** Who a rule is for, in plain words. */
function whoWords(p: Policy['party'], appName: (id: string) => string): string {
  const people: string[] = [];
  if (p.credential_type === ADVISER) people.push('any authorised financial adviser');
  else if (p.credential_type) people.push(`anyone who proves they hold a ${credentialWords(p.credential_type)}`);
  if (p.email) people.push(`the person with the email ${p.email}`);
  if (p.issuer && p.subject) people.push(`the person with the account ${p.subject} at the sign-in service ${hostOf(p.issuer)}`);
  else if (p.issuer) people.push(`anyone who signs in with ${hostOf(p.issuer)}`);
  else if (p.subject) people.push(`the person with the account ${p.subject}`);
  const person = people.join(', ');
  if (p.client_id) {
    const app = `the app “${appName(p.client_id)}”${p.unlisted_apps ? ' (when the official register doesn’t list it)' : ''}`;
    return person ? `${person}, using ${app}` : app;
  }
  if (p.unlisted_apps) return person ? `${person}, using ${UNLISTED_APPS}` : UNLISTED_APPS;
  return person || 'anyone who says who they are';
}

/**
 * What a rule does, in one line: "Refuse — the app “Family dashboard”"; a
 * rule for every app the register doesn't list reads as a sentence of its
 * own ("Apps the official register doesn't list are turned away without
 * asking you").
 */
function ruleLine(p: Policy, who: string): { does: string; who: string | null } {
  const onlyUnlisted = p.party.unlisted_apps && !p.party.client_id && !p.party.email && !p.party.issuer && !p.party.subject && !p.party.credential_type;
  if (onlyUnlisted && p.outcome === 'deny') return { does: 'Apps the official register doesn’t list are turned away without asking you', who: null };
  if (onlyUnlisted && p.outcome === 'ask') return { does: 'Apps the official register doesn’t list must ask you first', who: null };
  return { does: OUTCOME_WORDS[p.outcome] ?? p.outcome, who };
}
const ruleText = (line: { does: string; who: string | null }) => (line.who ? `${line.does} — ${line.who}` : line.does);

/** "A", "A and B", "A, B and C". */
const listWords = (items: string[]) => (items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`);

/** The same day three months on, or the month's last day when it has none (30 Nov → 28 Feb, not 2 Mar). */
export function threeMonthsOn(from: Date): Date {
  const end = new Date(from.getFullYear(), from.getMonth() + 3, 1);
  const last = new Date(end.getFullYear(), end.getMonth() + 1, 0).getDate();
  end.setDate(Math.min(from.getDate(), last));
  return end;
}
/** "Your pension's value" inside a sentence. */
const lowerYour = (s: string) => (s.startsWith('Your') ? `y${s.slice(1)}` : s);

/** How the screen names a provider: the name the owner gave it, the name the
 * official list gives it, the name it gave itself, else its address. */
function providerNamer(data: Data) {
  return (address: string) => {
    const own = data.providers.find((p) => p.url === address)?.name?.trim();
    if (own) return own;
    const client = data.clients.find((c) => c.client_id === address);
    if (client?.registry?.listed && client.registry.name) return client.registry.name;
    return client?.client_name?.trim() || address;
  };
}

/** How the screen names an app: as the official list does, else as it named itself. */
function appNamer(clients: Client[]) {
  return (id: string) => {
    const c = clients.find((x) => x.client_id === id);
    if (!c) return 'an app no longer known to your wallet';
    if (c.registry?.listed && c.registry.name) return c.registry.name;
    return c.client_name?.trim() || 'an unnamed app';
  };
}

/** A rule's conditions, one plain line each. */
function ruleFacts(p: Policy, appName: (id: string) => string, providerName: (address: string) => string, now: number): [string, string][] {
  const facts: [string, string][] = [
    ['Who', capital(whoWords(p.party, appName))],
    ['Which pensions', p.target.kind === 'resource_server' ? `Every pension from ${providerName(p.target.id)}` : 'This pension only'],
    ['What', clusterList(p.scopes)],
    ['When', whenText(p.valid_from, p.valid_until)
      + (p.valid_until != null && p.valid_until <= now ? ' (this rule has ended)' : p.valid_from != null && p.valid_from > now ? ' (not started yet)' : '')],
  ];
  // A rule for the apps the register doesn't list is about apps, not people: no check of who they are to speak of.
  if (!(p.party.unlisted_apps && !p.party.verified_only)) {
    facts.push(['Identity check', p.party.verified_only ? 'Only if a trusted service has checked who they are' : 'Not required']);
  }
  if (p.outcome === 'permit') facts.push(['Access lasts', lifetimeText(p.grant_lifetime)]);
  if (p.description) facts.push(['Note', p.description]);
  return facts;
}

function ResourceSharing({ resource, data, reload }: { resource: Resource; data: Data; reload: () => Promise<void> }) {
  const appName = appNamer(data.clients);
  const appLabel = appLabeller(data.clients);
  const providerName = providerNamer(data);
  const policies = data.policies.filter(
    (p) => (p.target.kind === 'resource' && p.target.id === resource.id) || (p.target.kind === 'resource_server' && p.target.id === resource.resource_server),
  );
  const grants = data.grants.filter((g) => g.active && g.resource_id === resource.id);
  const [rowError, setRowError] = useState<{ id: string; error: ApiError } | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  /** The rule whose removal waits for the owner's confirmation. */
  const [removing, setRemoving] = useState<string | null>(null);
  /** What the last change did, said where the removed row was (focus goes there). */
  const [done, setDone] = useState<string | null>(null);
  const focusLater = useFocusLater();

  async function act(id: string, f: () => Promise<unknown>, said: string) {
    setBusy(id);
    setRowError(null);
    setDone(null);
    try {
      await f();
      // Said before the reload takes the row away, so that focus lands here and not on the page.
      setDone(said);
      await reload();
    } catch (e) {
      setRowError({ id, error: e as ApiError });
    } finally {
      setBusy(null);
      setRemoving(null);
    }
  }

  const h = `share-${resource.id}`;
  const now = Math.floor(Date.now() / 1000);
  return (
    <section className="card" aria-labelledby={h} data-testid="sharing-pension">
      <h2 id={h}>{resource.description}</h2>
      <p className="muted small">With {providerName(resource.resource_server)}</p>
      <details className="small">
        <summary>Technical details</summary>
        <p className="mono">Pension: {resource.name ?? resource.id}</p>
        <p className="mono">Provider: {resource.resource_server}</p>
      </details>
      {done && <Notice testId="sharing-done">{done}</Notice>}

      <h3>Who can see it now</h3>
      <ul className="rows access-list" data-testid="access-list">
        {/* The owner's own access is not a grant to manage: it is hers, always, and has no button. */}
        <li className="own-access" data-testid="own-access">You: always (this is your wallet)</li>
        {grants.map((g) => {
          const app = appLabel(g.client_id);
          const person = partyWords(g.party);
          const gid = `${h}-grant-${g.id}`;
          return (
            <li key={g.id} data-testid="grant-row" data-grant-id={g.id}>
              <div>
                <p id={gid} className="grant-who">
                  <strong>{person ? `${capital(person)}, using ${app}` : `Anyone using ${app}`}</strong>
                </p>
                <p>Can see: {clusterList(g.scopes)}</p>
                <p className="muted small">
                  Since {formatDate(g.created_at)}{g.expires_at ? `, until ${formatDate(g.expires_at)}` : ', with no end date'}
                  {g.source.kind === 'policy' ? ' · let in by one of your rules' : ' · you said yes'}
                </p>
                <details className="small">
                  <summary>Technical details</summary>
                  <p className="mono">Grant: {g.id}</p>
                  <p className="mono">Client id: {g.client_id}</p>
                  <p className="mono">Party: {g.party_key}</p>
                  <p className="mono">Scopes: {g.scopes.length ? g.scopes.join(' ') : '(all)'}</p>
                </details>
                {rowError?.id === g.id && <ErrorMessage error={rowError.error} />}
              </div>
              <button type="button" className="danger" disabled={busy === g.id}
                onClick={() => act(g.id, () => revokeGrant(g.id), `You stopped ${app} seeing ${resource.description}.`)}
                data-testid="revoke-grant" aria-describedby={gid}>
                {busy === g.id ? 'Stopping…' : 'Stop sharing'}
              </button>
            </li>
          );
        })}
      </ul>
      {grants.length === 0 && <p className="muted" data-testid="nobody-else">Nobody else can see this pension.</p>}

      <h3>Rules</h3>
      {policies.length === 0 ? (
        <p className="muted">No rules: anyone who asks must wait for your answer in Requests.</p>
      ) : (
        <ul className="rows">
          {policies.map((p) => {
            const line = ruleLine(p, whoWords(p.party, appName));
            const words = ruleText(line);
            const rid = `${h}-rule-${p.id}`;
            return (
              <li key={p.id} data-testid="policy-row" data-policy-id={p.id}>
                <div className="rule">
                  <p id={rid}><strong>{line.does}</strong>{line.who && <> — {line.who}</>}</p>
                  <dl className="facts rule-facts" data-testid="rule-facts">
                    {ruleFacts(p, appName, providerName, now).map(([k, v]) => (
                      <div key={k}><dt>{k}</dt><dd>{v}</dd></div>
                    ))}
                  </dl>
                  <details className="small">
                    <summary>Technical details</summary>
                    <p className="mono">Rule: {p.id}</p>
                    <p className="mono">Target: {p.target.kind} {p.target.id}</p>
                    <p className="mono">Scopes: {p.scopes.length ? p.scopes.join(' ') : '(all)'}</p>
                    <p className="mono">Party: {JSON.stringify(p.party)}</p>
                  </details>
                  {removing === p.id && (
                    <ConfirmBox label="Confirm removing this rule" testId="rule-remove-confirm-box">
                      <p>
                        Remove this rule? {p.outcome === 'permit' ? 'Access it already gave stays until you revoke it below; ' : ''}From now on, {p.party.unlisted_apps && line.who === null ? 'apps the official register doesn’t list' : 'people it covered'} will be treated by your other rules or asked about in Requests.
                      </p>
                      <div className="buttons">
                        <button type="button" className="danger" data-testid="rule-remove-confirm" disabled={busy === p.id}
                          onClick={() => act(p.id, () => removePolicy(p.id), `You removed the rule “${words}”.`)}>
                          {busy === p.id ? 'Removing…' : 'Yes, remove it'}
                        </button>
                        <button type="button" onClick={() => { setRemoving(null); focusLater(`${rid}-remove`); }} disabled={busy === p.id}>Keep it</button>
                      </div>
                    </ConfirmBox>
                  )}
                  {rowError?.id === p.id && <ErrorMessage error={rowError.error} />}
                </div>
                <button type="button" id={`${rid}-remove`} onClick={() => { setDone(null); setRemoving(p.id); }} disabled={busy === p.id || removing === p.id}
                  data-testid="rule-remove" aria-label={`Remove rule: ${words}`}>
                  Remove
                </button>
              </li>
            );
          })}
        </ul>
      )}

      <AddPolicy resource={resource} data={data} reload={reload} onSaved={() => setDone('Your new rule is saved. It is listed under Rules.')} />
    </section>
  );
}


type Who = 'email' | 'signin' | 'client' | 'adviser' | 'unlisted';
/** Whether "only if a trusted service has checked who they are" starts ticked, for each kind of person. */
const VERIFIED_BY_DEFAULT: Record<Who, boolean> = { email: true, signin: true, client: false, adviser: true, unlisted: false };

function AddPolicy({ resource, data, reload, onSaved }: { resource: Resource; data: Data; reload: () => Promise<void>; onSaved: () => void }) {
  const [open, setOpen] = useState(false);
  const [targetKind, setTargetKind] = useState<'resource' | 'resource_server'>('resource');
  const [provider, setProvider] = useState(resource.resource_server);
  const [outcome, setOutcome] = useState<Outcome>('permit');
  const [who, setWho] = useState<Who>('email');
  /** How long a permit's access lasts: days, or 0 for as long as the rule stands. */
  const [days, setDays] = useState(30);
  const [email, setEmail] = useState('');
  const [issuer, setIssuer] = useState('');
  const [subject, setSubject] = useState('');
  const [clientId, setClientId] = useState('');
  const [verifiedOnly, setVerifiedOnly] = useState(true);
  const [from, setFrom] = useState<DateParts>(NO_DATE);
  const [until, setUntil] = useState<DateParts>(NO_DATE);
  // Ticked scopes: what is offered depends on what the rule covers; delegate starts unticked.
  const [ticked, setTicked] = useState<string[]>(() => [...new Set(data.resources.flatMap((r) => r.resource_scopes))].filter((s) => s !== 'delegate'));
  const [description, setDescription] = useState('');
  const [problems, setProblems] = useState<Problem[]>([]);
  const [busy, setBusy] = useState(false);
  const focusLater = useFocusLater();
  const id = (s: string) => `pol-${resource.id}-${s}`;
  const providerName = providerNamer(data);
  const appName = appNamer(data.clients);
  // Apps only: a provider (approved, waiting or refused) is not someone who asks to see.
  const apps = data.clients.filter((c) => c.protection === 'none');
  // This pension's provider first, then the others by name.
  const providers = [...new Set(data.resources.map((r) => r.resource_server))].sort((a, b) =>
    a === resource.resource_server ? -1 : b === resource.resource_server ? 1 : providerName(a).localeCompare(providerName(b)));
  const offered = targetKind === 'resource'
    ? resource.resource_scopes
    : [...new Set(data.resources.filter((r) => r.resource_server === provider).flatMap((r) => r.resource_scopes))];

  function choose(kind: Who) {
    setWho(kind);
    setVerifiedOnly(VERIFIED_BY_DEFAULT[kind]);
    // Every app the register doesn't list can be refused or asked about, never let in (the wallet refuses such a rule).
    if (kind === 'unlisted' && outcome === 'permit') setOutcome('deny');
  }

  /** Apps the register doesn't list that can see, now, what the rule as filled in would cover: a refusal stops that. */
  const covered = (resourceId: string) => (targetKind === 'resource'
    ? resourceId === resource.id
    : data.resources.some((r) => r.id === resourceId && r.resource_server === provider));
  const now = Math.floor(Date.now() / 1000);
  // A rule that has not started yet, or has already ended, stops nothing now.
  const fromDay = partsToIso(from);
  const untilDay = partsToIso(until);
  const inForceNow = !(fromDay && (localMidnight(fromDay) ?? 0) > now) && !(untilDay && (localMidnight(untilDay) ?? Infinity) <= now);
  const unlistedNow = !inForceNow ? [] : [...new Set(data.grants
    .filter((g) => g.active && g.revoked_at == null && covered(g.resource_id) && !appListed(data.clients, g.client_id))
    .filter((g) => g.scopes.length === 0 || ticked.length === 0 || g.scopes.some((sc) => ticked.includes(sc) && offered.includes(sc)))
    .map((g) => g.client_id))];
  const appLabel = appLabeller(data.clients);
  const coveredWords = targetKind === 'resource' ? resource.description : `any of your pensions from ${providerName(provider)}`;
  /** Her other providers, whose pensions a rule for one provider leaves out. */
  const otherProviders = targetKind === 'resource_server' ? providers.filter((p) => p !== provider) : [];

  /** What the last template filled in, said where the owner pressed it. */
  const [filled, setFilled] = useState('');

  /**
   * "Let my adviser see values for 3 months": any adviser the regulator
   * vouches for, this pension's value only, without asking, until three
   * months from today; the access each visit gives lasts three months too.
   */
  function adviserTemplate() {
    const end = threeMonthsOn(new Date());
    const endDay = `${end.getFullYear()}-${String(end.getMonth() + 1).padStart(2, '0')}-${String(end.getDate()).padStart(2, '0')}`;
    setTargetKind('resource');
    setWho('adviser');
    setVerifiedOnly(true);
    setTicked(resource.resource_scopes.includes('value') ? ['value'] : []);
    setOutcome('permit');
    setDays(90);
    setFrom(NO_DATE);
    setUntil(isoToParts(endDay));
    setDescription('My adviser, for 3 months');
    setProblems([]);
    setFilled(`Filled in: any authorised financial adviser may see ${lowerYour(clusterTitle('value'))} without asking you, until ${formatDate(Math.floor(end.getTime() / 1000))}. Check it, then press Save rule.`);
  }

  /**
   * "Refuse apps I don't know": a refusal of one app, on every pension from
   * this provider. The wallet's rules can name an app but not "every app I
   * don't know": an app with no rule already has to ask in Requests, so the
   * owner picks the one she wants turned away without asking.
   */
  function refuseAppsTemplate() {
    setTargetKind('resource_server');
    setProvider(resource.resource_server);
    setWho('client');
    setClientId('');
    setVerifiedOnly(false);
    setTicked([...new Set(data.resources.filter((r) => r.resource_server === resource.resource_server).flatMap((r) => r.resource_scopes))]);
    setOutcome('deny');
    setFrom(NO_DATE);
    setUntil(NO_DATE);
    setDescription('An app I don’t know');
    setProblems([]);
    setFilled(`Filled in: refuse an app on every pension from ${providerName(resource.resource_server)}. Choose the app below, then press Save rule. An app with no rule always has to ask you first, so it sees nothing unless you say yes.`);
    focusLater(id('client'));
  }

  /**
   * "Turn away apps the official register doesn't list": a refusal, without
   * asking her, of every app the register does not vouch for, on every
   * pension from this provider. Her own wallet is never affected.
   */
  function unlistedAppsTemplate() {
    setTargetKind('resource_server');
    setProvider(resource.resource_server);
    setWho('unlisted');
    setVerifiedOnly(false);
    setTicked([...new Set(data.resources.filter((r) => r.resource_server === resource.resource_server).flatMap((r) => r.resource_scopes))]);
    setOutcome('deny');
    setFrom(NO_DATE);
    setUntil(NO_DATE);
    setDescription('');
    setProblems([]);
    setFilled(`Filled in: turn away every app the official register doesn’t list, on every pension from ${providerName(resource.resource_server)}. Read what it does below, then press Save rule.`);
  }

  function close() {
    setOpen(false);
    setProblems([]);
    setFilled('');
    // The form goes, and with it whatever had focus: back to the button that opened it.
    focusLater(id('open'));
  }

  async function submit(e: FormEvent) {
    e.preventDefault();
    // Every problem at once, in the order of the form, as GOV.UK forms do.
    const p: Problem[] = [];
    if (who === 'email' && !/^[^@\s]+@[^@\s]+$/.test(email.trim())) {
      p.push({ field: id('email'), message: 'Enter the email address of the person.' });
    }
    if (who === 'signin') {
      let ok = false;
      try {
        const u = new URL(issuer.trim());
        ok = u.protocol === 'https:' || u.protocol === 'http:';
      } catch {
        ok = false;
      }
      if (!ok) p.push({ field: id('issuer'), message: 'Enter the address of the sign-in service they use, starting with https://.' });
      if (!subject.trim()) p.push({ field: id('subject'), message: 'Enter their account number at that sign-in service.' });
    }
    if (who === 'client' && !clientId) p.push({ field: id('client'), message: 'Choose an app.' });
    const scopes = offered.filter((s) => ticked.includes(s));
    if (scopes.length === 0 && offered.length > 0) p.push({ field: id(`scope-${offered[0]}`), message: 'Tick at least one thing this rule covers.' });
    const fromProblem = dateProblem(from, id('from'), { name: 'The start date' });
    const untilProblem = dateProblem(until, id('until'), { name: 'The end date' });
    if (fromProblem) p.push(fromProblem);
    if (untilProblem) p.push(untilProblem);
    // The wallet takes the same 'YYYY-MM-DD' days as before, as local midnights.
    const fromDay = partsToIso(from);
    const untilDay = partsToIso(until);
    const validFrom = fromDay ? localMidnight(fromDay) : null;
    const validUntil = untilDay ? localMidnight(untilDay) : null;
    if (!fromProblem && !untilProblem && validFrom !== null && validUntil !== null && validUntil <= validFrom) {
      p.push({ field: id('until'), message: 'The end date must be after the start date.', date: { id: id('until'), parts: ['day', 'month', 'year'] } });
    }
    setProblems(p);
    if (p.length) return;
    const party: NewPolicy['party'] =
      who === 'email' ? { email: email.trim(), verified_only: verifiedOnly }
        : who === 'signin' ? { issuer: issuer.trim(), subject: subject.trim(), verified_only: true }
          : who === 'adviser' ? { credential_type: ADVISER, verified_only: true }
            : who === 'unlisted' ? { unlisted_apps: true, verified_only: false }
              : { client_id: clientId, verified_only: verifiedOnly };
    const policy: NewPolicy = {
      target: targetKind === 'resource' ? { kind: 'resource', id: resource.id } : { kind: 'resource_server', id: provider },
      scopes,
      outcome,
      party,
      ...(validFrom !== null ? { valid_from: validFrom } : {}),
      ...(validUntil !== null ? { valid_until: validUntil } : {}),
      ...(outcome === 'permit' && days > 0 ? { grant_lifetime: days * 86400 } : {}),
      ...(description.trim() ? { description: description.trim() } : {}),
    };
    setBusy(true);
    try {
      await addPolicy(policy);
      setOpen(false);
      setEmail('');
      setIssuer('');
      setSubject('');
      setFrom(NO_DATE);
      setUntil(NO_DATE);
      setDescription('');
      onSaved();
      await reload();
    } catch (err) {
      setProblems([fromError(err as ApiError)]);
    } finally {
      setBusy(false);
    }
  }

  /** A text field or select of the form, with its problem (if any) said above it. */
  const problemOf = (field: string) => problemAt(problems, field);
  const box = (field: string, label: string, control: ReactNode, hint?: string) => (
    <div className={`field${problemOf(id(field)) ? ' has-error' : ''}`}>
      <label htmlFor={id(field)}>{label}</label>
      {hint && <p className="hint" id={id(`${field}-hint`)}>{hint}</p>}
      <FieldError field={id(field)} message={problemOf(id(field))} />
      {control}
    </div>
  );
  const aria = (field: string, hint = false) => fieldAria(id(field), problemOf(id(field)), hint && id(`${field}-hint`));

  if (!open) {
    return (
      <button type="button" id={id('open')} onClick={() => setOpen(true)} data-testid="add-policy-open">Add a rule for this pension</button>
    );
  }
  const scopeProblem = offered.length > 0 ? problemOf(id(`scope-${offered[0]}`)) : undefined;
  return (
    <form onSubmit={submit} className="subform rule-form" aria-label={`New rule for ${resource.description}`} noValidate>
      <h3>New rule</h3>
      <ErrorSummary problems={problems} testId="rule-error" level={4} />
      <div className="rule-templates" role="group" aria-labelledby={id('templates')}>
        <p id={id('templates')}>Start from a common rule, then change anything before you save it:</p>
        <div className="buttons">
          <button type="button" data-testid="rule-template-adviser" onClick={adviserTemplate}>Let my adviser see values for 3 months</button>
          <button type="button" data-testid="rule-template-refuse-apps" onClick={refuseAppsTemplate}>Refuse apps I don’t know</button>
          <button type="button" data-testid="rule-template-unlisted-apps" onClick={unlistedAppsTemplate}>Turn away apps the official register doesn’t list</button>
        </div>
        <p className="small" role="status" data-testid="rule-template-note">{filled}</p>
      </div>

      <fieldset>
        <legend>What it covers</legend>
        <div className="field">
          <label htmlFor={id('target-kind')}>Pensions</label>
          <select id={id('target-kind')} data-testid="rule-target-kind" value={targetKind}
            onChange={(e) => setTargetKind(e.target.value as 'resource' | 'resource_server')}>
            <option value="resource">Only this pension</option>
            <option value="resource_server">Every pension from one provider</option>
          </select>
        </div>
        {targetKind === 'resource_server' && box('provider', 'Provider', (
          <select id={id('provider')} data-testid="rule-provider" value={provider} onChange={(e) => setProvider(e.target.value)}
            aria-describedby={id('provider-hint')}>
            {providers.map((p) => <option key={p} value={p}>{providerName(p)}</option>)}
          </select>
        ), 'The rule also covers pensions this provider looks after with your wallet later.')}
      </fieldset>

      <fieldset data-testid="rule-who">
        <legend>Who</legend>
        <div className="check">
          <input type="radio" id={id('who-email')} name={id('who')} data-testid="rule-who-email" checked={who === 'email'} onChange={() => choose('email')} />
          <label htmlFor={id('who-email')}>A person, by email</label>
        </div>
        <div className="check">
          <input type="radio" id={id('who-signin')} name={id('who')} data-testid="rule-who-signin" checked={who === 'signin'} onChange={() => choose('signin')} />
          <label htmlFor={id('who-signin')}>A person, by the sign-in service they use and their account there</label>
        </div>
        <div className="check">
          <input type="radio" id={id('who-client')} name={id('who')} data-testid="rule-who-client" checked={who === 'client'} onChange={() => choose('client')} />
          <label htmlFor={id('who-client')}>An app</label>
        </div>
        <div className="check">
          <input type="radio" id={id('who-adviser')} name={id('who')} data-testid="rule-who-adviser" checked={who === 'adviser'} onChange={() => choose('adviser')} />
          <label htmlFor={id('who-adviser')}>Any authorised financial adviser (proved by a regulator on the official list)</label>
        </div>
        <div className="check">
          <input type="radio" id={id('who-unlisted')} name={id('who')} data-testid="rule-who-unlisted" checked={who === 'unlisted'} onChange={() => choose('unlisted')} />
          <label htmlFor={id('who-unlisted')}>Any app the official register doesn’t list</label>
        </div>
        {who === 'adviser' && (
          <p className="small muted">The adviser's app shows the regulator's proof each time it asks; an adviser the regulator does not vouch for is not let in.</p>
        )}
        {who === 'email' && box('email', 'Email', (
          <input id={id('email')} type="email" spellCheck={false} data-testid="rule-email" value={email} onChange={(e) => setEmail(e.target.value)} {...aria('email')} />
        ))}
        {who === 'signin' && (
          <>
            {box('issuer', 'Sign-in service address', (
              <input id={id('issuer')} type="url" spellCheck={false} data-testid="rule-issuer" value={issuer}
                onChange={(e) => setIssuer(e.target.value)} {...aria('issuer', true)} />
            ), 'Starting with https://, for example https://accounts.example.com.')}
            {box('subject', 'Their account number there', (
              <input id={id('subject')} spellCheck={false} data-testid="rule-subject" value={subject} onChange={(e) => setSubject(e.target.value)}
                {...aria('subject', true)} />
            ), 'Ask the person: their sign-in service shows it in their account settings. The service always confirms it, so nobody else can pretend to be them.')}
          </>
        )}
        {who === 'client' && box('client', 'App', (
          <select id={id('client')} data-testid="rule-client" value={clientId} onChange={(e) => setClientId(e.target.value)} {...aria('client')}>
            <option value="">Choose…</option>
            {apps.map((c) => <option key={c.client_id} value={c.client_id}>{capital(appName(c.client_id))}</option>)}
          </select>
        ))}
        {(who === 'email' || who === 'client') && (
          <div className="check">
            <input type="checkbox" id={id('verified')} data-testid="rule-verified-only" checked={verifiedOnly} onChange={(e) => setVerifiedOnly(e.target.checked)} />
            <label htmlFor={id('verified')}>Only if a trusted service has checked who they are</label>
          </div>
        )}
      </fieldset>

      <fieldset className={scopeProblem ? 'has-error' : undefined} aria-describedby={scopeProblem ? `${id(`scope-${offered[0]}`)}-error` : undefined}>
        <legend>What</legend>
        {offered.length > 0 && <FieldError field={id(`scope-${offered[0]}`)} message={scopeProblem} />}
        {offered.map((s) => (
          <div className="check" key={s}>
            <input type="checkbox" id={id(`scope-${s}`)} checked={ticked.includes(s)}
              onChange={() => setTicked((c) => (c.includes(s) ? c.filter((x) => x !== s) : [...c, s]))} />
            <label htmlFor={id(`scope-${s}`)}>{clusterTitle(s)} <span className="muted">({CLUSTER_CONTENTS[s] ?? 'what the provider keeps under this name'})</span></label>
          </div>
        ))}
      </fieldset>

      <fieldset>
        <legend>When (optional)</legend>
        <p className="hint">The rule starts at the beginning of the first day and stops at the beginning of the last. Leave both empty for a rule that always applies.</p>
        <DateInput id={id('from')} legend="From" hint="For example, 1 1 2027" testId="rule-valid-from"
          value={from} onChange={setFrom} problem={dateProblemAt(problems, id('from'))} />
        <DateInput id={id('until')} legend="Until" hint="For example, 30 6 2027" testId="rule-valid-until"
          value={until} onChange={setUntil} problem={dateProblemAt(problems, id('until'))} />
      </fieldset>

      <div className="field inline">
        <label htmlFor={id('outcome')}>When they ask</label>
        <select id={id('outcome')} data-testid="rule-outcome" value={outcome} onChange={(e) => setOutcome(e.target.value as Outcome)}>
          {/* Apps nobody vouches for are never let in by a rule: only asked about, or refused. */}
          {who !== 'unlisted' && <option value="permit">Let them in without asking me</option>}
          <option value="ask">Ask me</option>
          <option value="deny">Refuse</option>
        </select>
      </div>
      {outcome === 'permit' && (
        <div className="field inline">
          <label htmlFor={id('days')}>Access lasts</label>
          <select id={id('days')} data-testid="rule-days" value={days} onChange={(e) => setDays(Number(e.target.value))} aria-describedby={id('days-hint')}>
            {LIFETIMES.map((l) => <option key={l.days} value={l.days}>{l.label}</option>)}
          </select>
          <span className="hint" id={id('days-hint')}>counted from when they are let in</span>
        </div>
      )}
      {who === 'unlisted' && (
        <div className="rule-effect" id={id('unlisted-effect')} data-testid="rule-unlisted-effect">
          <p>
            {outcome === 'deny'
              ? `This rule turns away, without asking you, every app the official register doesn’t list when it asks to see ${coveredWords}.`
              : `Every app the official register doesn’t list that asks to see ${coveredWords} waits for your answer in Requests, unless another of your rules lets it in.`}
            {' '}Apps the register lists are not affected, and nor is your own access through this wallet.
          </p>
          {outcome === 'deny' && unlistedNow.length > 0 && (
            <p data-testid="rule-unlisted-stops">
              It also stops what you share now with {plural(unlistedNow.length, 'app')} the register doesn’t list: {listWords(unlistedNow.map(appLabel))}. They may keep a copy of what they have already seen.
            </p>
          )}
          {otherProviders.length > 0 && (
            <p className="small">
              Your pensions from {listWords(otherProviders.map(providerName))} are not covered: add the same rule on one of them to cover them too.
            </p>
          )}
        </div>
      )}
      <div className="field">
        <label htmlFor={id('desc')}>Note (optional)</label>
        <input id={id('desc')} data-testid="rule-note" value={description} onChange={(e) => setDescription(e.target.value)} />
      </div>
      <div className="buttons">
        <button type="submit" className="primary" data-testid="rule-save" disabled={busy}
          aria-describedby={who === 'unlisted' ? id('unlisted-effect') : undefined}>{busy ? 'Saving…' : 'Save rule'}</button>
        <button type="button" onClick={close}>Cancel</button>
      </div>
    </form>
  );
}
