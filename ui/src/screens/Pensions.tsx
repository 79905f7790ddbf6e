import { useCallback, useEffect, useId, useRef, useState, type FormEvent, type ReactNode } from 'react';
import {
  addressStatus, followAddress, getIdentity, isPensionError, listClients, listCredentials, listGrants, listProviders,
  movePension, myPensions,
  type Accepted, type AddressStatus, type ApiError, type Client, type Credential, type Grant, type Identity,
  type MyPensions, type Pension, type PensionOk, type Provider, type ReaddressedPension,
} from '../api';
import {
  ErrorMessage, ErrorSummary, FieldError, Loading, Notice, Screen, fieldAria, fromError, problemAt, type Problem,
} from '../components';
import {
  STATE_PENSION_FORECAST, ageAt, documentLabel, employmentLine, formatDate, formatDay, formatMoney, pensionTypeLabel,
  providerLabel,
} from '../format';
import { Chip, IncomeChart, coloursFor, stableKey } from '../IncomeChart';
import { WebAddress } from '../WebAddress';
import type { ScreenName } from '../App';
import '../wallet.css';

interface Data {
  pensions: MyPensions;
  grants: Grant[];
  clients: Client[];
  identity: Identity | null;
  providers: Provider[];
  /** The providers' records of the pensions (their proof): null when they could not be read. */
  credentials: Credential[] | null;
  /** Whether providers still name an earlier address of the wallet: null when it could not be read. */
  address: AddressStatus | null;
}

function dcPot(p: PensionOk): number | null {
  let total: number | null = null;
  for (const ill of p.illustrations ?? []) {
    for (const c of ill.illustrationComponents ?? []) {
      if (c.illustrationType === 'ERI' && typeof c.dcPot === 'number') total = (total ?? 0) + c.dcPot;
    }
  }
  return total;
}

/** A pension that has just moved to another wallet: it leaves this list,
 * so what happened is said above the list, not on its card. */
interface Moved {
  name: string;
  provider: string;
  answer: Accepted;
}

function MovedMessage({ moved }: { moved: Moved }) {
  const ref = useRef<HTMLDivElement>(null);
  // The card the owner was on is gone after the move: bring her here.
  useEffect(() => { ref.current?.focus(); }, [moved]);
  const { name, provider, answer } = moved;
  return (
    <div className={`${answer.credential_error ? 'warning' : 'success'} move-done`} role="status" data-testid="move-done" tabIndex={-1} ref={ref}>
      <p>
        <strong>{name}</strong> has moved to the other wallet. From now on the other wallet decides who can see it,
        so it is no longer listed here.
        {answer.credential ? ` ${provider} has issued a new record of it.` : null}
      </p>
      {answer.credential_error && (
        <p>
          The move went through, but the new record of this pension from {provider} could not be collected: {answer.credential_error}
        </p>
      )}
      <details className="small">
        <summary>Technical details</summary>
        <p className="mono">Now protected by {answer.authorization_server} · {answer.pei}</p>
      </details>
    </div>
  );
}

function pensionNames(list: ReaddressedPension[]): string {
  return listInWords(list.map((p) => `${p.scheme || 'a pension'} (${providerLabel(p.provider_name)})`));
}

/** The wallet's web address changed (a new address set for it, or a new
 * port): what its providers were told, and a way to tell those that could
 * not be reached. Shown only when there is something to say. */
function AddressChange({ status, onDone }: { status: AddressStatus; onDone: () => void }) {
  const [busy, setBusy] = useState(false);
  // A second click before the first re-renders must not tell them twice.
  const inFlight = useRef(false);
  const [error, setError] = useState<ApiError | null>(null);
  const last = status.last;
  const failed = last?.failed ?? [];
  const waiting = status.waiting;
  if (waiting.length === 0 && !last) return null;
  async function tell() {
    if (inFlight.current) return;
    inFlight.current = true;
    setBusy(true);
    setError(null);
    try {
      await followAddress();
      onDone();
    } catch (e) {
      setError(e as ApiError);
    } finally {
      inFlight.current = false;
      setBusy(false);
    }
  }
  return (
    <div className={waiting.length > 0 ? 'warning' : 'success'} data-testid="address-change">
      <p role="status">
        <strong>Your wallet’s web address has changed.</strong>{' '}
        {last && last.updated.length > 0 && `Your providers now send people who ask for ${pensionNames(last.updated)} to the new address. `}
        {waiting.length > 0 && `The providers of ${pensionNames(waiting)} still send people to the old address, so nobody can ask you for them there.`}
      </p>
      {failed.length > 0 && (
        <ul data-testid="address-failed">
          {failed.map((p) => <li key={p.pei}>{providerLabel(p.provider_name)} could not be told this time. You can try again; the wallet also tries each time it starts.</li>)}
        </ul>
      )}
      {waiting.length > 0 && (
        <button type="button" data-testid="address-follow" onClick={tell} aria-disabled={busy || undefined}>
          {busy ? 'Telling your providers…' : 'Tell them the new address'}
        </button>
      )}
      {error && <ErrorMessage error={error} />}
      <details className="small">
        <summary>Technical details</summary>
        <p className="mono">Now {status.address}{[...new Set([...(last?.updated ?? []), ...waiting].map((p) => p.was))].map((was) => ` · was ${was}`)}</p>
        {failed.map((p) => <p key={p.pei} className="mono">{p.provider}: {p.error}</p>)}
      </details>
    </div>
  );
}

/** "Move to another wallet" on one pension card: what moving means, the
 * other wallet's address and the code it made for this provider. */
function MovePension({ pension, providerName, onMoved }: { pension: Pension; providerName: string; onMoved: (answer: Accepted) => void }) {
  const [open, setOpen] = useState(false);
  const [to, setTo] = useState('');
  const [code, setCode] = useState('');
  const [busy, setBusy] = useState(false);
  const [problems, setProblems] = useState<Problem[]>([]);
  const id = useId();
  const name = pension.scheme ?? 'this pension';

  async function submit(e: FormEvent) {
    e.preventDefault();
    const address = to.trim();
    const assertion = code.trim();
    const p: Problem[] = [];
    if (!address) p.push({ field: `${id}-to`, message: 'Enter the address of the other wallet.' });
    if (!assertion) p.push({ field: `${id}-code`, message: `Enter the code the other wallet gave you for ${providerName}.` });
    setProblems(p);
    if (p.length) return;
    setBusy(true);
    try {
      const answer = await movePension(pension.provider, pension.provider_resource_id, address, assertion);
      setOpen(false);
      onMoved(answer);
    } catch (err) {
      const a = err as ApiError;
      setProblems([fromError(a, undefined, `The pension was not moved: ${a.message}`)]);
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="move">
      <button type="button" data-testid="move-open" aria-expanded={open} aria-controls={`${id}-form`} onClick={() => setOpen(!open)}>
        {open ? 'Cancel moving' : 'Move to another wallet'}
      </button>
      {open && (
        <form id={`${id}-form`} className="subform" onSubmit={submit} aria-label={`Move ${name} to another wallet`} noValidate>
          <p>
            You can hand this pension over to another wallet, for example a new one of yours. After the move, <strong>the other
            wallet decides who can see this pension</strong>; this wallet no longer does, and the pension leaves this list.
            {' '}{providerName} will issue a new record of the pension that names the other wallet.
          </p>
          <ErrorSummary problems={problems} testId="move-error" level={4} />
          <div className={`field${problemAt(problems, `${id}-to`) ? ' has-error' : ''}`}>
            <label htmlFor={`${id}-to`}>Address of the other wallet</label>
            <p className="hint" id={`${id}-to-hint`}>The other wallet shows its address, for example https://wallet.example.org.</p>
            <FieldError field={`${id}-to`} message={problemAt(problems, `${id}-to`)} />
            <input id={`${id}-to`} data-testid="move-to" type="url" inputMode="url" autoComplete="off" spellCheck={false}
              value={to} onChange={(e) => setTo(e.target.value)} {...fieldAria(`${id}-to`, problemAt(problems, `${id}-to`), `${id}-to-hint`)} />
          </div>
          <div className={`field${problemAt(problems, `${id}-code`) ? ' has-error' : ''}`}>
            <label htmlFor={`${id}-code`}>The code the other wallet gave you for this provider</label>
            <p className="hint" id={`${id}-code-hint`}>
              Ask the other wallet for a code for {providerName}, then copy it here. It shows the provider that the other wallet agrees to take the pension.
            </p>
            <FieldError field={`${id}-code`} message={problemAt(problems, `${id}-code`)} />
            <textarea id={`${id}-code`} data-testid="move-code" rows={3} autoComplete="off" spellCheck={false}
              value={code} onChange={(e) => setCode(e.target.value)} {...fieldAria(`${id}-code`, problemAt(problems, `${id}-code`), `${id}-code-hint`)} />
          </div>
          {busy && <p className="muted" role="status">Moving {name}… {providerName} is being asked, this can take a moment.</p>}
          <div className="buttons">
            <button type="submit" className="primary" data-testid="move-submit" disabled={busy}>
              {busy ? 'Moving…' : 'Move this pension'}
            </button>
          </div>
        </form>
      )}
    </div>
  );
}

/** The age from which a pension pays: its earliest estimated income, else its retirement date. */
function startAge(p: Pension, dateOfBirth: string | null | undefined): number | null {
  if (!dateOfBirth) return null;
  const dates = (p.illustrations ?? [])
    .flatMap((i) => i.illustrationComponents ?? [])
    .filter((c) => c.illustrationType === 'ERI' && c.payableDetails?.payableDate)
    .map((c) => c.payableDetails.payableDate!)
    .sort();
  const from = dates[0] ?? p.retirement_date;
  return from ? ageAt(dateOfBirth, from) : null;
}

/** "A", "A and B", "A, B and C". */
function listInWords(names: string[]): string {
  if (names.length <= 1) return names.join('');
  return `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}

/** What the wallet holds to show that a pension is protected. */
type Proof = { kind: 'checked'; at: number } | { kind: 'old' } | { kind: 'none' };

/** The proof of a pension, matched by its identifier: the newest current one, else only replaced ones, else none. */
function proofOf(p: Pension, credentials: readonly Credential[]): Proof {
  const mine = credentials.filter((c) => c.pei === p.pei);
  const current = mine.filter((c) => c.status === 'active').sort((a, b) => b.received_at - a.received_at)[0];
  if (current) return { kind: 'checked', at: current.received_at };
  return mine.length ? { kind: 'old' } : { kind: 'none' };
}

/**
 * "Proof this pension is protected: ✓ checked 3 Nov 2026". The wallet
 * checks a provider's proof when it arrives and refuses one that does not
 * check out, so that is the day it was checked. Without one, what that
 * means: the pension is still protected, the proof is only a record.
 */
function ProofLine({ proof, providerName }: { proof: Proof; providerName: string }) {
  if (proof.kind === 'checked') {
    return (
      <p className="pension-proof" data-testid="pension-proof" data-proof="checked">
        Proof this pension is protected: <span className="tag tag-ok">✓ checked {formatDate(proof.at)}</span>
      </p>
    );
  }
  // Mid-sentence, a provider without a name is "your pension provider".
  const provider = providerName === providerLabel(null) ? providerName.toLowerCase() : providerName;
  return (
    <p className="pension-proof" data-testid="pension-proof" data-proof={proof.kind}>
      {proof.kind === 'old'
        ? 'The proof your wallet holds that this pension is protected is out of date.'
        : 'Your wallet has no proof yet that this pension is protected.'}
      {' '}Your wallet still protects it: the proof is only a signed record from {provider} that you could show someone
      else. If you need one, ask {provider}.
    </p>
  );
}

/** What a grant lets an app see, in words: the scope names are the protocol's. */
const SCOPE_WORDS: Record<string, string> = { owner: 'pension details', value: 'values and estimates' };

/** The retirement picture in one sentence: how much, from when, and what the figure is and is not. */
function Totals({ pensions, identity, leftOut }: { pensions: MyPensions; identity: Identity | null; leftOut: string[] }) {
  const counted = pensions.pensions.filter((p) => !isPensionError(p));
  const ages = counted.map((p) => startAge(p, identity?.date_of_birth)).filter((a): a is number => a !== null);
  const from = ages.length ? Math.min(...ages) : null;
  const to = ages.length ? Math.max(...ages) : null;
  const income = formatMoney(pensions.totals.estimated_annual_income);
  return (
    <section className="card totals-card" data-testid="pensions-total" aria-labelledby="h-totals">
      <h2 id="h-totals">Your retirement income</h2>
      {counted.length === 0 ? (
        <p data-testid="totals-sentence">Your total cannot be worked out just now, because none of your pensions could be updated.</p>
      ) : (
        <p className="totals-sentence" data-testid="totals-sentence">
          <strong className="totals-big">{income} a year</strong>{' '}
          {to === null
            ? 'once all your pensions have started'
            : from === to ? `from age ${to}` : `by age ${to} (your pensions start from age ${from} to ${to})`}
          {' '}— estimate in today’s money, before tax, not including your State Pension.
        </p>
      )}
      {leftOut.length > 0 && counted.length > 0 && (
        <p className="small">This leaves out {listInWords(leftOut)}, which couldn’t be updated.</p>
      )}
      <p className="small" data-testid="state-pension-note">
        Check your State Pension forecast on GOV.UK, at{' '}
        <WebAddress url={STATE_PENSION_FORECAST} what="the State Pension forecast" />
      </p>
      <dl className="facts">
        <div><dt>In pension pots (defined contribution)</dt>{' '}<dd>{formatMoney(pensions.totals.dc_pots)}</dd></div>
        <div><dt>Pensions</dt>{' '}<dd>{pensions.pensions.length}</dd></div>
      </dl>
    </section>
  );
}

/** One pension: what it is, what it may pay, who runs it, and what else the provider offers to read. */
function PensionCard({ p, colour, dateOfBirth, providerName, access, clientName, move, retry, updating, proof }: {
  p: Pension;
  colour: string;
  dateOfBirth: string | null;
  providerName: string;
  access: Grant[];
  clientName: (id: string) => string;
  move: ReactNode;
  retry: () => void;
  updating: boolean;
  /** Null when the wallet could not read its records just now: then the card says nothing of it. */
  proof: Proof | null;
}) {
  const headingId = `h-pension-${p.resource_id}`;
  const employment = employmentLine(p.employment);
  const type = pensionTypeLabel(p.pension_type);
  const age = startAge(p, dateOfBirth);
  const pot = dcPot(p);
  const admin = p.administrator;
  const contactName = admin?.name?.trim() || providerName;
  const stale = isPensionError(p);
  const hasFigures = typeof p.estimated_annual_income === 'number' || pot !== null || typeof p.built_up_annual_amount === 'number';
  return (
    <article className={`card pension${stale ? ' pension-stale' : ''}`} data-testid="pension-card" aria-labelledby={headingId}>
      <div className="pension-title">
        <span className="pension-colour" data-testid="pension-colour" data-colour={colour}><Chip colour={colour} /></span>
        <h3 id={headingId}>{p.scheme ?? `A pension with ${providerName}`}</h3>
      </div>
      {employment && <p className="pension-employment" data-testid="pension-employment">{employment}</p>}
      {type && <p className="pension-type">{type}</p>}
      {proof && <ProofLine proof={proof} providerName={providerName} />}
      {stale && (
        <div className="warning pension-problem" data-testid="pension-error">
          <p><strong>{p.error}</strong></p>
          {p.last_read_at ? (
            <p>
              <span data-testid="pension-last-updated">Last updated {formatDate(p.last_read_at)}</span>. These are the last figures
              your wallet read, and they are left out of your totals.
            </p>
          ) : (
            <p>Your wallet has not been able to read its figures yet.</p>
          )}
          <p>{admin && (admin.email || admin.phone) ? `If this goes on, contact ${contactName}: their details are below.` : `If this goes on, contact ${providerName}.`}</p>
          {/* Not disabled while updating: focus stays on it, and a second press does nothing. */}
          <button type="button" data-testid="pension-retry" onClick={retry} aria-disabled={updating || undefined}>{updating ? 'Updating…' : 'Try again'}</button>
        </div>
      )}
      {(hasFigures || p.retirement_date) && (
        <dl className="facts">
          {typeof p.estimated_annual_income === 'number' && (
            <div>
              <dt>Estimated income</dt>{' '}
              <dd>{formatMoney(p.estimated_annual_income)} a year{age !== null ? ` from age ${age}` : ''}</dd>
            </div>
          )}
          {typeof p.built_up_annual_amount === 'number' && (
            <div data-testid="pension-built-up"><dt>Built up so far</dt>{' '}<dd>{formatMoney(p.built_up_annual_amount)} a year</dd></div>
          )}
          {pot !== null && <div><dt>Pot value</dt>{' '}<dd>{formatMoney(pot)}</dd></div>}
          {p.retirement_date && <div><dt>Retirement date</dt>{' '}<dd>{formatDay(p.retirement_date)}</dd></div>}
        </dl>
      )}
      {p.figures_as_at && <p className="muted small" data-testid="pension-as-at">Estimate as at {formatDay(p.figures_as_at)}</p>}

      {admin && (admin.name || admin.email || admin.phone) && (
        <div className="pension-contact" data-testid="pension-contact">
          <h4>Contact {contactName}</h4>
          <ul className="plain">
            {admin.phone && <li>Phone: <span className="contact-value">{admin.phone}</span></li>}
            {admin.email && <li>Email: <span className="contact-value">{admin.email}</span></li>}
            {!admin.phone && !admin.email && <li>No phone number or email address was given.</li>}
          </ul>
        </div>
      )}
      {p.documents && p.documents.length > 0 && (
        <div className="pension-documents">
          <h4>Documents from {providerName}</h4>
          <ul className="plain" data-testid="pension-documents">
            {p.documents.map((d, i) => (
              <li key={`${d.url}-${i}`} data-testid="pension-document">
                <span className="document-kind">{documentLabel(d.informationType)}</span>:{' '}
                <WebAddress url={d.url} what={`the ${documentLabel(d.informationType).toLowerCase()}`} />
              </li>
            ))}
          </ul>
        </div>
      )}

      <h4>Who else can see it</h4>
      {access.length === 0 ? (
        <p className="muted">Nobody else: only you.</p>
      ) : (
        <ul className="plain" data-testid="pension-access">
          {access.map((g) => (
            <li key={g.id}>
              {clientName(g.client_id)}: {g.scopes.map((s) => SCOPE_WORDS[s] ?? s).join(' and ') || 'everything'}
              {g.expires_at ? <span className="muted"> (until {formatDate(g.expires_at)})</span> : null}
            </li>
          ))}
        </ul>
      )}
      {move}
      <details className="small">
        <summary>Technical details</summary>
        <dl className="facts wide" data-testid="pension-technical">
          <div><dt>Pension identifier</dt>{' '}<dd className="mono">{p.pei}</dd></div>
          <div><dt>Provider’s address</dt>{' '}<dd className="mono">{p.provider}</dd></div>
          <div><dt>Provider’s id for it</dt>{' '}<dd className="mono">{p.provider_resource_id}</dd></div>
          <div><dt>This wallet’s id for it</dt>{' '}<dd className="mono">{p.resource_id}</dd></div>
          {p.pension_type && <div><dt>Pension type code</dt>{' '}<dd className="mono">{p.pension_type}</dd></div>}
          {p.error_detail && <div><dt>What failed</dt>{' '}<dd className="mono" data-testid="pension-error-detail">{p.error_detail}</dd></div>}
        </dl>
      </details>
    </article>
  );
}

export function Pensions({ onGoto }: { onGoto: (s: ScreenName) => void }) {
  const [data, setData] = useState<Data | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [updating, setUpdating] = useState(false);
  const [moved, setMoved] = useState<Moved | null>(null);
  /** Set by "Try again": once every pension reads again, the owner is told so. */
  const [retried, setRetried] = useState(0);

  const load = useCallback(async () => {
    setUpdating(true);
    setError(null);
    try {
      const [pensions, grants, clients, identity, providers, credentials, address] = await Promise.all([
        myPensions(), listGrants(), listClients(),
        getIdentity().catch(() => null), listProviders().catch(() => [] as Provider[]),
        listCredentials().catch(() => null), addressStatus().catch(() => null),
      ]);
      setData({ pensions, grants, clients, identity, providers, credentials, address });
    } catch (e) {
      // What was on screen stays there: old figures, said to be old, beat an empty screen.
      setError(e as ApiError);
    } finally {
      setUpdating(false);
    }
  }, []);
  useEffect(() => { void load(); }, [load]);

  const retry = () => {
    if (updating) return;
    setMoved(null);
    setRetried((n) => n + 1);
    void load();
  };
  const refresh = (
    <button type="button" data-testid="pensions-refresh" onClick={() => { if (!updating) { setMoved(null); setRetried(0); void load(); } }}>
      Refresh
    </button>
  );
  const movedMessage = moved && <MovedMessage moved={moved} />;
  // Always in the page, so that "Updating…" is read out when it appears.
  const progress = (
    <p className="muted updating" role="status" data-testid="pensions-updating">{data && updating ? 'Updating… your figures stay on screen until the new ones arrive.' : ''}</p>
  );

  if (!data) {
    return (
      <Screen name="pensions" title="My pensions" actions={refresh}>
        {movedMessage}
        {error ? <ErrorMessage error={error} /> : <Loading what="Asking your providers for your pensions…" />}
      </Screen>
    );
  }

  const { pensions, grants, clients, identity, providers, credentials, address } = data;
  const addressChange = address && <AddressChange status={address} onDone={() => void load()} />;
  const failedToUpdate = error && (
    <ErrorMessage error={`Your pensions could not be updated just now, so these are the figures from before. ${error.message}`} testId="pensions-update-error" />
  );
  if (pensions.pensions.length === 0) {
    return (
      <Screen name="pensions" title="My pensions" actions={refresh}>
        {progress}
        {movedMessage}
        {failedToUpdate}
        <div className="empty" data-testid="pensions-empty">
          <p>No pensions here yet. Your wallet can ask your pension providers which pensions they hold for you.</p>
          <button type="button" className="primary" onClick={() => onGoto('offers')}>Find my pensions</button>
        </div>
      </Screen>
    );
  }

  const clientName = (id: string) => clients.find((c) => c.client_id === id)?.client_name ?? 'An app';
  const providerName = (p: Pension) => providerLabel(p.provider_name ?? providers.find((x) => x.url === p.provider)?.name);
  const groups = new Map<string, Pension[]>();
  for (const p of pensions.pensions) groups.set(p.provider, [...(groups.get(p.provider) ?? []), p]);
  // Two providers without a name would read the same: number them.
  const groupLabel = (provider: string, first: Pension) => {
    const name = providerName(first);
    const same = [...groups.entries()].filter(([, list]) => providerName(list[0]) === name).map(([url]) => url);
    return same.length > 1 ? `${name} (${same.indexOf(provider) + 1})` : name;
  };
  const okPensions = pensions.pensions.filter((p): p is PensionOk => !isPensionError(p));
  const stale = pensions.pensions.filter(isPensionError);
  const nameOf = (p: Pension) => p.scheme ?? `a pension with ${providerName(p)}`;
  // One colour per pension across the screen: its chip on the card is its colour in the chart.
  const colours = coloursFor(pensions.pensions.map(stableKey));
  const move = (p: Pension) => (
    <MovePension pension={p} providerName={providerName(p)}
      onMoved={(answer) => { setMoved({ name: p.scheme ?? 'The pension', provider: providerName(p), answer }); void load(); }} />
  );

  return (
    <Screen name="pensions" title="My pensions" actions={refresh}>
      {progress}
      {movedMessage}
      {addressChange}
      {failedToUpdate}
      {stale.length > 0 && (
        <div className="warning stale-banner" data-testid="pensions-stale">
          <p role="status">
            <strong>{stale.length === 1 ? '1 pension couldn’t be updated.' : `${stale.length} pensions couldn’t be updated.`}</strong>{' '}
            The totals leave out {listInWords(stale.map(nameOf))}.
          </p>
          <button type="button" data-testid="pensions-retry" onClick={retry} aria-disabled={updating || undefined}>{updating ? 'Updating…' : 'Try again'}</button>
        </div>
      )}
      {stale.length === 0 && retried > 0 && !updating && (
        <Notice testId="pensions-updated" focusKey={retried}>Updated: all your pensions are up to date.</Notice>
      )}
      <Totals pensions={pensions} identity={identity} leftOut={stale.map(nameOf)} />

      <IncomeChart pensions={okPensions} dateOfBirth={identity?.date_of_birth ?? null} colours={colours} />

      {[...groups.entries()].map(([provider, list]) => (
        <section key={provider} className="provider-group" data-testid="provider-group" aria-label={groupLabel(provider, list[0])}>
          <h2>{groupLabel(provider, list[0])}</h2>
          {list.map((p) => (
            <PensionCard key={p.resource_id} p={p} colour={colours.get(stableKey(p))!} dateOfBirth={identity?.date_of_birth ?? null}
              providerName={providerName(p)} access={grants.filter((g) => g.active && g.resource_id === p.resource_id)}
              clientName={clientName} move={move(p)} retry={retry} updating={updating}
              proof={credentials && proofOf(p, credentials)} />
          ))}
        </section>
      ))}
    </Screen>
  );
}
