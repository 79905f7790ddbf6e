import { useEffect, useRef, useState, type ChangeEvent, type FormEvent } from 'react';
import {
  changePassphrase, distrustIssuer, setUnlockAtLogin, exportBackup, fetchRegistry, getIdentity, importRegistry, listBackups, listProviders, listResources,
  listTrustedIssuers, registrySummary, removeProvider, saveSettings, setIdentity, setRegistryKey, trustIssuer,
  type ApiError, type AppState, type BackupFile, type GovernanceSummary, type Provider, type Resource, type TrustedIssuer,
} from '../api';
import { EMPTY_IDENTITY, IdentityFields, fromIdentity, identityProblems, toIdentity, type IdentityDraft } from '../IdentityFields';
import {
  ConfirmBox, ErrorMessage, ErrorSummary, FieldError, Loading, Notice, PassphraseInput, Screen, fieldAria, fromError, problemAt,
  useFocusLater, type Problem,
} from '../components';
import { formatDate, formatTime, providerLabel } from '../format';
import { AddProviderForm } from '../AddProvider';
import { Credentials } from './Credentials';
import '../wallet.css';

/**
 * Settings in the order the owner needs them: her details, her providers,
 * backups and her passphrase. What only a technical user should touch
 * (addresses, the official list's key and file, sign-in services, adding a
 * provider by hand, the providers' records of her pensions as they are)
 * waits in a closed "Advanced" section at the end.
 */
export function SettingsScreen({ state, onState }: { state: AppState; onState: (s: AppState) => void }) {
  // Bumped when a registry is imported, so the official list's summary reloads.
  const [governanceVersion, setGovernanceVersion] = useState(0);
  // Bumped too on an import, since the official list brings the regulators it names.
  const [trustedVersion, setTrustedVersion] = useState(0);
  // Bumped when a provider is added or imported under Advanced, so the list above shows it.
  const [providersVersion, setProvidersVersion] = useState(0);
  // The records of her pensions are read only once Advanced is first
  // opened, and stay (with what was done to them) when it closes again.
  const [advancedOpened, setAdvancedOpened] = useState(false);
  return (
    <Screen name="settings" title="Settings">
      <IdentitySettings />
      <Providers version={providersVersion} />
      <Backup state={state} onState={onState} />
      <StartAtLogin state={state} onState={onState} />
      <ChangePassphrase onState={onState} />
      <details className="advanced settings-advanced" data-testid="settings-advanced"
        onToggle={(e) => { if (e.currentTarget.open) setAdvancedOpened(true); }}>
        <summary data-testid="settings-advanced-open">Advanced (for technical users)</summary>
        <p className="small">
          These settings are for people who know what they do. You do not need any of them to find and protect your pensions.
        </p>
        <ServerSettings state={state} onState={onState} />
        <Governance version={governanceVersion}
          onImported={() => { setGovernanceVersion((v) => v + 1); setTrustedVersion((v) => v + 1); setProvidersVersion((v) => v + 1); }} />
        <AddProviderByHand onAdded={() => setProvidersVersion((v) => v + 1)} />
        <TrustedServices version={trustedVersion} />
        {advancedOpened && <Credentials />}
      </details>
    </Screen>
  );
}

function IdentitySettings() {
  const [draft, setDraft] = useState<IdentityDraft | null>(null);
  const [problems, setProblems] = useState<Problem[]>([]);
  const [error, setError] = useState<ApiError | null>(null);
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    getIdentity().then((i) => setDraft(i ? fromIdentity(i) : EMPTY_IDENTITY), (e) => setError(e as ApiError));
  }, []);

  async function save(e: FormEvent) {
    e.preventDefault();
    if (!draft) return;
    setSaved(false);
    const p = identityProblems(draft, 'settings-');
    setProblems(p);
    if (p.length) return;
    setBusy(true);
    try {
      setDraft(fromIdentity(await setIdentity(toIdentity(draft))));
      setSaved(true);
    } catch (err) {
      setProblems([fromError(err as ApiError)]);
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="card" aria-labelledby="h-identity">
      <h2 id="h-identity">Your details</h2>
      <p>Your wallet sends these to your pension providers when it looks for your pensions, to help them find yours.</p>
      {!draft ? <ErrorMessage error={error} /> : (
        <form onSubmit={save} noValidate>
          <ErrorSummary problems={problems} testId="identity-error" level={3} />
          <IdentityFields value={draft} onChange={(d) => { setDraft(d); setSaved(false); }} prefix="settings-" problems={problems} />
          {saved && <Notice testId="identity-saved">Saved. The next search uses these details.</Notice>}
          <button type="submit" className="primary" data-testid="save-identity" disabled={busy}>{busy ? 'Saving…' : 'Save details'}</button>
        </form>
      )}
    </section>
  );
}

function ServerSettings({ state, onState }: { state: AppState; onState: (s: AppState) => void }) {
  const [listen, setListen] = useState(state.settings.listen);
  const [issuer, setIssuer] = useState(state.settings.public_issuer ?? '');
  const [problems, setProblems] = useState<Problem[]>([]);
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);

  async function save(e: FormEvent) {
    e.preventDefault();
    setSaved(false);
    if (!listen.trim()) {
      setProblems([{ field: 'listen', message: 'Enter the address to listen on, for example 127.0.0.1:8471' }]);
      return;
    }
    setProblems([]);
    setBusy(true);
    try {
      onState(await saveSettings({ ...state.settings, listen: listen.trim(), public_issuer: issuer.trim() ? issuer.trim() : null }));
      setSaved(true);
    } catch (err) {
      setProblems([fromError(err as ApiError)]);
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="card" aria-labelledby="h-server">
      <h2 id="h-server">Wallet server</h2>
      <p className="small">Changing these restarts the wallet’s server: you then unlock the wallet again.</p>
      <form onSubmit={save} noValidate>
        <ErrorSummary problems={problems} testId="server-error" level={3} />
        <div className={`field${problemAt(problems, 'listen') ? ' has-error' : ''}`}>
          <label htmlFor="listen">Listen address (host:port)</label>
          <FieldError field="listen" message={problemAt(problems, 'listen')} />
          <input id="listen" spellCheck={false} value={listen} onChange={(e) => setListen(e.target.value)} {...fieldAria('listen', problemAt(problems, 'listen'))} />
        </div>
        <div className="field">
          <label htmlFor="public-issuer">Public address (issuer URL), if the wallet is reached through another address</label>
          <p className="hint" id="public-issuer-hint">For example, https://wallet.example.org. Leave it empty if you are not sure.</p>
          <input id="public-issuer" type="url" spellCheck={false} aria-describedby="public-issuer-hint" value={issuer} onChange={(e) => setIssuer(e.target.value)} />
        </div>
        {saved && <p className="success" role="status">Saved. {state.server ? `The wallet now serves at ${state.server.issuer}.` : ''}</p>}
        <button type="submit" className="primary" disabled={busy}>{busy ? 'Saving…' : 'Save'}</button>
      </form>
      <dl className="facts wide">
        <div><dt>Data folder</dt><dd className="mono" data-testid="data-dir">{state.data_dir}</dd></div>
        {state.server && <div><dt>Serving at</dt><dd className="mono">{state.server.issuer}</dd></div>}
      </dl>
    </section>
  );
}

/** The official list (governance registry): its key, its file, and what it holds. */
function Governance({ version, onImported }: { version: number; onImported: () => void }) {
  const [summary, setSummary] = useState<GovernanceSummary | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [key, setKey] = useState('');
  const [saved, setSaved] = useState(false);
  const [importMsg, setImportMsg] = useState<string | null>(null);
  const [importError, setImportError] = useState<ApiError | null>(null);
  const [fetching, setFetching] = useState(false);

  useEffect(() => {
    registrySummary().then((g) => { setSummary(g); setKey(g.trusted_key ?? ''); }, (e) => setError(e as ApiError));
  }, [version]);

  async function save(e: FormEvent) {
    e.preventDefault();
    setError(null);
    setSaved(false);
    try {
      setSummary(await setRegistryKey(key.trim()));
      setSaved(true);
    } catch (err) {
      setError(err as ApiError);
    }
  }

  function onFile(e: ChangeEvent<HTMLInputElement>) {
    setImportMsg(null);
    setImportError(null);
    const file = e.target.files?.[0];
    e.target.value = '';
    if (!file) return;
    const reader = new FileReader();
    reader.onerror = () => setImportError({ kind: 'invalid_input', message: 'The file could not be read.' });
    reader.onload = async () => {
      try {
        const imported = await importRegistry(String(reader.result).trim());
        const added = imported.providers;
        setImportMsg(`The official list checked out. ${added.length} provider${added.length === 1 ? '' : 's'} from ${file.name} ${added.length === 1 ? 'is' : 'are'} now on your list.`);
        onImported();
      } catch (err) {
        setImportError(err as ApiError);
      }
    };
    reader.readAsText(file);
  }

  async function fetchAgain() {
    if (fetching) return;
    setFetching(true);
    setImportMsg(null);
    setImportError(null);
    try {
      const fetched = await fetchRegistry();
      setImportMsg(`The official list was fetched and checked out. ${fetched.providers.length} provider${fetched.providers.length === 1 ? '' : 's'} from it ${fetched.providers.length === 1 ? 'is' : 'are'} on your list.`);
      onImported();
    } catch (err) {
      setImportError(err as ApiError);
    } finally {
      setFetching(false);
    }
  }

  const held = summary?.registry;
  const count = (role: string) => held?.entries.filter((e) => e.role === role).length ?? 0;
  return (
    <section className="card" aria-labelledby="h-registry" data-testid="governance">
      <h2 id="h-registry">Official list</h2>
      <p className="small">
        The official list (governance registry) names the pension providers, identity services and apps that may take part.
        Your wallet checks its seal before using it, and refuses a list that does not check out.
      </p>
      {held ? (
        <p data-testid="registry-held">
          {held.name}, edition {held.version}: {count('pension_provider')} pension providers, {count('identity_issuer')} identity
          services and {count('client')} apps. Valid until {formatTime(held.expires_at)}.
        </p>
      ) : summary?.expired ? (
        <p className="error" role="alert">Your copy of the official list has expired. Import a newer one below.</p>
      ) : (
        <p>No official list yet. Fetch it, or import the registry file below, to add the providers and identity services it lists.</p>
      )}
      {summary?.source && <p className="small">Fetched from <span className="mono" data-testid="registry-source">{summary.source}</span></p>}
      <div className="buttons">
        <button type="button" data-testid="registry-fetch" onClick={fetchAgain} aria-disabled={fetching || undefined}>
          {fetching ? 'Fetching…' : 'Fetch the latest official list'}
        </button>
      </div>
      <form onSubmit={save} className="subform">
        <div className="field">
          <label htmlFor="registry-key">Registry key (did:key) the list must be signed with</label>
          <input id="registry-key" className="mono" value={key} onChange={(e) => setKey(e.target.value)} />
        </div>
        <button type="submit" data-testid="save-registry-key">Save key</button>
        {saved && <p className="success" role="status">Saved.</p>}
      </form>
      <ErrorMessage error={error} />
      <div className="subform">
        <div className="field">
          <label htmlFor="registry-file">Registry file</label>
          <input id="registry-file" type="file" accept=".jws,.jwt,.txt,application/jwt" onChange={onFile} />
        </div>
      </div>
      {/* One place for what fetching or importing did: both change the same list. */}
      <ErrorMessage error={importError} testId="registry-error" />
      {importMsg && <p className="success" role="status" data-testid="registry-updated">{importMsg}</p>}
    </section>
  );
}

/** Adding a provider by web address: under Advanced, for a provider the official list does not name. */
function AddProviderByHand({ onAdded }: { onAdded: () => void }) {
  /** The button pressed waited while the add ran, so focus comes to what happened. */
  const [done, setDone] = useState<{ text: string } | null>(null);
  return (
    <section className="card" aria-labelledby="h-provider-add">
      {done && <Notice testId="provider-added" focusKey={done}>{done.text}</Notice>}
      <AddProviderForm level={2} className="" onAdded={(added) => {
        setDone({ text: `You added ${added.name ?? added.url}. Find your pensions with it on the Find pensions screen.` });
        onAdded();
      }} />
    </section>
  );
}

/** The providers this wallet asks, and removing one after saying what that does to its pensions. */
function Providers({ version }: { version: number }) {
  const [list, setList] = useState<Provider[] | null>(null);
  const [loadError, setLoadError] = useState<ApiError | null>(null);
  /** How many pensions this wallet protects at each provider, for the removal question. */
  const [resources, setResources] = useState<Resource[]>([]);
  const [confirming, setConfirming] = useState<string | null>(null);
  const [removing, setRemoving] = useState(false);
  const [rowError, setRowError] = useState<{ url: string; error: ApiError } | null>(null);
  /** What the last removal did: the row is gone, so focus comes here. */
  const [done, setDone] = useState<{ text: string } | null>(null);
  const focusLater = useFocusLater();

  const load = () => listProviders().then((l) => { setList(l); setLoadError(null); }, (e) => setLoadError(e as ApiError));
  useEffect(() => {
    void load();
    listResources().then(setResources, () => setResources([]));
  }, [version]);

  async function remove(p: Provider) {
    setRowError(null);
    setDone(null);
    setRemoving(true);
    try {
      await removeProvider(p.url);
      // Said before the row goes, so that focus has somewhere to land.
      setConfirming(null);
      setDone({ text: `You removed ${providerLabel(p.name)} from your providers.` });
      await load();
    } catch (err) {
      setRowError({ url: p.url, error: err as ApiError });
    } finally {
      setRemoving(false);
    }
  }

  const pensionsAt = (url: string) => resources.filter((r) => r.resource_server === url).length;
  return (
    <section className="card" aria-labelledby="h-providers">
      <h2 id="h-providers">Pension providers</h2>
      <p>Your wallet asks these providers for your pensions.</p>
      <ErrorMessage error={loadError} />
      {!list && !loadError && <Loading />}
      {done && <Notice testId="provider-removed" focusKey={done}>{done.text}</Notice>}
      {list && list.length === 0 && (
        <p className="empty" data-testid="providers-empty">
          Your wallet does not know any pension providers yet. They usually come from the official list of providers. If you
          know a provider’s web address, you can add it under “Advanced” below.
        </p>
      )}
      {list && list.length > 0 && (
        <ul className="rows">
          {list.map((p) => {
            const name = providerLabel(p.name);
            const n = pensionsAt(p.url);
            const its = n === 0 ? 'Any pensions there' : n === 1 ? 'Its pension' : `Its ${n} pensions`;
            return (
              <li key={p.url} data-testid="provider-row">
                <div className="provider-row-main">
                  <strong>{name}</strong>
                  {p.from_registry && <>{' '}<span className="tag tag-ok">From the official list</span></>}
                  <div className="muted small">Added {formatDate(p.added_at)}</div>
                  {confirming === p.url && (
                    <ConfirmBox label={`Remove ${name}?`} testId="provider-remove-confirm">
                      <p><strong>Remove {name}?</strong></p>
                      <p>
                        {its} {n === 1 ? 'stays' : 'stay'} protected at {name}, but this wallet stops reading {n === 1 ? 'it' : 'them'}:
                        {n === 1 ? ' it leaves' : ' they leave'} My pensions and your totals. To see {n === 1 ? 'it' : 'them'} here
                        again, add {name} again.
                        {p.from_registry && ' Importing the official list again may add it back.'}
                      </p>
                      <div className="buttons">
                        <button type="button" className="danger" data-testid="provider-confirm-remove" disabled={removing}
                          onClick={() => remove(p)}>{removing ? 'Removing…' : `Yes, remove ${name}`}</button>
                        <button type="button" data-testid="provider-keep"
                          onClick={() => { setConfirming(null); setRowError(null); focusLater(`provider-remove-${p.url}`); }}>Keep it</button>
                      </div>
                    </ConfirmBox>
                  )}
                  {rowError?.url === p.url && <ErrorMessage error={rowError.error} />}
                  <details className="small">
                    <summary>Technical details</summary>
                    <p className="mono">{p.url}</p>
                    {p.did && <p className="mono">{p.did}</p>}
                  </details>
                </div>
                {confirming !== p.url && (
                  <button type="button" id={`provider-remove-${p.url}`} data-testid="provider-remove" aria-label={`Remove ${name}`}
                    onClick={() => { setConfirming(p.url); setRowError(null); setDone(null); }}>Remove</button>
                )}
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}

/** A file size in words a person reads: "740 bytes", "12 KB", "2.4 MB". */
export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} ${bytes === 1 ? 'byte' : 'bytes'}`;
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

/** The backups, newest first (whatever order they came in). */
export function newestFirst(list: BackupFile[]): BackupFile[] {
  return [...list].sort((a, b) => b.made_at - a.made_at);
}

/** `https://`, or `http://` on this computer only (a local test service). */
function isServiceAddress(u: string): boolean {
  return /^https:\/\/[^\s/]+\S*$/i.test(u) || /^http:\/\/(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?(\/\S*)?$/i.test(u);
}

/** The sign-in services (and the regulators from the official list) whose
 * word the wallet takes about who someone is. */
function TrustedServices({ version }: { version: number }) {
  const [list, setList] = useState<TrustedIssuer[] | null>(null);
  const [loadError, setLoadError] = useState<ApiError | null>(null);
  const [url, setUrl] = useState('');
  const [account, setAccount] = useState('');
  const [problems, setProblems] = useState<Problem[]>([]);
  const [busy, setBusy] = useState(false);
  const [confirming, setConfirming] = useState<string | null>(null);
  const focusLater = useFocusLater();
  const [removing, setRemoving] = useState(false);
  const [rowError, setRowError] = useState<{ issuer: string; error: ApiError } | null>(null);
  const [done, setDone] = useState<string | null>(null);

  const load = () => listTrustedIssuers().then((l) => { setList(l); setLoadError(null); }, (e) => setLoadError(e as ApiError));
  useEffect(() => { void load(); }, [version]);

  async function add(e: FormEvent) {
    e.preventDefault();
    setDone(null);
    const issuer = url.trim();
    if (!isServiceAddress(issuer)) {
      setProblems([{ field: 'trust-issuer-url', message: 'Enter the sign-in service’s web address, starting with https://' }]);
      return;
    }
    setProblems([]);
    const id = account.trim();
    setBusy(true);
    try {
      const added = await trustIssuer({ issuer, jwks_uri: null, client_ids: id ? [id] : [] });
      setUrl('');
      setAccount('');
      setDone(`You now trust ${added.issuer}. People who prove who they are there show as “verified” in your requests.`);
      await load();
    } catch (err) {
      setProblems([fromError(err as ApiError, 'trust-issuer-url')]);
    } finally {
      setBusy(false);
    }
  }

  async function remove(issuer: string) {
    setRowError(null);
    setDone(null);
    setRemoving(true);
    try {
      await distrustIssuer(issuer);
      setConfirming(null);
      setDone(`You no longer trust ${issuer}.`);
      await load();
    } catch (err) {
      setRowError({ issuer, error: err as ApiError });
    } finally {
      setRemoving(false);
    }
  }

  return (
    <section className="card" aria-labelledby="h-trusted" data-testid="trusted-issuers">
      <h2 id="h-trusted">Sign-in services you trust</h2>
      <p>
        A sign-in service is a website where people prove who they are, such as a bank or a government sign-in. When you
        trust one, people who prove who they are there show as “verified” in your requests, so you know it really is them.
        Only trust services you know.
      </p>
      <ErrorMessage error={loadError} />
      {!list && !loadError && <Loading />}
      {list && list.length === 0 && (
        <p className="empty" data-testid="trusted-issuers-empty">You trust no sign-in service yet, so nobody who asks for access can show as “verified”.</p>
      )}
      {list && list.length > 0 && (
        <ul className="rows">
          {list.map((t) => (
            <li key={t.issuer} data-testid="trusted-issuer">
              <div>
                <strong>{t.issuer}</strong>
                {t.credential_issuer ? (
                  <div>
                    <span className="tag tag-ok">From the official list</span>{' '}
                    <span className="small">A regulator that vouches for financial advisers: advisers it vouches for show as “verified”.</span>
                  </div>
                ) : (
                  <div className="small">People who prove who they are here show as “verified”.</div>
                )}
                <div className="muted small">Added {formatTime(t.added_at)}</div>
                <details>
                  <summary>Technical details</summary>
                  <dl className="facts wide small">
                    <div><dt>Issuer</dt><dd className="mono">{t.issuer}</dd></div>
                    <div><dt>Kind</dt><dd>{t.credential_issuer ? 'Credential issuer (governance registry)' : 'OpenID Provider'}</dd></div>
                    <div>
                      <dt>Keys</dt>
                      <dd className={t.jwks_uri && !t.jwks ? 'mono' : undefined}>{t.jwks ? 'Given by the registry' : t.jwks_uri ?? 'Found through OpenID discovery'}</dd>
                    </div>
                    {!t.credential_issuer && (
                      <div><dt>Client ids</dt><dd className="mono">{t.client_ids?.length ? t.client_ids.join(', ') : 'None'}</dd></div>
                    )}
                  </dl>
                </details>
                {confirming === t.issuer && (
                  <div className="trust-confirm" role="group" aria-label={`Stop trusting ${t.issuer}?`}>
                    <p>
                      Stop trusting {t.issuer}? People who prove who they are there will no longer show as “verified”.
                      {t.credential_issuer && ' Importing the official list again may add it back.'}
                    </p>
                    <div className="buttons">
                      <button type="button" className="danger" data-testid="trusted-issuer-confirm-remove" disabled={removing}
                        onClick={() => remove(t.issuer)}>{removing ? 'Removing…' : 'Yes, stop trusting it'}</button>
                      <button type="button" autoFocus
                        onClick={() => { setConfirming(null); setRowError(null); focusLater(`trusted-issuer-remove-${t.issuer}`); }}>Cancel</button>
                    </div>
                  </div>
                )}
                {rowError?.issuer === t.issuer && <ErrorMessage error={rowError.error} />}
              </div>
              {confirming !== t.issuer && (
                <button type="button" id={`trusted-issuer-remove-${t.issuer}`} data-testid="trusted-issuer-remove" aria-label={`Remove ${t.issuer}`}
                  onClick={() => { setConfirming(t.issuer); setRowError(null); setDone(null); }}>Remove</button>
              )}
            </li>
          ))}
        </ul>
      )}
      {done && <Notice testId="trusted-issuers-done">{done}</Notice>}
      <form onSubmit={add} className="subform" aria-labelledby="h-trust-add" noValidate>
        <h3 id="h-trust-add">Trust a sign-in service</h3>
        <ErrorSummary problems={problems} testId="trust-issuer-error" level={4} />
        <div className={`field${problemAt(problems, 'trust-issuer-url') ? ' has-error' : ''}`}>
          <label htmlFor="trust-issuer-url">Address of the sign-in service</label>
          <p className="hint" id="trust-issuer-url-hint">Its web address, starting with https://, for example https://signin.example.org. The service tells you this address.</p>
          <FieldError field="trust-issuer-url" message={problemAt(problems, 'trust-issuer-url')} />
          <input id="trust-issuer-url" data-testid="trust-issuer-url" type="url" spellCheck={false}
            {...fieldAria('trust-issuer-url', problemAt(problems, 'trust-issuer-url'), 'trust-issuer-url-hint')}
            value={url} onChange={(e) => setUrl(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="trust-issuer-account">This wallet’s account id at that service (optional)</label>
          <p className="hint" id="trust-issuer-account-hint">Only if the service gave this wallet an account id when you set it up there. Leave it empty otherwise.</p>
          <input id="trust-issuer-account" spellCheck={false} aria-describedby="trust-issuer-account-hint" value={account} onChange={(e) => setAccount(e.target.value)} />
        </div>
        <button type="submit" data-testid="trust-issuer-add" disabled={busy}>{busy ? 'Adding…' : 'Trust this service'}</button>
      </form>
    </section>
  );
}

const PASSPHRASE_ERRORS: Record<string, string> = {
  wrong_passphrase: 'Your current passphrase is not right. Please try again.',
};

function ChangePassphrase({ onState }: { onState: (s: AppState) => void }) {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [repeat, setRepeat] = useState('');
  const [newKey, setNewKey] = useState(false);
  const [problems, setProblems] = useState<Problem[]>([]);
  const [changed, setChanged] = useState(false);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setChanged(false);
    const p: Problem[] = [];
    if (!current) p.push({ field: 'passphrase-current', message: 'Enter your current passphrase.' });
    if (!next) p.push({ field: 'passphrase-new', message: 'Enter a new passphrase.' });
    else if (next !== repeat) p.push({ field: 'passphrase-repeat', message: 'The two new passphrases do not match.' });
    else if (next === current) p.push({ field: 'passphrase-new', message: 'The new passphrase is the same as the current one.' });
    setProblems(p);
    if (p.length) return;
    setBusy(true);
    try {
      onState(await changePassphrase(current, next, newKey));
      setCurrent('');
      setNext('');
      setRepeat('');
      setChanged(true);
    } catch (err) {
      const a = err as ApiError;
      setProblems([a.kind === 'invalid_request'
        ? fromError(a, 'passphrase-new', `Please choose a stronger new passphrase. ${a.message}`)
        : fromError(a, a.kind === 'wrong_passphrase' ? 'passphrase-current' : undefined, PASSPHRASE_ERRORS[a.kind] ?? a.message)]);
    } finally {
      setBusy(false);
    }
  }

  const field = (id: string, label: string, value: string, set: (v: string) => void, autoComplete: 'current-password' | 'new-password', hint?: string) => {
    const problem = problemAt(problems, id);
    const hintId = hint ? `${id}-hint` : undefined;
    return (
      <div className={`field${problem ? ' has-error' : ''}`}>
        <label htmlFor={id}>{label}</label>
        {hint && <p className="hint" id={hintId}>{hint}</p>}
        <FieldError field={id} message={problem} />
        <PassphraseInput id={id} testId={id} autoComplete={autoComplete} value={value} onChange={set}
          invalid={!!problem} describedBy={fieldAria(id, problem, hintId)['aria-describedby']} />
      </div>
    );
  };

  return (
    <section className="card" aria-labelledby="h-passphrase">
      <h2 id="h-passphrase">Change your passphrase</h2>
      <p>Your passphrase unlocks this wallet. Nobody can recover it for you, so write the new one down somewhere safe.</p>
      <form onSubmit={submit} noValidate>
        <ErrorSummary problems={problems} testId="passphrase-error" level={3} />
        {field('passphrase-current', 'Current passphrase', current, setCurrent, 'current-password')}
        {field('passphrase-new', 'New passphrase', next, setNext, 'new-password', 'At least 8 characters. A few unrelated words make a strong one.')}
        {field('passphrase-repeat', 'Repeat the new passphrase', repeat, setRepeat, 'new-password')}
        <div className="check">
          <input type="checkbox" id="passphrase-new-key" data-testid="passphrase-new-key" checked={newKey}
            onChange={(e) => setNewKey(e.target.checked)} aria-describedby="passphrase-new-key-hint" />
          <label htmlFor="passphrase-new-key">Also change the key that locks everything in your wallet</label>
        </div>
        <p className="hint" id="passphrase-new-key-hint">
          Choose this if someone may have learnt your current passphrase: with it and an old copy of your wallet, they
          could otherwise still read what your wallet keeps from now on. Your wallet closes for a moment, and the apps you
          share with ask again for access (what you allowed stays allowed).
        </p>
        {changed && (
          <Notice testId="passphrase-changed">
            Your passphrase has changed: use the new one to unlock your wallet from now on. Backups made before today still
            open only with your old passphrase, so keep the old one as long as you keep those backups. If someone else may
            know your old passphrase, delete those older backups: with it, they would open your wallet as it was.
          </Notice>
        )}
        <button type="submit" className="primary" data-testid="passphrase-change" disabled={busy}>{busy ? 'Changing…' : 'Change passphrase'}</button>
      </form>
    </section>
  );
}

/** Whether the wallet starts with the computer, in the background, so
 * that requests reach it while the owner does other things. */
function StartAtLogin({ state, onState }: { state: AppState; onState: (s: AppState) => void }) {
  const [on, setOn] = useState(state.settings.start_at_login);
  const [saved, setSaved] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [saving, setSaving] = useState(false);
  // A second click before the first save re-renders must not save twice.
  const inFlight = useRef(false);

  async function save(e: FormEvent) {
    e.preventDefault();
    if (inFlight.current) return;
    inFlight.current = true;
    setSaved(null);
    setError(null);
    setSaving(true);
    try {
      onState(await saveSettings({ ...state.settings, start_at_login: on }));
      setSaved(on
        ? 'Saved. The wallet starts when you log in to this computer, and waits quietly in the corner of the screen.'
        : 'Saved. The wallet starts only when you open it. While it is closed, nobody can ask you for access.');
    } catch (err) {
      setError(err as ApiError);
    } finally {
      inFlight.current = false;
      setSaving(false);
    }
  }

  return (
    <section className="card" aria-labelledby="h-start-at-login">
      <h2 id="h-start-at-login">Starting with your computer</h2>
      <p>
        When people or services ask to see a pension, your wallet has to be running to take the request. If it starts when you
        log in, it waits in the corner of the screen (where the clock is) until you open it.
      </p>
      <form onSubmit={save} noValidate>
        <div className="check">
          <input id="start-at-login" data-testid="start-at-login" type="checkbox" checked={on} onChange={(e) => setOn(e.target.checked)} />
          <label htmlFor="start-at-login">Start the wallet when I log in</label>
        </div>
        <ErrorMessage error={error} />
        {saved && <Notice testId="start-at-login-saved">{saved}</Notice>}
        <button type="submit" data-testid="start-at-login-save" aria-disabled={saving || undefined}>{saving ? 'Saving…' : 'Save when the wallet starts'}</button>
      </form>
      <UnlockAtLogin state={state} onState={onState} />
    </section>
  );
}

/** Opening the wallet when it starts, without the passphrase: kept in the
 * computer's keyring, and only if the owner chooses it. */
function UnlockAtLogin({ state, onState }: { state: AppState; onState: (s: AppState) => void }) {
  const on = state.settings.unlock_at_login;
  const [passphrase, setPassphrase] = useState('');
  const [problems, setProblems] = useState<Problem[]>([]);
  const [saved, setSaved] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  const inFlight = useRef(false);

  async function change(e: FormEvent) {
    e.preventDefault();
    if (inFlight.current) return;
    setSaved(null);
    if (!on && passphrase === '') {
      setProblems([{ field: 'unlock-passphrase', message: 'Type your passphrase: the keyring keeps it for the wallet.' }]);
      return;
    }
    inFlight.current = true;
    setProblems([]);
    setSaving(true);
    try {
      onState(await setUnlockAtLogin(!on, on ? null : passphrase));
      setPassphrase('');
      setSaved(on
        ? 'Done. The wallet takes requests only once you type your passphrase, and the keyring no longer keeps it.'
        : 'Done. When the wallet starts, it takes requests straight away, with the passphrase the keyring keeps.');
    } catch (err) {
      const error = err as ApiError;
      setProblems([error.kind === 'wrong_passphrase' ? { field: 'unlock-passphrase', message: 'That passphrase does not open this wallet.' } : fromError(error)]);
    } finally {
      inFlight.current = false;
      setSaving(false);
    }
  }

  return (
    <form onSubmit={change} className="subform" aria-labelledby="h-unlock-at-login" noValidate>
      <h3 id="h-unlock-at-login">Taking requests before you type your passphrase</h3>
      <p>
        {on
          ? 'When the wallet starts, it takes requests straight away, with your passphrase kept in this computer’s keyring (where it keeps your other passwords). To see or answer them, you still type your passphrase.'
          : 'When the wallet starts, it can take requests straight away, before you type your passphrase. To see or answer them, you still type it. For this, your passphrase is kept in this computer’s keyring, where it keeps your other passwords.'}
      </p>
      <p className="small">
        While you are logged in, any program running as you could read your passphrase from the keyring, and your passphrase
        also opens your backups. If your computer logs you in by itself, anyone who starts it could too. Turn this on only if
        that is acceptable to you.
      </p>
      <ErrorSummary problems={problems} testId="unlock-at-login-error" level={4} />
      {!on && (
        <>
          <FieldError field="unlock-passphrase" message={problemAt(problems, 'unlock-passphrase')} />
          <div className={`field${problemAt(problems, 'unlock-passphrase') ? ' has-error' : ''}`}>
            <label htmlFor="unlock-passphrase">Your passphrase</label>
            <input id="unlock-passphrase" data-testid="unlock-passphrase" type="password" autoComplete="current-password"
              {...fieldAria('unlock-passphrase', problemAt(problems, 'unlock-passphrase'))}
              value={passphrase} onChange={(e) => setPassphrase(e.target.value)} />
          </div>
        </>
      )}
      {saved && <Notice testId="unlock-at-login-saved">{saved}</Notice>}
      <button type="submit" data-testid="unlock-at-login-change" aria-disabled={saving || undefined}>
        {saving ? 'Saving…' : on ? 'Wait for my passphrase again' : 'Take requests before I type it'}
      </button>
    </form>
  );
}

function Backup({ state, onState }: { state: AppState; onState: (s: AppState) => void }) {
  const [path, setPath] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const [list, setList] = useState<BackupFile[] | null>(null);
  const [listError, setListError] = useState<ApiError | null>(null);
  const [daily, setDaily] = useState(state.settings.backups.daily);
  const [keep, setKeep] = useState(String(state.settings.backups.keep));
  const [scheduleProblems, setScheduleProblems] = useState<Problem[]>([]);
  const [scheduleSaved, setScheduleSaved] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);

  const load = () => listBackups().then((l) => { setList(newestFirst(l)); setListError(null); }, (e) => setListError(e as ApiError));
  useEffect(() => { void load(); }, []);

  async function run() {
    setBusy(true);
    setError(null);
    setPath(null);
    try {
      setPath((await exportBackup()).path);
    } catch (e) {
      setError(e as ApiError);
    } finally {
      setBusy(false);
    }
    await load();
  }

  async function saveSchedule(e: FormEvent) {
    e.preventDefault();
    setScheduleSaved(null);
    const n = Number(keep.trim());
    if (!/^\d+$/.test(keep.trim()) || n < 1 || n > 365) {
      setScheduleProblems([{ field: 'backup-keep', message: 'Choose how many backups to keep: a whole number from 1 to 365.' }]);
      return;
    }
    setScheduleProblems([]);
    setSaving(true);
    try {
      onState(await saveSettings({ ...state.settings, backups: { daily, keep: n } }));
      setScheduleSaved(daily
        ? `Saved. While the wallet is open, it is backed up once a day and the newest ${n} ${n === 1 ? 'backup is' : 'backups are'} kept.`
        : 'Saved. There are no automatic backups: use “Back up now” when you want one.');
    } catch (err) {
      setScheduleProblems([fromError(err as ApiError)]);
    } finally {
      setSaving(false);
    }
  }

  return (
    <section className="card" aria-labelledby="h-backup">
      <h2 id="h-backup">Backups</h2>
      <p>
        A backup is a copy of your wallet, locked with your passphrase. If this computer breaks or is lost, you can bring your
        wallet back from it. Keep a copy somewhere safe, away from this computer.
      </p>

      <form onSubmit={saveSchedule} className="subform" aria-labelledby="h-backup-schedule" noValidate>
        <h3 id="h-backup-schedule">Automatic backups</h3>
        <ErrorSummary problems={scheduleProblems} testId="backup-schedule-error" level={4} />
        <div className="check">
          <input id="backup-daily" data-testid="backup-daily" type="checkbox" checked={daily} onChange={(e) => setDaily(e.target.checked)} />
          <label htmlFor="backup-daily">Back up every day while the wallet is open</label>
        </div>
        <FieldError field="backup-keep" message={problemAt(scheduleProblems, 'backup-keep')} />
        <div className={`field inline${problemAt(scheduleProblems, 'backup-keep') ? ' has-error' : ''}`}>
          <label htmlFor="backup-keep">Keep the newest</label>
          <input id="backup-keep" data-testid="backup-keep" type="number" inputMode="numeric" min={1} max={365} step={1}
            className="backup-keep" {...fieldAria('backup-keep', problemAt(scheduleProblems, 'backup-keep'), 'backup-keep-after')}
            value={keep} onChange={(e) => setKeep(e.target.value)} />
          <span id="backup-keep-after">backups (1 to 365). Older ones are deleted.</span>
        </div>
        {scheduleSaved && <Notice testId="backup-schedule-saved">{scheduleSaved}</Notice>}
        <button type="submit" data-testid="backup-schedule-save" disabled={saving}>{saving ? 'Saving…' : 'Save backup settings'}</button>
      </form>

      <div className="subform">
        <h3 id="h-backup-now">Back up now</h3>
        <button type="button" onClick={run} disabled={busy} data-testid="export-backup">{busy ? 'Making a backup…' : 'Back up now'}</button>
        <ErrorMessage error={error} />
        {path && <Notice testId="backup-path">Backup saved in <span className="mono">{path}</span></Notice>}
      </div>

      <div className="subform">
        <h3 id="h-backup-list">Backups on this computer</h3>
        <ErrorMessage error={listError} />
        {!list && !listError && <Loading what="Looking for backups…" />}
        {list && list.length === 0 && <p className="muted" data-testid="backup-list-empty">No backups yet.</p>}
        {list && list.length > 0 && (
          <ul className="rows" data-testid="backup-list" aria-labelledby="h-backup-list">
            {list.map((b) => (
              <li key={b.path} data-testid="backup-item">
                <div>
                  <strong>{formatTime(b.made_at)}</strong> <span className="muted">({formatSize(b.bytes)})</span>
                  <details>
                    <summary>Technical details</summary>
                    <p className="small">File: <span className="mono">{b.path}</span></p>
                  </details>
                </div>
              </li>
            ))}
          </ul>
        )}
      </div>
    </section>
  );
}
