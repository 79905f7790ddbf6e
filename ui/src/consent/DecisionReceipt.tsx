import { useState } from 'react';
import { listGrants, revokeGrant, type ApiError, type Grant } from '../api';
import { ErrorMessage, Notice } from '../components';
import { sharedWords, type Decision } from './ConsentCard';
import { formatDate } from './words';

/**
 * The grants a yes created: those the approval of this request made; else
 * (a wallet that does not say which request a grant came from) the
 * approved access of the same app and person to the same pensions.
 */
export function grantsOf(decision: Decision, grants: Grant[]): Grant[] {
  const live = grants.filter((g) => g.active && g.revoked_at == null);
  const byRequest = live.filter((g) => g.source.kind === 'approval' && g.source.request_id === decision.requestId);
  if (byRequest.length > 0) return byRequest;
  const pensions = new Set(decision.shared.map((s) => s.resourceId));
  return live.filter((g) => g.source.kind === 'approval' && g.client_id === decision.clientId && g.party_key === decision.partyKey && pensions.has(g.resource_id));
}

/**
 * What the owner just decided, said where she is, with the way back: a yes
 * can be undone at once ("Stop sharing") and Sharing is one press away. It
 * takes focus, so that keyboard and screen reader users hear the outcome
 * instead of being dropped at the top of the page when the card goes.
 */
export function DecisionReceipt({ decision, onSeeSharing, onStopped }: {
  decision: Decision;
  onSeeSharing: () => void;
  /** Access was stopped from the receipt: what the screen lists of it is out of date. */
  onStopped?: () => void;
}) {
  const [phase, setPhase] = useState<'shared' | 'stopping' | 'stopped' | 'nothing-left'>('shared');
  const [error, setError] = useState<ApiError | null>(null);

  async function stop() {
    setPhase('stopping');
    setError(null);
    try {
      const mine = grantsOf(decision, await listGrants());
      for (const g of mine) await revokeGrant(g.id);
      setPhase(mine.length > 0 ? 'stopped' : 'nothing-left');
      onStopped?.();
    } catch (e) {
      setError(e as ApiError);
      setPhase('shared');
    }
  }

  const seeSharing = (
    <button type="button" data-testid="receipt-see-sharing" onClick={onSeeSharing}>See Sharing</button>
  );

  if (decision.kind === 'refused') {
    return (
      <Notice testId="request-decided" focusKey={decision.seq}>
        <p>You did not share anything with {decision.app}.</p>
      </Notice>
    );
  }
  const what = sharedWords(decision.shared);
  const until = decision.until === null ? ' with no end date' : ` until ${formatDate(decision.until)}`;
  return (
    <Notice testId="request-decided" focusKey={`${decision.seq}-${phase === 'stopping' ? 'shared' : phase}`}>
      {phase === 'stopped' ? (
        <p data-testid="receipt-stopped">
          You stopped sharing {what} with {decision.app}. They can no longer see it, but may keep a copy of what they had already seen.
          {decision.remembered ? ' Next time, they will have to ask you again.' : ''}
        </p>
      ) : phase === 'nothing-left' ? (
        <p data-testid="receipt-stopped">There was nothing left to stop: {decision.app} can no longer see {what}.</p>
      ) : (
        <>
          <p>You shared {what} with {decision.app}{until}.</p>
          {decision.remembered && (
            <p data-testid="receipt-remembered">
              Next time, they won’t need to ask you: they will see the same again, for the same length of time. Stop sharing ends that too.
            </p>
          )}
          <p className="small">They may keep a copy of what they have already seen. You can stop sharing at any time in Sharing.</p>
        </>
      )}
      <ErrorMessage error={error && `Sharing was not stopped: ${error.message}`} testId="receipt-stop-error" />
      <div className="buttons">
        {(phase === 'shared' || phase === 'stopping') && (
          <button type="button" className="danger" data-testid="receipt-stop-sharing" onClick={stop} disabled={phase === 'stopping'}>
            {phase === 'stopping' ? 'Stopping…' : 'Stop sharing'}
          </button>
        )}
        {seeSharing}
      </div>
    </Notice>
  );
}
