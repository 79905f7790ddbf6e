import { useEffect, useRef, useState, type FormEvent } from 'react';
import {
  acceptOffer, findPensions, listOffers, listProviders, readOfferLink,
  type AcceptAnswer, type ApiError, type FindResult, type Offer, type OfferLink, type OffersAnswer, type Provider,
} from '../api';
import type { EmploymentYears } from '../contract/EmploymentYears';
import { ErrorMessage, ErrorSummary, FieldError, Loading, Notice, Screen, fieldAria, type Problem } from '../components';
import { ProveIdentity } from '../ProveIdentity';
import { employerYears, formatTime, providerLabel } from '../format';
import { RegisterProblem, fetchRegister, refetching, registerError, type RegisterState } from '../Register';
import type { ScreenName } from '../App';
import '../wallet.css';

/** What each provider's answer means for the owner. */
const OUTCOME: Record<string, string> = {
  matched: 'Found pensions that match you',
  possible: 'Found pensions that might be yours',
  none: 'No pensions found for you',
  unreachable: 'Could not be reached just now',
  not_accepted: 'Does not accept your wallet yet',
  error: 'Something went wrong at their end',
  ok: 'Answered',
};

type AcceptState =
  | { state: 'running' }
  | { state: 'done'; answer: AcceptAnswer }
  | { state: 'error'; error: ApiError }
  /** Another wallet protects it: the provider wrote to the owner with a code. */
  | { state: 'confirm'; code: string; error: ApiError | null };

/** The last search, kept while the app is open: leaving the screen and
 * coming back shows it again, with when it was made. */
export interface SearchResult {
  found: FindResult[];
  offers: OffersAnswer | null;
  /** Unix seconds. */
  at: number;
  /** Pensions protected since, so that coming back does not offer them again. */
  accepted: Record<string, AcceptAnswer>;
}
let lastSearch: SearchResult | null = null;

/** For tests: each starts with nothing searched. */
export function forgetLastSearch() {
  lastSearch = null;
}

const offerKey = (o: Offer) => `${o.provider} ${o.resource_id}`;

/** Searching, and protecting what was found: the Find pensions screen and the first run share it. */
export function useFindPensions() {
  const [result, setResult] = useState<SearchResult | null>(lastSearch);
  const [searching, setSearching] = useState(false);
  const [searchError, setSearchError] = useState<ApiError | null>(null);
  const [accepts, setAccepts] = useState<Record<string, AcceptState>>(() =>
    Object.fromEntries(Object.entries(lastSearch?.accepted ?? {}).map(([k, answer]) => [k, { state: 'done', answer } as AcceptState])));
  /** Possible matches the owner said are hers. */
  const [mine, setMine] = useState<Record<string, boolean>>({});

  const remember = (next: SearchResult) => {
    lastSearch = next;
    setResult(next);
  };

  /** A search of either kind: shown as under way, its error shown, and
   * once done, nothing accepted or ticked from an earlier one. */
  async function runSearch(run: (at: number) => Promise<void>) {
    setSearching(true);
    setSearchError(null);
    try {
      await run(Math.floor(Date.now() / 1000));
      setAccepts({});
      setMine({});
    } catch (e) {
      setSearchError(e as ApiError);
    } finally {
      setSearching(false);
    }
  }

  const search = () => runSearch(async (at) => {
    const found = await findPensions();
    remember({ found, offers: null, at, accepted: {} });
    const offers = await listOffers();
    remember({ found, offers, at, accepted: {} });
  });

  /** One provider's offers only, without a search at the others: what an offer link asks for. */
  const searchAt = (provider: string) => runSearch(async (at) => {
    const offers = await listOffers(provider);
    remember({ found: [], offers, at, accepted: {} });
  });

  async function accept(offer: Offer, code: string | null = null) {
    const key = offerKey(offer);
    setAccepts((a) => ({ ...a, [key]: { state: 'running' } }));
    try {
      const answer = await acceptOffer(offer.provider, offer.resource_id, code);
      setAccepts((a) => ({ ...a, [key]: { state: 'done', answer } }));
      if (lastSearch) lastSearch = { ...lastSearch, accepted: { ...lastSearch.accepted, [key]: answer } };
    } catch (e) {
      const error = e as ApiError;
      const next: AcceptState = error.kind === 'confirmation_required'
        ? { state: 'confirm', code: '', error: null }
        : code !== null ? { state: 'confirm', code, error } : { state: 'error', error };
      setAccepts((a) => ({ ...a, [key]: next }));
    }
  }

  const setCode = (key: string, code: string) => setAccepts((a) => ({ ...a, [key]: { state: 'confirm', code, error: null } }));
  const setIsMine = (key: string, yes: boolean) => setMine((m) => ({ ...m, [key]: yes }));

  return { result, searching, searchError, search, searchAt, accepts, accept, setCode, mine, setIsMine };
}

export type FindPensions = ReturnType<typeof useFindPensions>;

/** A provider's name as known from the search or the list of providers; never its address. */
function namer(result: SearchResult | null, providers: Provider[]) {
  return (url: string, said?: string | null) =>
    providerLabel(said ?? result?.found.find((f) => f.url === url)?.name ?? providers.find((p) => p.url === url)?.name);
}

/** What each provider said to the last search. */
export function FindOutcomes({ result, providers, level = 2 }: { result: SearchResult; providers: Provider[]; level?: 2 | 3 }) {
  const nameOf = namer(result, providers);
  const Heading = `h${level}` as const;
  const failed = result.offers?.providers.filter((p) => p.error) ?? [];
  return (
    <section aria-labelledby="h-find-outcomes">
      <Heading id="h-find-outcomes">What each provider said</Heading>
      <ul className="plain outcomes">
        {result.found.map((f) => (
          <li key={f.url} data-testid="provider-outcome" className={`outcome outcome-${f.outcome}`}>
            <strong>{nameOf(f.url, f.name)}</strong>: {OUTCOME[f.outcome] ?? 'Answered'}
            {f.items && f.items.length > 0 && <> ({f.items.length})</>}
            {(f.error || f.outcome === 'unreachable' || f.outcome === 'error') && (
              <details className="small">
                <summary>Technical details</summary>
                <p className="mono">{f.url}{f.error ? ` — ${f.error}` : ''}</p>
              </details>
            )}
          </li>
        ))}
        {failed.map((p) => (
          <li key={`o-${p.url}`} className="outcome outcome-error" data-testid="provider-outcome-error">
            <strong>{nameOf(p.url)}</strong>: the pensions waiting there could not be listed just now.
            <details className="small">
              <summary>Technical details</summary>
              <p className="mono">{p.url} — {p.error}</p>
            </details>
          </li>
        ))}
      </ul>
    </section>
  );
}

/**
 * Who she worked for while building up an offered pension, and when: what
 * lets her recognise a possible match. Providers say it only once she has
 * proved who she is, with the offer or with what the search found (the
 * same pension, by its identifier).
 */
function employmentOf(o: Offer, result: SearchResult): EmploymentYears[] {
  if (o.employment?.length) return o.employment;
  if (!o.pei) return [];
  for (const f of result.found) {
    const found = f.items?.find((i) => i.pei === o.pei && i.employment?.length);
    if (found) return found.employment!;
  }
  return [];
}

/** One line per employer, under the scheme's name: "Acme Manufacturing Ltd, 1998 to 2012". */
export function EmployerLines({ employment }: { employment: readonly EmploymentYears[] }) {
  if (employment.length === 0) return null;
  return (
    <ul className="plain match-employment" aria-label={employment.length === 1 ? 'Employer' : 'Employers'}>
      {employment.map((e, i) => (
        <li key={`${e.employer}-${i}`} className="pension-employment" data-testid="match-employment">{employerYears(e)}</li>
      ))}
    </ul>
  );
}

/** The pensions found that this wallet does not look after yet, each with its "Protect it". */
export function OfferList({ find, providers, onSeePensions, level = 2 }: {
  find: FindPensions;
  providers: Provider[];
  /** The way to the pension once protected; none in the first run, which goes on by itself. */
  onSeePensions?: () => void;
  level?: 2 | 3;
}) {
  const { result, accepts, accept, setCode, mine, setIsMine } = find;
  if (!result?.offers) return null;
  const nameOf = namer(result, providers);
  const Heading = `h${level}` as const;
  const Sub = `h${level + 1}` as 'h3' | 'h4';
  return (
    <section aria-labelledby="h-offer-list">
      <Heading id="h-offer-list">Pensions you can protect</Heading>
      {result.offers.offers.length === 0 ? (
        <p className="empty" data-testid="no-offers">
          No pensions are waiting to be protected. Those this wallet already looks after are in My pensions.
        </p>
      ) : (
        result.offers.offers.map((o) => {
          const key = offerKey(o);
          const st = accepts[key];
          const provider = nameOf(o.provider, o.provider_name);
          const possible = o.match_status !== 'match-yes';
          const ticked = !!mine[key];
          const employment = employmentOf(o, result);
          const id = `offer-${o.resource_id}`;
          return (
            <article key={key} className="card offer" data-testid="offer-card" aria-labelledby={`${id}-h`}>
              <Sub id={`${id}-h`}>{o.scheme ?? 'A pension'}</Sub>
              <EmployerLines employment={employment} />
              <p className="offer-provider">With {provider}</p>
              {o.match_status === 'match-yes' ? (
                <p><span className="tag tag-ok" data-testid="offer-match">Matches your details</span></p>
              ) : (
                <p className="offer-possible" data-testid="offer-match">
                  <span className="tag tag-warn">Might be yours</span>{' '}
                  {provider} found this pension with some of your details, but not all. Check
                  {employment.length > 1 ? ' the employers and dates' : employment.length ? ' the employer and dates' : ' the name of the scheme'} before you protect it.
                </p>
              )}
              {o.authorization_server && (
                <p className="small">Something else looks after this pension now, such as another dashboard or wallet. Protecting it here moves it to this wallet.</p>
              )}
              {st?.state === 'done' ? (
                // The button the owner pressed is gone: the outcome takes focus.
                <Notice testId="accept-success" tone={st.answer.credential_error ? 'warning' : 'success'}>
                  <p>
                    Protected. This wallet now looks after {o.scheme ?? 'this pension'}: nobody sees it without asking you.
                    {st.answer.credential ? ` ${provider} has sent proof that this wallet looks after it.` : null}
                  </p>
                  {st.answer.credential_error && (
                    <p>{provider}’s proof of this could not be collected: {st.answer.credential_error}. Protect it again later to collect it.</p>
                  )}
                  {onSeePensions && (
                    <button type="button" data-testid="see-in-pensions" onClick={onSeePensions}>See it in My pensions</button>
                  )}
                </Notice>
              ) : st?.state === 'confirm' ? (
                <ConfirmCode offer={o} provider={provider} code={st.code} error={st.error}
                  onCode={(c) => setCode(key, c)} onSubmit={(c) => accept(o, c)} />
              ) : (
                <div className="offer-actions">
                  {possible && (
                    <div className="check">
                      <input type="checkbox" id={`${id}-mine`} data-testid="offer-mine" checked={ticked}
                        onChange={(e) => setIsMine(key, e.target.checked)} />
                      <label htmlFor={`${id}-mine`}>Yes, this is mine</label>
                    </div>
                  )}
                  <div className="buttons">
                    <button type="button" className="primary" data-testid="accept-offer" onClick={() => accept(o)}
                      disabled={st?.state === 'running' || (possible && !ticked)}
                      aria-describedby={possible && !ticked ? `${id}-why` : undefined}>
                      {st?.state === 'running' ? 'Protecting…' : 'Protect it'}
                    </button>
                    {possible && !ticked && <p className="hint" id={`${id}-why`}>Tick “Yes, this is mine” first.</p>}
                  </div>
                </div>
              )}
              {st?.state === 'error' && (
                <p className="error" role="alert" data-testid="accept-error">Could not protect this pension: {st.error.message}</p>
              )}
              <details className="small">
                <summary>Technical details</summary>
                <dl className="facts wide">
                  {o.pei && <div><dt>Pension identifier</dt>{' '}<dd className="mono">{o.pei}</dd></div>}
                  <div><dt>Provider’s address</dt>{' '}<dd className="mono">{o.provider}</dd></div>
                  <div><dt>Provider’s id for it</dt>{' '}<dd className="mono">{o.resource_id}</dd></div>
                  {o.match_status && <div><dt>Match status</dt>{' '}<dd className="mono">{o.match_status}</dd></div>}
                  {o.authorization_server && <div><dt>Looked after now by</dt>{' '}<dd className="mono">{o.authorization_server}</dd></div>}
                  {st?.state === 'done' && <div><dt>Now protected by</dt>{' '}<dd className="mono">{st.answer.authorization_server}</dd></div>}
                </dl>
              </details>
            </article>
          );
        })
      )}
    </section>
  );
}

/** What protecting a pension does, for whoever wants to know before pressing the button. */
export function WhatHappensNext() {
  return (
    <details className="what-next" data-testid="what-happens-next">
      <summary>What happens next</summary>
      <ul>
        <li>Your pension stays where it is, with your provider. Nothing about your money changes.</li>
        <li>Once you protect a pension, your provider asks this wallet before anyone sees it.</li>
        <li>Other pension dashboards and apps must ask you first. You decide in Requests, and can change your mind in Sharing.</li>
        <li>If something else looked after the pension before, such as another dashboard or wallet, it stops doing so.</li>
      </ul>
    </details>
  );
}

type LinkState =
  | { state: 'reading' }
  | { state: 'read'; offering: OfferLink }
  | { state: 'shown'; offering: OfferLink }
  | { state: 'declined'; offering: OfferLink }
  | { state: 'error'; error: ApiError };

/**
 * An offer the owner opened from a link (her provider's web page, a
 * letter): who offers first, then, if she wants, what, each pension to
 * protect or leave. Nothing is asked of the provider until she says so,
 * and nothing is kept if she declines.
 */
function OfferFromLink({ link, find, onDone }: { link: string; find: FindPensions; onDone: () => void }) {
  const [st, setSt] = useState<LinkState>({ state: 'reading' });
  useEffect(() => {
    let live = true;
    setSt({ state: 'reading' });
    readOfferLink(link).then(
      (offering) => { if (live) setSt({ state: 'read', offering }); },
      (error) => { if (live) setSt({ state: 'error', error: error as ApiError }); },
    );
    return () => { live = false; };
  }, [link]);
  const heading = useRef<HTMLHeadingElement>(null);
  // After the screen's own focus on its heading: the owner arrived for this.
  useEffect(() => { window.setTimeout(() => heading.current?.focus(), 0); }, [link]);

  const name = st.state === 'reading' || st.state === 'error' ? null : providerLabel(st.offering.provider_name);
  return (
    <section className="card offer-link" data-testid="offer-link" aria-labelledby="h-offer-link">
      <h2 id="h-offer-link" tabIndex={-1} ref={heading}>{name ? `A link to your pensions at ${name}` : 'A link to an offer'}</h2>
      {st.state === 'reading' && <Loading what="Reading the offer…" />}
      {st.state === 'error' && (
        <>
          <p role="alert" data-testid="offer-link-error">This link could not be used. {st.error.message}</p>
          <button type="button" data-testid="offer-link-close" onClick={onDone}>Close</button>
        </>
      )}
      {st.state === 'read' && (
        <>
          <p data-testid="offer-link-says">
            You opened a link that says {name}, one of your pension providers, offers to let this wallet look after the pensions it holds for you.
            Anyone can make such a link: if you were not expecting it, choose “No thanks”.
          </p>
          <p className="muted">
            To show you which pensions, your wallet asks {name} itself what it holds for you, sending your details as when you search. Nothing is added until you choose.
          </p>
          <div className="buttons">
            <button type="button" className="primary" data-testid="offer-link-show" disabled={find.searching}
              onClick={() => { setSt({ state: 'shown', offering: st.offering }); void find.searchAt(st.offering.provider); }}>
              See what {name} offers
            </button>
            <button type="button" data-testid="offer-link-decline" onClick={() => setSt({ state: 'declined', offering: st.offering })}>
              No thanks
            </button>
          </div>
        </>
      )}
      {st.state === 'shown' && (
        <p data-testid="offer-link-shown">
          {find.searching ? `Asking ${name}…` : `Below is what ${name} offers. Protect each pension you want this wallet to look after; leave the rest.`}
        </p>
      )}
      {st.state === 'declined' && (
        <Notice testId="offer-link-declined">
          <p>You declined the offer from {name}. Nothing was added and nothing was sent. You can search for your pensions here at any time.</p>
          <button type="button" data-testid="offer-link-close" onClick={onDone}>Close</button>
        </Notice>
      )}
      {st.state !== 'reading' && st.state !== 'error' && (
        <details className="small">
          <summary>Technical details</summary>
          <p className="mono">{st.offering.provider}</p>
        </details>
      )}
    </section>
  );
}

export function Offers({ onGoto, link = null, onLinkDone = () => {} }: {
  onGoto: (s: ScreenName) => void;
  /** An `openid-credential-offer://` link the app was opened with (`seq` tells one opening from the next). */
  link?: { link: string; seq: number } | null;
  onLinkDone?: () => void;
}) {
  const [providers, setProviders] = useState<Provider[] | null>(null);
  const [loadError, setLoadError] = useState<ApiError | null>(null);
  const find = useFindPensions();
  const { result, searching, searchError, search } = find;
  /** Getting the list of providers, when the wallet knows none yet. */
  const [register, setRegister] = useState<RegisterState | null>(null);

  const loadProviders = () => listProviders().then(setProviders, (e) => setLoadError(e as ApiError));
  useEffect(() => { void loadProviders(); }, []);

  async function getRegister() {
    if (register?.state === 'fetching') return;
    setRegister((before) => (before ? refetching(before) : { state: 'fetching' }));
    const now = await fetchRegister();
    setRegister(now);
    if (now.state === 'done') await loadProviders();
  }

  const title = 'Find pensions';
  if (loadError) return <Screen name="offers" title={title}><ErrorMessage error={loadError} /></Screen>;
  if (!providers) return <Screen name="offers" title={title}><Loading /></Screen>;

  if (providers.length === 0) {
    return (
      <Screen name="offers" title={title}>
        {link && <OfferFromLink key={link.seq} link={link.link} find={find} onDone={onLinkDone} />}
        <div className="empty" data-testid="offers-empty">
          <p>Your wallet does not know any pension providers yet, so it has nowhere to look.</p>
          <div className="buttons">
            <button type="button" className="primary" data-testid="fetch-register" onClick={getRegister}
              aria-disabled={register?.state === 'fetching' || undefined}>
              {register?.state === 'fetching' ? 'Getting the list…' : 'Get the list of pension providers'}
            </button>
            {register?.state === 'fetching' && <p className="muted" role="status">Getting the list of pension providers…</p>}
          </div>
          {register && registerError(register) && <RegisterProblem error={registerError(register)!} onRetry={getRegister} busy={register.state === 'fetching'} />}
          {(register?.state === 'none' || (register?.state === 'done' && register.providers === 0)) && (
            <p role="status" data-testid="register-none">This app has no list of pension providers to fetch.</p>
          )}
          <p>If you know your provider’s web address, you can add it in Settings, under “Advanced”.</p>
          <button type="button" onClick={() => onGoto('settings')}>Go to Settings</button>
        </div>
      </Screen>
    );
  }

  return (
    <Screen name="offers" title={title}>
      <p className="lead">
        Your wallet asks your {providers.length === 1 ? 'pension provider' : `${providers.length} pension providers`} which pensions
        they hold for you. You then choose which ones this wallet looks after, so that you decide who may see them.
      </p>
      {link && <OfferFromLink key={link.seq} link={link.link} find={find} onDone={onLinkDone} />}
      <WhatHappensNext />
      <ProveIdentity />
      <div className="find-bar">
        <button type="button" className="primary" data-testid="find-pensions" onClick={search} disabled={searching}>
          {searching ? 'Searching…' : result ? 'Search again' : 'Find my pensions'}
        </button>
        {result && !searching && <p className="muted" data-testid="last-searched">Last searched {formatTime(result.at)}</p>}
        {searching && <p className="muted" role="status">Asking your providers. This can take a moment…</p>}
      </div>
      <ErrorMessage error={searchError} />

      {result && <FindOutcomes result={result} providers={providers} />}
      <OfferList find={find} providers={providers} onSeePensions={() => onGoto('pensions')} />
      {!result && !searching && <p className="muted">Nothing searched yet. Press “Find my pensions” to start.</p>}
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
