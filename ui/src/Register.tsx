import { fetchRegistry, type ApiError } from './api';

/**
 * The register of pension providers (the official list) as the app fetches
 * it from where it is published, so that the owner has providers to ask
 * with nothing to type.
 */
export type RegisterState =
  /** `error`: why the last try failed, kept on screen while trying again. */
  | { state: 'fetching'; error?: ApiError }
  | { state: 'done'; providers: number }
  /** The app has no register set up, and none was fetched before: not a problem to report. */
  | { state: 'none' }
  | { state: 'failed'; error: ApiError };

/** Fetches the register from where it was fetched before, else from the app's own. */
export async function fetchRegister(): Promise<RegisterState> {
  try {
    return { state: 'done', providers: (await fetchRegistry()).providers.length };
  } catch (e) {
    const error = e as ApiError;
    // The desktop app says `invalid_input` when it has no register to fetch.
    return error.kind === 'invalid_input' ? { state: 'none' } : { state: 'failed', error };
  }
}

/** The state while fetching again: a failure stays on screen, with its Try again button still focused. */
export const refetching = (before: RegisterState): RegisterState =>
  ({ state: 'fetching', error: before.state === 'failed' ? before.error : before.state === 'fetching' ? before.error : undefined });

/** Why the register could not be fetched, while that is still the news. */
export const registerError = (r: RegisterState): ApiError | null =>
  r.state === 'failed' ? r.error : r.state === 'fetching' ? r.error ?? null : null;

/** A register that could not be fetched, in plain words, with a way to try again. */
export function RegisterProblem({ error, onRetry, busy }: { error: ApiError; onRetry: () => void; busy: boolean }) {
  return (
    <div className="warning" data-testid="register-failed">
      <p>The list of pension providers could not be fetched just now. Check that this computer is online, then try again.</p>
      <button type="button" data-testid="register-retry" onClick={onRetry} aria-disabled={busy || undefined}>
        {busy ? 'Fetching…' : 'Try again'}
      </button>
      <details className="small">
        <summary>Technical details</summary>
        <p className="mono">{error.message}</p>
      </details>
    </div>
  );
}
