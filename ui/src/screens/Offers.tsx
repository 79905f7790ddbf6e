import { useEffect, useState, type FormEvent } from 'react';
import {
  acceptOffer, findPensions, listOffers, listProviders,
  type AcceptAnswer, type ApiError, type FindResult, type Offer, type OffersAnswer, type Provider,
} from '../api';
import { ErrorMessage, ErrorSummary, FieldError, Loading, Notice, Screen, fieldAria, type Problem } from '../components';
import { ProveIdentity } from '../ProveIdentity';
import { MATCH_LABELS } from '../format';
import type { ScreenName } from '../App';

const OUTCOME: Record<string, string> = {
  matched: 'Found pensions that match you',
  possible: 'Found possible matches — the provider may need to check',
  none: 'No pensions found for you',
  unreachable: 'Could not be reached',
  not_accepted: 'Does not accept your wallet yet',
  error: 'Answered with an error',
  ok: 'Answered',
};


type AcceptState =
  | { state: 'running' }
  | { state: 'done'; answer: AcceptAnswer }
  | { state: 'error'; error: ApiError }
  /** Another wallet protects it: the provider wrote to the owner with a code. */
  | { state: 'confirm'; code: string; error: ApiError | null };

export function Offers({ onGoto }: { onGoto: (s: ScreenName) => void }) {
  const [providers, setProviders] = useState<Provider[] | null>(null);
  const [loadError, setLoadError] = useState<ApiError | null>(null);
  const [found, setFound] = useState<FindResult[] | null>(null);
  const [offers, setOffers] = useState<OffersAnswer | null>(null);
  const [searching, setSearching] = useState(false);
  const [searchError, setSearchError] = useState<ApiError | null>(null);
  const [accepts, setAccepts] = useState<Record<string, AcceptState>>({});

  useEffect(() => {
    listProviders().then(setProviders, (e) => setLoadError(e as ApiError));
  }, []);

  async function search() {
    setSearching(true);
    setSearchError(null);
    try {
      const f = await findPensions();
      setFound(f);
      const o = await listOffers();
      setOffers(o);
    } catch (e) {
      setSearchError(e as ApiError);
    } finally {
      setSearching(false);
    }
  }

  async function accept(offer: Offer, code: string | null = null) {
    const key = `${offer.provider} ${offer.resource_id}`;
    setAccepts((a) => ({ ...a, [key]: { state: 'running' } }));
    try {
      const answer = await acceptOffer(offer.provider, offer.resource_id, code);
      setAccepts((a) => ({ ...a, [key]: { state: 'done', answer } }));
    } catch (e) {
      const error = e as ApiError;
      const next: AcceptState = error.kind === 'confirmation_required'
        ? { state: 'confirm', code: '', error: null }
        : code !== null ? { state: 'confirm', code, error } : { state: 'error', error };
      setAccepts((a) => ({ ...a, [key]: next }));
    }
  }

  const setCode = (key: string, code: string) =>
    setAccepts((a) => ({ ...a, [key]: { state: 'confirm', code, error: null } }));

  if (loadError) return <Screen name="offers" title="Offers"><ErrorMessage error={loadError} /></Screen>;
  if (!providers) return <Screen name="offers" title="Offers"><Loading /></Screen>;

  if (providers.length === 0) {
    return (
      <Screen name="offers" title="Offers">
        <div className="empty" data-testid="offers-empty">
          <p>You have not added any pension providers yet. Add your providers in Settings (or import a registry file), then come back here to find your pensions.</p>
          <button type="button" className="primary" onClick={() => onGoto('settings')}>Go to Settings</button>
        </div>
      </Screen>
    );
  }

  const nameOf = (url: string) =>
    found?.find((f) => f.url === url)?.name ?? providers.find((p) => p.url === url)?.name ?? url;

  return (
    <Screen name="offers" title="Offers">
      <ProveIdentity />
      <p>
        Ask your {providers.length === 1 ? 'provider' : `${providers.length} providers`} which pensions they hold for you.
        You can then protect each one with this wallet, so that you decide who may see it.
      </p>
      <button type="button" className="primary" data-testid="find-pensions" onClick={search} disabled={searching}>
        {searching ? 'Searching…' : 'Find my pensions'}
      </button>
      <ErrorMessage error={searchError} />

      {found && (
        <section aria-labelledby="h-providers">
          <h2 id="h-providers">What each provider said</h2>
          <ul className="plain outcomes">
            {found.map((f) => (
              <li key={f.url} data-testid="provider-outcome" className={`outcome outcome-${f.outcome}`}>
                <strong>{f.name ?? f.url}</strong>: {OUTCOME[f.outcome] ?? f.outcome}
                {f.items && f.items.length > 0 && <> ({f.items.length})</>}
                {f.error && <span className="error-text"> — {f.error}</span>}
              </li>
            ))}
            {offers?.providers.filter((p) => p.error).map((p) => (
              <li key={`o-${p.url}`} className="outcome outcome-error">
                <strong>{nameOf(p.url)}</strong>: offers could not be listed — <span className="error-text">{p.error}</span>
              </li>
            ))}
          </ul>
        </section>
      )}

      {offers && (
        <section aria-labelledby="h-offer-list">
          <h2 id="h-offer-list">Pensions you can protect</h2>
          {offers.offers.length === 0 ? (
            <p className="empty" data-testid="no-offers">
              No pensions are waiting to be protected. Those already protected by this wallet are on the Pensions screen.
            </p>
          ) : (
            offers.offers.map((o) => {
              const key = `${o.provider} ${o.resource_id}`;
              const st = accepts[key];
              return (
                <article key={key} className="card offer" data-testid="offer-card">
                  <h3>{o.scheme}</h3>
                  <p className="muted small">{o.provider_name ?? nameOf(o.provider)} · <span className="mono">{o.pei}</span></p>
                  <p><span className={`tag ${o.match_status === 'match-yes' ? 'tag-ok' : 'tag-warn'}`}>{(o.match_status && MATCH_LABELS[o.match_status]) ?? o.match_status}</span></p>
                  {st?.state === 'done' ? (
                    // The button the owner pressed is gone: the outcome takes focus.
                    <Notice testId="accept-success" tone={st.answer.credential_error ? 'warning' : 'success'}>
                      Protected by your wallet.
                      {st.answer.credential ? ' Proof of protection (credential) received.' : null}
                      {st.answer.credential_error && (
                        <> The provider's proof (credential) could not be collected: {st.answer.credential_error}</>
                      )}
                    </Notice>
                  ) : st?.state === 'confirm' ? (
                    <ConfirmCode offer={o} provider={o.provider_name ?? nameOf(o.provider)} code={st.code} error={st.error}
                      onCode={(c) => setCode(key, c)} onSubmit={(c) => accept(o, c)} />
                  ) : (
                    <button type="button" data-testid="accept-offer" onClick={() => accept(o)} disabled={st?.state === 'running'}>
                      {st?.state === 'running' ? 'Protecting…' : 'Protect with my wallet'}
                    </button>
                  )}
                  {st?.state === 'error' && (
                    <p className="error" role="alert" data-testid="accept-error">Could not protect this pension: {st.error.message}</p>
                  )}
                </article>
              );
            })
          )}
        </section>
      )}
      {!found && !searching && <p className="muted">Nothing searched yet. Press “Find my pensions” to start.</p>}
    </Screen>
  );
}

/** The code a provider posted to the owner, asked for when another wallet protects the pension. */
function ConfirmCode({ offer, provider, code, error, onCode, onSubmit }: {
  offer: Offer;
  provider: string;
  code: string;
  error: ApiError | null;
  onCode: (code: string) => void;
  onSubmit: (code: string) => void;
}) {
  const field = `code-${offer.resource_id}`;
  const [problems, setProblems] = useState<Problem[]>([]);
  // A refusal from the provider arrives with the next state: it joins the summary then.
  useEffect(() => {
    if (error) setProblems([{ field, message: `That did not work: ${error.message}` }]);
  }, [error, field]);
  const problem = problems[0]?.message;
  function submit(e: FormEvent) {
    e.preventDefault();
    if (!code.trim()) {
      setProblems([{ field, message: `Enter the code from ${provider}` }]);
      return;
    }
    setProblems([]);
    onSubmit(code.trim());
  }
  return (
    <form data-testid="confirm-move" onSubmit={submit} noValidate>
      <ErrorSummary problems={problems} testId="confirm-move-error" level={4} />
      <p>
        Another wallet protects this pension. To check that moving it is your wish, {provider} has
        written to you with a code, in its usual way. Enter the code to move the pension to this wallet.
      </p>
      <div className={`field${problem ? ' has-error' : ''}`}>
        <label htmlFor={field}>Code from {provider}</label>
        <FieldError field={field} message={problem} />
        {/* The card's button was replaced by this form: the code box takes focus. */}
        <input id={field} inputMode="numeric" autoComplete="one-time-code" spellCheck={false} autoFocus value={code}
          onChange={(e) => onCode(e.target.value)} {...fieldAria(field, problem)} />
      </div>
      <button type="submit" className="primary" data-testid="confirm-move-submit">Move it to my wallet</button>
    </form>
  );
}
