import { useCallback, useEffect, useRef, useState } from 'react';
import {
  appState, listClients, listRequests, lockScreen, watchLinks, watchRequests, type ApiError, type AppState, type Client, type OpenedLink,
  type PendingRequest,
} from './api';
import { ErrorMessage, Loading, headingId } from './components';
import { requesterName } from './format';
import { TEXT_SIZES, applyTextSize, saveTextSize, storedTextSize, type TextSize } from './textSize';
import { CreateWallet } from './screens/CreateWallet';
import { Unlock } from './screens/Unlock';
import { Pensions } from './screens/Pensions';
import { Offers } from './screens/Offers';
import { Requests } from './screens/Requests';
import { Sharing } from './screens/Sharing';
import { Activity } from './screens/Activity';
import { SettingsScreen } from './screens/Settings';
import { FirstRun } from './FirstRun';

export type ScreenName = 'pensions' | 'offers' | 'requests' | 'sharing' | 'activity' | 'settings';

const NAV: { name: ScreenName; label: string }[] = [
  { name: 'pensions', label: 'My pensions' },
  // The screen keeps its old name in code and tests ('offers', nav-offers); the owner reads what it does.
  { name: 'offers', label: 'Find pensions' },
  { name: 'requests', label: 'Requests' },
  { name: 'sharing', label: 'Sharing' },
  // No item for the providers' records of her pensions: each pension says
  // whether its proof is there ("Proof this pension is protected"), and the
  // records themselves are in Settings, under Advanced.
  { name: 'activity', label: 'Activity' },
  { name: 'settings', label: 'Settings' },
];

export function App() {
  const [state, setState] = useState<AppState | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  // An error from creating the wallet that the unlock screen must show (the
  // wallet exists, but its server could not start: e.g. the port is taken).
  const [carried, setCarried] = useState<ApiError | null>(null);
  // Why the wallet locked itself, for the unlock screen (a new address).
  const [notice, setNotice] = useState<string | null>(null);
  // A wallet just created (not restored) opens on the guided first run, not
  // on an empty Pensions screen; it lasts until she finishes or leaves it.
  const [firstRun, setFirstRun] = useState(false);

  const load = useCallback(() => {
    setError(null);
    appState().then(setState, (e) => setError(e as ApiError));
  }, []);
  useEffect(load, [load]);
  // The owner's text size holds on every screen, the locked ones too.
  useEffect(() => applyTextSize(storedTextSize()), []);

  if (error) {
    return (
      <main className="center">
        <ErrorMessage error={error} />
        <button type="button" onClick={load}>Try again</button>
      </main>
    );
  }
  if (!state) return <main className="center"><Loading what="Opening your wallet…" /></main>;
  if (!state.wallet_exists) {
    const created = (s: AppState, problem?: ApiError) => {
      setCarried(problem ?? null);
      setState(s);
    };
    return <main className="center"><CreateWallet onDone={created} onCreated={() => setFirstRun(true)} /></main>;
  }
  if (!state.unlocked) {
    return <main className="center"><Unlock state={state} initialError={carried} notice={notice} onDone={setState} /></main>;
  }
  if (firstRun) return <main className="center"><FirstRun onFinish={() => setFirstRun(false)} /></main>;
  const changed = (s: AppState) => {
    if (!s.unlocked) setNotice(`Settings saved. Unlock to restart your wallet's server at ${s.settings.listen}.`);
    setState(s);
  };
  const locked = (s: AppState, why: 'asked' | 'idle') => {
    setNotice(why === 'idle'
      ? 'Your wallet locked itself after 15 minutes without use. It is still on and receiving requests.'
      : 'Locked. Your wallet is still on and receiving requests.');
    setState(s);
  };
  return <Wallet state={state} onState={changed} onLocked={locked} />;
}

/** The sidebar's text size choice: three sizes, kept for next time. */
function TextSizeChoice() {
  const [size, setSize] = useState<TextSize>(storedTextSize);
  return (
    <fieldset className="text-size" data-testid="text-size">
      <legend>Text size</legend>
      {TEXT_SIZES.map((s) => (
        <div className="check" key={s.value}>
          <input type="radio" name="text-size" id={`text-size-${s.value}`} data-testid={`text-size-${s.value}`} value={s.value}
            checked={size === s.value} onChange={() => { setSize(s.value); saveTextSize(s.value); }} />
          <label htmlFor={`text-size-${s.value}`}>{s.label}</label>
        </div>
      ))}
    </fieldset>
  );
}

/** What is new in `now` that was not in `before` (by id); nothing on the first look, which is no news. */
function arrived<T>(before: Set<string> | null, now: T[], id: (t: T) => string): T[] {
  return before ? now.filter((t) => !before.has(id(t))) : [];
}

/** How long without a key press, click or touch before the window locks
 * itself: long enough to read a statement, short enough for a shared room. */
export const IDLE_LOCK_MS = 15 * 60 * 1000;

export function Wallet({ state, onState, onLocked = () => {} }: {
  state: AppState;
  onState: (s: AppState) => void;
  onLocked?: (s: AppState, why: 'asked' | 'idle') => void;
}) {
  const lock = useCallback((why: 'asked' | 'idle') => {
    lockScreen().then((s) => onLocked(s, why), () => {});
  }, [onLocked]);
  useEffect(() => {
    let timer = window.setTimeout(() => lock('idle'), IDLE_LOCK_MS);
    const active = () => {
      window.clearTimeout(timer);
      timer = window.setTimeout(() => lock('idle'), IDLE_LOCK_MS);
    };
    const events = ['keydown', 'pointerdown', 'wheel', 'touchstart'] as const;
    events.forEach((e) => window.addEventListener(e, active, { passive: true }));
    return () => {
      window.clearTimeout(timer);
      events.forEach((e) => window.removeEventListener(e, active));
    };
  }, [lock]);
  const [screen, setScreen] = useState<ScreenName>('pensions');
  const [pending, setPending] = useState<PendingRequest[]>([]);
  const [pendingError, setPendingError] = useState<ApiError | null>(null);
  const [pendingLoaded, setPendingLoaded] = useState(false);
  // Pension providers waiting for the owner to let them use this wallet.
  const [waiting, setWaiting] = useState<Client[]>([]);
  const [waitingError, setWaitingError] = useState<ApiError | null>(null);
  // What the live region says: a screen reader hears news that only the badge would show.
  const [news, setNews] = useState('');
  const seenRequests = useRef<Set<string> | null>(null);
  const seenProviders = useRef<Set<string> | null>(null);
  const mounted = useRef(true);

  // The same words again are not read out again unless the text changes: a no-break space makes it new.
  const announce = useCallback((text: string) => setNews((before) => (before === text ? `${text}\u00a0` : text)), []);

  /** The last link the system opened the app with (`seq` tells one from the next). */
  const [link, setLink] = useState<{ opened: OpenedLink; seq: number } | null>(null);
  const linkSeq = useRef(0);
  /** Whether the owner changed something on this screen (ticked a box, typed): a
   * link then waits for her in a notice instead of taking her away from it. */
  const edited = useRef(false);
  useEffect(() => {
    edited.current = false;
  }, [screen]);
  /** A link that arrived while she was in the middle of something. */
  const [waitingLink, setWaitingLink] = useState<OpenedLink | null>(null);
  const showLink = useCallback((opened: OpenedLink) => {
    linkSeq.current += 1;
    setWaitingLink(null);
    setLink({ opened, seq: linkSeq.current });
    setScreen(opened.kind === 'offer' ? 'offers' : 'requests');
  }, []);
  useEffect(() => {
    watchLinks((opened) => {
      if (!edited.current) {
        showLink(opened);
        return;
      }
      setWaitingLink(opened);
      announce('A link arrived. What you are doing stays as it is: the notice at the top of the page shows it when you are ready.');
    }).catch(() => {
      // No links then: the app works the same without them.
    });
  }, [showLink, announce]);

  const refreshPending = useCallback(async () => {
    try {
      const list = await listRequests(false);
      if (!mounted.current) return;
      const now = list.filter((r) => r.status === 'pending');
      const fresh = arrived(seenRequests.current, now, (r) => r.id);
      seenRequests.current = new Set(now.map((r) => r.id));
      if (fresh.length) announce(fresh.map((r) => `New request from ${requesterName(r)}.`).join(' '));
      setPending(now);
      setPendingError(null);
    } catch (e) {
      if (mounted.current) setPendingError(e as ApiError);
    } finally {
      if (mounted.current) setPendingLoaded(true);
    }
  }, [announce]);

  const refreshWaiting = useCallback(async () => {
    try {
      const list = await listClients();
      if (!mounted.current) return;
      const now = list.filter((c) => c.protection === 'pending');
      const fresh = arrived(seenProviders.current, now, (c) => c.client_id);
      seenProviders.current = new Set(now.map((c) => c.client_id));
      if (fresh.length === 1) announce('A pension provider is waiting for your answer.');
      else if (fresh.length > 1) announce(`${fresh.length} pension providers are waiting for your answer.`);
      setWaiting(now);
      setWaitingError(null);
    } catch (e) {
      if (mounted.current) setWaitingError(e as ApiError);
    }
  }, [announce]);

  useEffect(() => {
    mounted.current = true;
    void refreshPending();
    void refreshWaiting();
    watchRequests((event) => {
      if (event.type === 'request_submitted') void refreshPending();
      else if (event.type === 'resource_server_waiting') void refreshWaiting();
    }).catch((e) => {
      if (mounted.current) setPendingError(e as ApiError);
    });
    return () => {
      mounted.current = false;
    };
  }, [refreshPending, refreshWaiting]);

  // A new screen starts at its heading, as a new page would: screen readers
  // say where the owner is, and Tab goes on from the top of the screen.
  useEffect(() => {
    document.getElementById(headingId(screen))?.focus();
  }, [screen]);

  // Everything waiting for the owner's answer: providers and access requests.
  const count = pending.length + waiting.length;

  return (
    <div className="layout">
      <a className="skip-link" href="#main-content" data-testid="skip-link"
        onClick={(e) => { e.preventDefault(); document.getElementById('main-content')?.focus(); }}>
        Skip to main content
      </a>
      <div className="sidebar">
        <header className="brand">Pension wallet</header>
        <nav aria-label="Main">
          <ul>
            {NAV.map(({ name, label }) => (
              <li key={name}>
                <button type="button" data-testid={`nav-${name}`} className={screen === name ? 'nav active' : 'nav'}
                  aria-current={screen === name ? 'page' : undefined} onClick={() => setScreen(name)}>
                  {/* The number in the badge is for the eye; the words hidden in the label are what screen readers say. */}
                  <span>
                    {label}
                    {name === 'requests' && count > 0 && <>{' '}<span className="sr-only">({count} waiting)</span></>}
                  </span>
                  {name === 'requests' && count > 0 && (
                    <span className="badge" data-testid="requests-badge" aria-hidden="true">{count}</span>
                  )}
                </button>
              </li>
            ))}
          </ul>
        </nav>
        <footer className="sidebar-footer">
          <button type="button" className="lock-now" data-testid="lock-now" onClick={() => lock('asked')}>Lock now</button>
          <TextSizeChoice />
          <div className="server-status" data-testid="server-status">
            <p>
              <span className={state.server ? 'dot dot-on' : 'dot dot-off'} aria-hidden="true" />
              {state.server ? 'Your wallet is on and can receive requests' : 'Your wallet’s server is not running'}
            </p>
            {state.server && (
              <details>
                <summary>Technical details</summary>
                <p className="mono">{state.server.issuer}</p>
              </details>
            )}
          </div>
          <div className="sr-only" aria-live="polite" data-testid="announcer">{news}</div>
        </footer>
      </div>
      <main className="content" id="main-content" tabIndex={-1} onChangeCapture={() => { edited.current = true; }}>
        {waitingLink && (
          <div className="warning stale-banner" data-testid="link-waiting">
            <p>
              <strong>{waitingLink.kind === 'offer' ? 'A link to your pensions arrived.' : 'A link to a request arrived.'}</strong>{' '}
              What you are doing here stays as it is until you choose.
            </p>
            <button type="button" data-testid="link-show" onClick={() => showLink(waitingLink)}>Show it</button>
            <button type="button" data-testid="link-later" onClick={() => setWaitingLink(null)}>Not now</button>
          </div>
        )}
        {screen === 'pensions' && <Pensions onGoto={setScreen} />}
        {screen === 'offers' && (
          <Offers onGoto={setScreen} link={link?.opened.kind === 'offer' ? { link: link.opened.link, seq: link.seq } : null}
            onLinkDone={() => setLink(null)} />
        )}
        {screen === 'requests' && (
          <Requests pending={pending} loaded={pendingLoaded} error={pendingError} refresh={refreshPending}
            waiting={waiting} waitingError={waitingError} refreshWaiting={refreshWaiting} onGoto={setScreen}
            linked={link?.opened.kind === 'request' ? { id: link.opened.id, seq: link.seq } : null} />
        )}
        {screen === 'sharing' && <Sharing />}
        {screen === 'activity' && <Activity />}
        {screen === 'settings' && <SettingsScreen state={state} onState={onState} />}
      </main>
    </div>
  );
}
