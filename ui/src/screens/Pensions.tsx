import { useCallback, useEffect, useState } from 'react';
import {
  getIdentity, isPensionError, listClients, listGrants, listProviders, listResources, myPensions,
  type ApiError, type Client, type Grant, type Identity, type MyPensions, type PensionOk, type Provider, type Resource,
} from '../api';
import { ErrorMessage, Loading, Screen } from '../components';
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

export function Pensions({ onGoto }: { onGoto: (s: ScreenName) => void }) {
  const [data, setData] = useState<Data | null>(null);
  const [error, setError] = useState<ApiError | null>(null);

  const load = useCallback(async () => {
    setError(null);
    try {
      const [pensions, grants, clients, identity, providers, resources] = await Promise.all([
        myPensions(), listGrants(), listClients(),
        getIdentity().catch(() => null), listProviders().catch(() => [] as Provider[]),
        listResources().catch(() => [] as Resource[]),
      ]);
      // Older wallets omit resource_id: recover it from the resource whose name is the PeI.
      pensions.pensions = pensions.pensions.map((p) =>
        p.resource_id ? p : { ...p, resource_id: resources.find((r) => r.name === p.pei && r.resource_server === p.provider)?.id ?? p.pei });
      setData({ pensions, grants, clients, identity, providers, resources });
    } catch (e) {
      setError(e as ApiError);
    }
  }, []);
  useEffect(() => { void load(); }, [load]);

  const refresh = <button type="button" onClick={() => { setData(null); void load(); }}>Refresh</button>;

  if (error) return <Screen name="pensions" title="My pensions" actions={refresh}><ErrorMessage error={error} /></Screen>;
  if (!data) return <Screen name="pensions" title="My pensions"><Loading what="Asking your providers for your pensions…" /></Screen>;

  const { pensions, grants, clients, identity, providers } = data;
  if (pensions.pensions.length === 0) {
    return (
      <Screen name="pensions" title="My pensions">
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

  return (
    <Screen name="pensions" title="My pensions" actions={refresh}>
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
              </article>
            );
          })}
        </section>
      ))}
    </Screen>
  );
}
