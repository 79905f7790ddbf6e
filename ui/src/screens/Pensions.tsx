import { useCallback, useEffect, useId, useRef, useState, type FormEvent } from 'react';
import {
  getIdentity, isPensionError, listClients, listGrants, listProviders, listResources, movePension, myPensions,
  type Accepted, type ApiError, type Client, type Grant, type Identity, type MyPensions, type Pension, type PensionOk,
  type Provider, type Resource,
} from '../api';
import { ErrorMessage, ErrorSummary, FieldError, Loading, Screen, fieldAria, fromError, problemAt, type Problem } from '../components';
import { MATCH_LABELS, formatDay, formatMoney } from '../format';
import { IncomeChart } from '../IncomeChart';
import type { ScreenName } from '../App';

interface Data {
  pensions: MyPensions;
  grants: Grant[];
  clients: Client[];
  identity: Identity | null;
  providers: Provider[];
  resources: Resource[];
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

export function Pensions({ onGoto }: { onGoto: (s: ScreenName) => void }) {
  const [data, setData] = useState<Data | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [moved, setMoved] = useState<Moved | null>(null);

  const load = useCallback(async () => {
    setError(null);
    try {
      const [pensions, grants, clients, identity, providers, resources] = await Promise.all([
        myPensions(), listGrants(), listClients(),
        getIdentity().catch(() => null), listProviders().catch(() => [] as Provider[]),
        listResources().catch(() => [] as Resource[]),
      ]);
      setData({ pensions, grants, clients, identity, providers, resources });
    } catch (e) {
      setError(e as ApiError);
    }
  }, []);
  useEffect(() => { void load(); }, [load]);

  const refresh = <button type="button" onClick={() => { setData(null); setMoved(null); void load(); }}>Refresh</button>;
  const movedMessage = moved && <MovedMessage moved={moved} />;

  if (error) return <Screen name="pensions" title="My pensions" actions={refresh}>{movedMessage}<ErrorMessage error={error} /></Screen>;
  // Refresh stays in place while loading, so that focus on it is not lost.
  if (!data) return <Screen name="pensions" title="My pensions" actions={refresh}>{movedMessage}<Loading what="Asking your providers for your pensions…" /></Screen>;

  const { pensions, grants, clients, identity, providers } = data;
  if (pensions.pensions.length === 0) {
    return (
      <Screen name="pensions" title="My pensions" actions={refresh}>
        {movedMessage}
        <div className="empty" data-testid="pensions-empty">
          <p>No pensions yet — go to Offers to find them.</p>
          <button type="button" className="primary" onClick={() => onGoto('offers')}>Go to Offers</button>
        </div>
      </Screen>
    );
  }

  const clientName = (id: string) => clients.find((c) => c.client_id === id)?.client_name ?? id;
  const providerName = (url: string) => providers.find((p) => p.url === url)?.name ?? url;
  const groups = new Map<string, typeof pensions.pensions>();
  for (const p of pensions.pensions) {
    const list = groups.get(p.provider) ?? [];
    list.push(p);
    groups.set(p.provider, list);
  }
  const okPensions = pensions.pensions.filter((p): p is PensionOk => !isPensionError(p));
  const move = (p: Pension) => (
    <MovePension pension={p} providerName={providerName(p.provider)}
      onMoved={(answer) => { setMoved({ name: p.scheme ?? 'The pension', provider: providerName(p.provider), answer }); void load(); }} />
  );

  return (
    <Screen name="pensions" title="My pensions" actions={refresh}>
      {movedMessage}
      <div className="totals card" data-testid="pensions-total">
        <div>
          <span className="label">Estimated yearly income in retirement</span>
          <span className="big">{formatMoney(pensions.totals.estimated_annual_income)}</span>
        </div>
        <div>
          <span className="label">Total of defined contribution pots</span>
          <span className="big">{formatMoney(pensions.totals.dc_pots)}</span>
        </div>
        <div>
          <span className="label">Pensions</span>
          <span className="big">{pensions.pensions.length}</span>
        </div>
      </div>

      <IncomeChart pensions={okPensions} dateOfBirth={identity?.date_of_birth ?? null} />

      {[...groups.entries()].map(([provider, list]) => (
        <section key={provider} className="provider-group" data-testid="provider-group" aria-label={providerName(provider)}>
          <h2>{providerName(provider)}</h2>
          {providerName(provider) !== provider && <p className="muted small">{provider}</p>}
          {list.map((p) => {
            const access = grants.filter((g) => g.active && g.resource_id === p.resource_id);
            if (isPensionError(p)) {
              return (
                <article key={p.resource_id} className="card pension" data-testid="pension-card">
                  <h3>{p.scheme ?? 'Pension'}</h3>
                  <p className="muted small mono">{p.pei}</p>
                  <ErrorMessage error={`We could not get this pension's details: ${p.error}`} testId="pension-error" />
                  {move(p)}
                </article>
              );
            }
            const pot = dcPot(p);
            return (
              <article key={p.resource_id} className="card pension" data-testid="pension-card">
                <h3>{p.scheme}</h3>
                <p className="muted small mono">{p.pei}</p>
                {p.match_status && (
                  <p><span className={`tag ${p.match_status === 'match-yes' ? 'tag-ok' : 'tag-warn'}`} data-testid="pension-match">
                    {MATCH_LABELS[p.match_status] ?? p.match_status}
                  </span></p>
                )}
                <dl className="facts">
                  <div><dt>Type</dt><dd>{p.pension_type}</dd></div>
                  <div><dt>Estimated yearly income</dt><dd>{formatMoney(p.estimated_annual_income)}</dd></div>
                  <div><dt>Retirement date</dt><dd>{formatDay(p.retirement_date)}</dd></div>
                  {pot !== null && <div><dt>Pot value</dt><dd>{formatMoney(pot)}</dd></div>}
                </dl>
                {p.employment && p.employment.length > 0 && (
                  <>
                    <h4>Employment</h4>
                    <ul className="plain">
                      {p.employment.map((e, i) => (
                        <li key={i}>
                          {e.employerName ?? 'Employer'}: {formatDay(e.membershipStartDate)} to {e.membershipEndDate ? formatDay(e.membershipEndDate) : 'now'}
                        </li>
                      ))}
                    </ul>
                  </>
                )}
                <h4>Who has access</h4>
                {access.length === 0 ? (
                  <p className="muted">Nobody has been given access.</p>
                ) : (
                  <ul className="plain" data-testid="pension-access">
                    {access.map((g) => (
                      <li key={g.id}>
                        {clientName(g.client_id)}
                        {g.party_key !== 'anonymous' && <> for {g.party_key}</>} — {g.scopes.join(', ') || 'all'}
                        {g.expires_at ? <span className="muted"> (until {new Date(g.expires_at * 1000).toLocaleDateString('en-GB')})</span> : null}
                      </li>
                    ))}
                  </ul>
                )}
                {move(p)}
              </article>
            );
          })}
        </section>
      ))}
    </Screen>
  );
}
