import { useEffect, useRef, useState, type FormEvent } from 'react';
import {
  identityCredential, registrySummary, startIdentitySignIn,
  type ApiError, type IdentityCredentialStatus, type RegistryEntry,
} from './api';
import { ErrorMessage, ErrorSummary, FieldError, fieldAria, fromError, problemAt, type Problem } from './components';
import { formatDay, formatTime } from './format';

/** How often the window asks whether the owner finished signing in. */
const POLL_MS = 1000;

/** Proving who the owner is: the identity credential the wallet holds, or
 * the way to get one by signing in at an identity service in the owner's
 * own browser. Providers connect a pension only to a proven owner.
 * `onProven` is told once a proof is held, whether it was there already
 * or the owner has just signed in. `embedded`: inside a page whose own
 * heading already says "Prove who you are" (the first run). */
export function ProveIdentity({ onProven, embedded = false }: { onProven?: () => void; embedded?: boolean }) {
  const [status, setStatus] = useState<IdentityCredentialStatus | null>(null);
  const [loadError, setLoadError] = useState<ApiError | null>(null);
  const [issuer, setIssuer] = useState('');
  /** The identity services the official list names, if it is held. */
  const [services, setServices] = useState<RegistryEntry[]>([]);
  const [page, setPage] = useState<{ url: string; opened: boolean } | null>(null);
  const [starting, setStarting] = useState(false);
  const [problems, setProblems] = useState<Problem[]>([]);
  const proven = useRef(onProven);
  proven.current = onProven;

  useEffect(() => {
    identityCredential().then((s) => {
      setStatus(s);
      if (s.credential) proven.current?.();
    }, (e) => setLoadError(e as ApiError));
    registrySummary().then((g) => {
      const listed = g.registry?.entries.filter((e) => e.role === 'identity_issuer') ?? [];
      setServices(listed);
      if (listed.length > 0) setIssuer((current) => current || listed[0].id);
    }, () => setServices([]));
  }, []);

  const waiting = status?.sign_in.state === 'waiting' && page !== null;
  useEffect(() => {
    if (!waiting) return undefined;
    const timer = setInterval(() => {
      identityCredential().then((next) => {
        setStatus(next);
        if (next.sign_in.state !== 'waiting') {
          setPage(null);
          if (next.sign_in.state === 'finished') proven.current?.();
        }
      }, (e) => setLoadError(e as ApiError));
    }, POLL_MS);
    return () => clearInterval(timer);
  }, [waiting]);

  async function start(e: FormEvent) {
    e.preventDefault();
    const field = services.length > 0 ? `identity-service-${services[0].id}` : 'identity-service';
    if (!issuer.trim()) {
      setProblems([{ field, message: services.length > 0 ? 'Choose an identity service' : 'Enter the address of your identity service' }]);
      return;
    }
    setProblems([]);
    setStarting(true);
    try {
      const started = await startIdentitySignIn(issuer.trim());
      setPage({ url: started.authorize_url, opened: started.opened });
      setStatus((s) => ({ credential: s?.credential ?? null, sign_in: { state: 'waiting', issuer: issuer.trim(), authorize_url: started.authorize_url } }));
    } catch (err) {
      setProblems([fromError(err as ApiError, services.length > 0 ? undefined : 'identity-service')]);
    } finally {
      setStarting(false);
    }
  }

  if (loadError) return <ErrorMessage error={loadError} />;
  if (!status) return null;
  const held = status.credential;

  const title = held ? 'Your identity is proven' : 'Prove who you are';
  // Embedded, the page around it is already the region with this name.
  const Box = embedded ? 'div' : 'section';
  return (
    <Box className={embedded ? 'prove-embedded' : 'card'} aria-labelledby={embedded ? undefined : 'h-identity'} data-testid="prove-identity">
      {embedded ? (held && <p className="success"><strong>{title}</strong></p>) : <h2 id="h-identity">{title}</h2>}
      {held ? (
        <div data-testid="identity-proven">
          <p>
            {held.issuer_name ?? 'An identity service'} checked that you are <strong>{held.given_name} {held.family_name}</strong>,
            born {formatDay(held.birthdate)}. Your wallet shows this proof to your providers when it looks for your pensions:
            only your name, date of birth, postcode and National Insurance number, each time for that provider alone.
          </p>
          <p className="muted small">Received {formatTime(held.received_at)}; valid until {formatTime(held.expires_at)}.</p>
          <details>
            <summary>Technical details</summary>
            <p className="small">An SD-JWT VC identity credential from <span className="mono">{held.issuer}</span>, bound to this wallet's key.</p>
          </details>
        </div>
      ) : (
        <p>
          Your providers connect a pension to your wallet only when you have proved who you are. You sign in at an identity
          service (such as GOV.UK One Login) in your web browser, and it gives your wallet a record of your checked identity.
        </p>
      )}
      {status.sign_in.state === 'failed' && !page && (
        <p className="error" role="alert" data-testid="sign-in-failed">Proving who you are did not finish: {status.sign_in.error}</p>
      )}
      {waiting ? (
        <div role="status" data-testid="sign-in-waiting">
          <p>
            {page.opened
              ? 'We opened the sign-in page in your web browser. Sign in there; this page updates when you have finished.'
              : 'Your web browser could not be opened. Open this address in it and sign in; this page updates when you have finished:'}
          </p>
          <p className="mono small" data-testid="sign-in-url">{page.url}</p>
        </div>
      ) : (
        !held && (
          <form onSubmit={start} noValidate>
            <ErrorSummary problems={problems} testId="prove-identity-error" level={3} />
            {services.length > 0 ? (
              <fieldset>
                <legend>Identity services on the official list</legend>
                {services.map((service) => (
                  <div className="check" key={service.id}>
                    <input type="radio" name="identity-service" id={`identity-service-${service.id}`} value={service.id}
                      checked={issuer === service.id} onChange={() => setIssuer(service.id)} />
                    <label htmlFor={`identity-service-${service.id}`}>{service.name}</label>
                  </div>
                ))}
              </fieldset>
            ) : (
              <div className={`field${problemAt(problems, 'identity-service') ? ' has-error' : ''}`}>
                <label htmlFor="identity-service">Identity service address</label>
                <p className="hint" id="identity-service-hint">
                  The address your identity service gave you, starting with https://. If you have the official list of services, add it in Settings, under “Advanced”, to choose from the services it names.
                </p>
                <FieldError field="identity-service" message={problemAt(problems, 'identity-service')} />
                <input id="identity-service" type="url" inputMode="url" spellCheck={false} value={issuer}
                  onChange={(e) => setIssuer(e.target.value)} {...fieldAria('identity-service', problemAt(problems, 'identity-service'), 'identity-service-hint')} />
              </div>
            )}
            <button type="submit" className="primary" data-testid="prove-identity-start" disabled={starting}>
              {starting ? 'Opening…' : 'Prove who I am'}
            </button>
          </form>
        )
      )}
    </Box>
  );
}
