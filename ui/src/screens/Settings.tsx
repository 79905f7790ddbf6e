import { useEffect, useState, type ChangeEvent, type FormEvent } from 'react';
import {
  addProvider, exportBackup, getIdentity, importRegistry, listProviders, registrySummary, removeProvider, saveSettings, setIdentity,
  setRegistryKey, type GovernanceSummary,
  type ApiError, type AppState, type Provider,
} from '../api';
import { EMPTY_IDENTITY, IdentityFields, fromIdentity, identityProblems, toIdentity, type IdentityDraft } from '../IdentityFields';
import { ErrorMessage, Loading, Screen } from '../components';
import { formatTime } from '../format';

export function SettingsScreen({ state, onState }: { state: AppState; onState: (s: AppState) => void }) {
  // Bumped when a registry is imported, so the official list's summary reloads.
  const [governanceVersion, setGovernanceVersion] = useState(0);
  return (
    <Screen name="settings" title="Settings">
      <ServerSettings state={state} onState={onState} />
      <Governance version={governanceVersion} />
      <Providers onImported={() => setGovernanceVersion((v) => v + 1)} />
      <IdentitySettings />
      <Backup />
    </Screen>
  );
}

/** The identity details sent (signed) to providers when finding pensions. */
function IdentitySettings() {
  const [draft, setDraft] = useState<IdentityDraft | null>(null);
  const [problems, setProblems] = useState<string[]>([]);
  const [error, setError] = useState<ApiError | null>(null);
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    getIdentity().then((i) => setDraft(i ? fromIdentity(i) : EMPTY_IDENTITY), (e) => setError(e as ApiError));
  }, []);

  async function save(e: FormEvent) {
    e.preventDefault();
    if (!draft) return;
    setError(null);
    setSaved(false);
    const p = identityProblems(draft);
    setProblems(p);
    if (p.length) return;
    setBusy(true);
    try {
      setDraft(fromIdentity(await setIdentity(toIdentity(draft))));
      setSaved(true);
    } catch (err) {
      setError(err as ApiError);
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="card" aria-labelledby="h-identity">
      <h2 id="h-identity">Your details for finding pensions</h2>
      {!draft ? <ErrorMessage error={error} /> : (
        <form onSubmit={save} noValidate>
          <IdentityFields value={draft} onChange={(d) => { setDraft(d); setSaved(false); }} prefix="settings-" />
          {problems.length > 0 && <div className="error" role="alert"><ul>{problems.map((p) => <li key={p}>{p}</li>)}</ul></div>}
          <ErrorMessage error={error} />
          {saved && <p className="success" role="status">Saved. The next search uses these details.</p>}
          <button type="submit" className="primary" data-testid="save-identity" disabled={busy}>{busy ? 'Saving…' : 'Save details'}</button>
        </form>
      )}
    </section>
  );
}

function ServerSettings({ state, onState }: { state: AppState; onState: (s: AppState) => void }) {
  const [listen, setListen] = useState(state.settings.listen);
  const [issuer, setIssuer] = useState(state.settings.public_issuer ?? '');
  const [error, setError] = useState<ApiError | null>(null);
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);

  async function save(e: FormEvent) {
    e.preventDefault();
    setError(null);
    setSaved(false);
    if (!listen.trim()) {
      setError({ kind: 'invalid_input', message: 'Enter the address to listen on, e.g. 127.0.0.1:8471.' });
      return;
    }
    setBusy(true);
    try {
      onState(await saveSettings({ ...state.settings, listen: listen.trim(), public_issuer: issuer.trim() ? issuer.trim() : null }));
      setSaved(true);
    } catch (err) {
      setError(err as ApiError);
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="card" aria-labelledby="h-server">
      <h2 id="h-server">Wallet server</h2>
      <form onSubmit={save}>
        <div className="field">
          <label htmlFor="listen">Listen address (host:port)</label>
          <input id="listen" value={listen} onChange={(e) => setListen(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="public-issuer">Public address (issuer URL), if the wallet is reached through another address</label>
          <input id="public-issuer" type="url" placeholder="https://wallet.example.org" value={issuer} onChange={(e) => setIssuer(e.target.value)} />
        </div>
        <ErrorMessage error={error} />
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

function Governance({ version }: { version: number }) {
  const [summary, setSummary] = useState<GovernanceSummary | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [key, setKey] = useState('');
  const [saved, setSaved] = useState(false);

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

  const held = summary?.registry;
  const count = (role: string) => held?.entries.filter((e) => e.role === role).length ?? 0;
  return (
    <section className="card" aria-labelledby="h-registry" data-testid="governance">
      <h2 id="h-registry">Official list</h2>
      {held ? (
        <p data-testid="registry-held">
          {held.name}, edition {held.version}: {count('pension_provider')} pension providers, {count('identity_issuer')} identity
          services and {count('client')} apps. Valid until {formatTime(held.expires_at)}.
        </p>
      ) : summary?.expired ? (
        <p className="error" role="alert">Your copy of the official list has expired. Import a newer one below.</p>
      ) : (
        <p>No official list yet. Import the registry file below to add the providers and identity services it lists.</p>
      )}
      <details>
        <summary>Technical details</summary>
        <form onSubmit={save} className="subform">
          <div className="field">
            <label htmlFor="registry-key">Registry key (did:key) the list must be signed with</label>
            <input id="registry-key" className="mono" value={key} onChange={(e) => setKey(e.target.value)} />
          </div>
          <button type="submit" data-testid="save-registry-key">Save key</button>
          {saved && <p className="success" role="status">Saved.</p>}
        </form>
      </details>
      <ErrorMessage error={error} />
    </section>
  );
}

function Providers({ onImported }: { onImported: () => void }) {
  const [list, setList] = useState<Provider[] | null>(null);
  const [loadError, setLoadError] = useState<ApiError | null>(null);
  const [url, setUrl] = useState('');
  const [name, setName] = useState('');
  const [addError, setAddError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const [rowError, setRowError] = useState<{ url: string; error: ApiError } | null>(null);
  const [importMsg, setImportMsg] = useState<string | null>(null);
  const [importError, setImportError] = useState<ApiError | null>(null);

  const load = () => listProviders().then((l) => { setList(l); setLoadError(null); }, (e) => setLoadError(e as ApiError));
  useEffect(() => { void load(); }, []);

  async function add(e: FormEvent) {
    e.preventDefault();
    setAddError(null);
    const u = url.trim();
    if (!/^https?:\/\/\S+$/.test(u)) {
      setAddError({ kind: 'invalid_input', message: 'Enter the provider’s web address, starting with https:// (or http:// for a local test).' });
      return;
    }
    setBusy(true);
    try {
      await addProvider(u, name.trim() ? name.trim() : null);
      setUrl('');
      setName('');
      await load();
    } catch (err) {
      setAddError(err as ApiError);
    } finally {
      setBusy(false);
    }
  }

  async function remove(u: string) {
    setRowError(null);
    try {
      await removeProvider(u);
      await load();
    } catch (err) {
      setRowError({ url: u, error: err as ApiError });
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
        setImportMsg(`The registry checked out. ${added.length} provider${added.length === 1 ? '' : 's'} from ${file.name} ${added.length === 1 ? 'is' : 'are'} now on your list.`);
        onImported();
        await load();
      } catch (err) {
        setImportError(err as ApiError);
      }
    };
    reader.readAsText(file);
  }

  return (
    <section className="card" aria-labelledby="h-providers">
      <h2 id="h-providers">Pension providers</h2>
      <ErrorMessage error={loadError} />
      {!list && !loadError && <Loading />}
      {list && list.length === 0 && (
        <p className="empty" data-testid="providers-empty">No providers yet. Add your pension providers’ addresses below, or import a registry file, then find your pensions on the Offers screen.</p>
      )}
      {list && list.length > 0 && (
        <ul className="rows">
          {list.map((p) => (
            <li key={p.url} data-testid="provider-row">
              <div>
                <strong>{p.name ?? p.url}</strong>
                {p.name && <div className="muted small mono">{p.url}</div>}
                <div className="muted small">Added {formatTime(p.added_at)}</div>
                {rowError?.url === p.url && <ErrorMessage error={rowError.error} />}
              </div>
              <button type="button" onClick={() => remove(p.url)} aria-label={`Remove ${p.name ?? p.url}`}>Remove</button>
            </li>
          ))}
        </ul>
      )}
      <form onSubmit={add} className="subform" aria-label="Add a provider">
        <h3>Add a provider</h3>
        <div className="row">
          <div className="field">
            <label htmlFor="provider-url">Web address</label>
            <input id="provider-url" type="url" placeholder="https://pensions.example.com" value={url} onChange={(e) => setUrl(e.target.value)} />
          </div>
          <div className="field">
            <label htmlFor="provider-name">Name (optional)</label>
            <input id="provider-name" value={name} onChange={(e) => setName(e.target.value)} />
          </div>
        </div>
        <ErrorMessage error={addError} />
        <button type="submit" data-testid="add-provider" disabled={busy}>{busy ? 'Adding…' : 'Add provider'}</button>
      </form>
      <div className="subform">
        <h3>Import the official list</h3>
        <p className="small">
          The governance registry is the official list of pension providers, identity services and the apps that may ask
          for access. Your wallet checks its seal before using it, and refuses a list that does not check out.
        </p>
        <div className="field">
          <label htmlFor="registry-file">Registry file</label>
          <input id="registry-file" type="file" accept=".jws,.jwt,.txt,application/jwt" onChange={onFile} />
        </div>
        <ErrorMessage error={importError} />
        {importMsg && <p className="success" role="status">{importMsg}</p>}
      </div>
    </section>
  );
}

function Backup() {
  const [path, setPath] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
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
  }
  return (
    <section className="card" aria-labelledby="h-backup">
      <h2 id="h-backup">Backup</h2>
      <p>A backup is sealed with your passphrase. Keep a copy somewhere safe, away from this computer.</p>
      <button type="button" onClick={run} disabled={busy} data-testid="export-backup">{busy ? 'Writing backup…' : 'Export backup'}</button>
      <ErrorMessage error={error} />
      {path && <p className="success" role="status" data-testid="backup-path">Backup written to <span className="mono">{path}</span></p>}
    </section>
  );
}
