import { useState, type FormEvent } from 'react';
import { addProvider, type ApiError, type Provider } from './api';
import { ErrorSummary, FieldError, fieldAria, fromError, problemAt, type Problem } from './components';

/**
 * Adding a provider by its web address: for technical users, and for a
 * provider the official list does not name. Settings and the first run
 * both use it; `prefix` keeps element ids apart where both could meet.
 */
export function AddProviderForm({ prefix = '', onAdded, level = 3, className = 'subform' }: {
  prefix?: string;
  className?: string;
  onAdded: (p: Provider) => void | Promise<void>;
  level?: 2 | 3 | 4;
}) {
  const [url, setUrl] = useState('');
  const [name, setName] = useState('');
  const [problems, setProblems] = useState<Problem[]>([]);
  const [busy, setBusy] = useState(false);
  const urlId = `${prefix}provider-url`;
  const nameId = `${prefix}provider-name`;
  const headingId = `${prefix}h-provider-add`;
  const Heading = `h${level}` as const;

  async function add(e: FormEvent) {
    e.preventDefault();
    const u = url.trim();
    if (!/^https?:\/\/\S+$/.test(u)) {
      setProblems([{ field: urlId, message: 'Enter the provider’s web address, starting with https:// (or http:// for a local test)' }]);
      return;
    }
    setProblems([]);
    setBusy(true);
    try {
      const added = await addProvider(u, name.trim() ? name.trim() : null);
      setUrl('');
      setName('');
      await onAdded(added);
    } catch (err) {
      setProblems([fromError(err as ApiError, urlId)]);
    } finally {
      setBusy(false);
    }
  }

  const urlProblem = problemAt(problems, urlId);
  return (
    <form onSubmit={add} className={className} aria-labelledby={headingId} noValidate>
      <Heading id={headingId}>Add a provider by web address</Heading>
      <ErrorSummary problems={problems} testId={`${prefix}provider-add-error`} level={level === 2 ? 3 : 4} />
      <div className="row">
        <div className={`field${urlProblem ? ' has-error' : ''}`}>
          <label htmlFor={urlId}>Web address</label>
          <p className="hint" id={`${urlId}-hint`}>The provider tells you this address. For example, https://pensions.example.com</p>
          <FieldError field={urlId} message={urlProblem} />
          <input id={urlId} type="url" spellCheck={false} value={url} onChange={(e) => setUrl(e.target.value)}
            {...fieldAria(urlId, urlProblem, `${urlId}-hint`)} />
        </div>
        <div className="field">
          <label htmlFor={nameId}>Name (optional)</label>
          <p className="hint" id={`${nameId}-hint`}>How you want to see it named here.</p>
          <input id={nameId} aria-describedby={`${nameId}-hint`} value={name} onChange={(e) => setName(e.target.value)} />
        </div>
      </div>
      <button type="submit" data-testid={`${prefix}add-provider`} disabled={busy}>{busy ? 'Adding…' : 'Add provider'}</button>
    </form>
  );
}
