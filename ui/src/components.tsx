import type { ReactNode } from 'react';
import type { ApiError } from './api';
import { describeParty } from './format';
import type { Party } from './api';

export function ErrorMessage({ error, testId }: { error: ApiError | string | null | undefined; testId?: string }) {
  if (!error) return null;
  const message = typeof error === 'string' ? error : error.message;
  return (
    <p className="error" role="alert" data-testid={testId}>
      {message}
    </p>
  );
}

export function Loading({ what = 'Loading…' }: { what?: string }) {
  return <p className="muted" role="status">{what}</p>;
}

export function Screen({ name, title, children, actions }: { name: string; title: string; children: ReactNode; actions?: ReactNode }) {
  return (
    <section className="screen" data-testid={`screen-${name}`} aria-labelledby={`h-${name}`}>
      <header className="screen-head">
        <h1 id={`h-${name}`}>{title}</h1>
        {actions && <div className="screen-actions">{actions}</div>}
      </header>
      {children}
    </section>
  );
}

export function PartyClaims({ party }: { party: Party }) {
  const view = describeParty(party);
  if (view.kind === 'anonymous') {
    return <p className="party"><span className="tag tag-anon">Anonymous</span> The requester gave no details about who they are.</p>;
  }
  return (
    <div className="party">
      {view.verified.length > 0 && (
        <div>
          <span className="tag tag-ok">Verified</span>
          <span className="muted"> claims from a trusted identity provider</span>
          <dl className="claims">
            {view.verified.map(([k, v]) => (<div key={`v-${k}`}><dt>{k}</dt><dd>{v}</dd></div>))}
          </dl>
        </div>
      )}
      {view.selfAsserted.length > 0 && (
        <div>
          <span className="tag tag-warn">Self-asserted</span>
          <span className="muted"> typed in by the requester, not checked</span>
          <dl className="claims">
            {view.selfAsserted.map(([k, v]) => (<div key={`s-${k}`}><dt>{k}</dt><dd>{v}</dd></div>))}
          </dl>
        </div>
      )}
    </div>
  );
}
