import { useCallback, useEffect, useRef, useState } from 'react';
import {
  appState, listClients, listRequests, watchRequests, type ApiError, type AppState, type Client, type PendingRequest,
} from './api';
import { ErrorMessage, Loading } from './components';
import { CreateWallet } from './screens/CreateWallet';
import { Unlock } from './screens/Unlock';
import { Pensions } from './screens/Pensions';
import { Offers } from './screens/Offers';
import { Requests } from './screens/Requests';
import { Sharing } from './screens/Sharing';
import { Credentials } from './screens/Credentials';
import { Activity } from './screens/Activity';
import { SettingsScreen } from './screens/Settings';

export type ScreenName = 'pensions' | 'offers' | 'requests' | 'sharing' | 'credentials' | 'activity' | 'settings';

const NAV: { name: ScreenName; label: string }[] = [
  { name: 'pensions', label: 'Pensions' },
  { name: 'offers', label: 'Offers' },
  { name: 'requests', label: 'Requests' },
  { name: 'sharing', label: 'Sharing' },
  { name: 'credentials', label: 'Credentials' },
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

  const load = useCallback(() => {
    setError(null);
    appState().then(setState, (e) => setError(e as ApiError));
  }, []);
  useEffect(load, [load]);

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
    return <main className="center"><CreateWallet onDone={created} /></main>;
  }
  if (!state.unlocked) {
    return <main className="center"><Unlock state={state} initialError={carried} notice={notice} onDone={setState} /></main>;
  }
  const changed = (s: AppState) => {
    if (!s.unlocked) setNotice(`Settings saved. Unlock to restart your wallet's server at ${s.settings.listen}.`);
    setState(s);
  };
  return <Wallet state={state} onState={changed} />;
}

export function Wallet({ state, onState }: { state: AppState; onState: (s: AppState) => void }) {
  const [screen, setScreen] = useState<ScreenName>('pensions');
  const [pending, setPending] = useState<PendingRequest[]>([]);
  const [pendingError, setPendingError] = useState<ApiError | null>(null);
  const [pendingLoaded, setPendingLoaded] = useState(false);
  // Pension providers waiting for the owner to let them use this wallet.
  const [waiting, setWaiting] = useState<Client[]>([]);
  const [waitingError, setWaitingError] = useState<ApiError | null>(null);
  const mounted = useRef(true);

  const refreshPending = useCallback(async () => {
    try {
      const list = await listRequests(false);
      if (!mounted.current) return;
      setPending(list.filter((r) => r.status === 'pending'));
      setPendingError(null);
    } catch (e) {
      if (mounted.current) setPendingError(e as ApiError);
    } finally {
      if (mounted.current) setPendingLoaded(true);
    }
  }, []);

  const refreshWaiting = useCallback(async () => {
    try {
      const list = await listClients();
      if (!mounted.current) return;
      setWaiting(list.filter((c) => c.protection === 'pending'));
      setWaitingError(null);
    } catch (e) {
      if (mounted.current) setWaitingError(e as ApiError);
    }
  }, []);

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

  // Everything waiting for the owner's answer: providers and access requests.
  const count = pending.length + waiting.length;

  return (
    <div className="layout">
      <nav className="sidebar" aria-label="Main">
        <p className="brand">Pension wallet</p>
        <ul>
          {NAV.map(({ name, label }) => (
            <li key={name}>
              <button type="button" data-testid={`nav-${name}`} className={screen === name ? 'nav active' : 'nav'}
                aria-current={screen === name ? 'page' : undefined} onClick={() => setScreen(name)}>
                <span>{label}</span>
                {name === 'requests' && count > 0 && (
                  <span className="badge" data-testid="requests-badge" aria-label={`${count} waiting`}>{count}</span>
                )}
              </button>
            </li>
          ))}
        </ul>
        <p className="muted small server">
          {state.server ? <>Serving at<br />{state.server.issuer}</> : 'Server not running'}
        </p>
      </nav>
      <main className="content">
        {screen === 'pensions' && <Pensions onGoto={setScreen} />}
        {screen === 'offers' && <Offers onGoto={setScreen} />}
        {screen === 'requests' && (
          <Requests pending={pending} loaded={pendingLoaded} error={pendingError} refresh={refreshPending}
            waiting={waiting} waitingError={waitingError} refreshWaiting={refreshWaiting} />
        )}
        {screen === 'sharing' && <Sharing />}
        {screen === 'credentials' && <Credentials />}
        {screen === 'activity' && <Activity />}
        {screen === 'settings' && <SettingsScreen state={state} onState={onState} />}
      </main>
    </div>
  );
}
