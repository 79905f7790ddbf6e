import { act, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Requests } from '../screens/Requests';
import { formatClock, formatDate } from '../consent/words';
import { callsTo, mockCommands, sample } from './ipc';
import type { Client, Grant, Policy } from '../api';

/**
 * "Access ending soon" in the inbox: access in force that ends on its own
 * within the next 7 days, one plain sentence each, with "Stop sharing now".
 */

const ACME_DB = '39d382986c2731424ab3cc69128d24aa';
const NORTHWIND = '2f92bac43580eec5edb21f4b2b529c9e';
const FAMILY_DASHBOARD = '723062ad34a2320bc54bfbd2bf01833e';
const BOB = 'a790cddf0450675d1fc8ac8837bdd42c';
const SOUND_ADVICE = '5f1e2d3c4b5a69788796a5b4c3d2e1f0';

const NOW = 1_800_000_000;
const DAY = 86400;

const APPS: Client[] = [
  ...sample<Client[]>('clients').filter((c) => c.client_name !== 'This wallet (the owner)'),
  { ...sample<Client[]>('clients')[3], client_id: SOUND_ADVICE, client_name: 'sound-advice', registry: { listed: true, name: 'Sound Advice' } },
];

const grant = (id: string, over: Partial<Grant>): Grant => ({
  active: true, id, resource_id: ACME_DB, scopes: ['owner', 'value'], client_id: FAMILY_DASHBOARD, party_key: 'anonymous', party: {},
  source: { kind: 'approval', request_id: 'r1' }, created_at: NOW - 20 * DAY, expires_at: null, revoked_at: null, ...over,
});

const GRANTS: Grant[] = [
  grant('g-family-3d', { expires_at: NOW + 3 * DAY }),
  grant('g-bob-1d', {
    client_id: BOB, resource_id: NORTHWIND, scopes: ['value'], expires_at: NOW + DAY + 3600,
    party: { verified: { name: 'Bob Smith', email: 'bob@example.org', issuer: 'https://id.example' } }, party_key: 'oidc:https://id.example#1',
  }),
  grant('g-adviser-6d', { client_id: SOUND_ADVICE, scopes: ['value'], expires_at: NOW + 6 * DAY, source: { kind: 'policy', policy_id: 'p-adviser' } }),
  // Not ending soon: in 10 days, with no end, already revoked, already ended.
  grant('g-family-10d', { expires_at: NOW + 10 * DAY }),
  grant('g-forever', { client_id: BOB, expires_at: null }),
  grant('g-revoked', { expires_at: NOW + DAY, active: false, revoked_at: NOW - 60 }),
  grant('g-ended', { expires_at: NOW - 60, active: false }),
];

const ADVISER_RULE: Policy = {
  id: 'p-adviser', created_at: 1, outcome: 'permit', target: { kind: 'resource', id: ACME_DB }, scopes: ['value'],
  party: { credential_type: 'AdviserCredential', verified_only: true }, grant_lifetime: 30 * DAY,
};

async function inbox(handlers: Record<string, unknown> = {}) {
  const calls = mockCommands({
    list_resources: sample('resources'), list_providers: [],
    list_grants: GRANTS, list_clients: APPS, list_policies: [ADVISER_RULE],
    revoke_grant: (a: Record<string, unknown>) => ({ ...GRANTS.find((g) => g.id === a.id), revoked_at: NOW }),
    ...handlers,
  });
  const user = userEvent.setup();
  await act(async () => { render(<Requests pending={[]} loaded error={null} refresh={vi.fn(async () => {})} />); });
  return { calls, user };
}

const items = () => within(screen.getByTestId('ending-soon')).getAllByTestId('ending-soon-item');
const until = (unix: number) => `${formatDate(unix)} at ${formatClock(unix)}`;

beforeEach(() => { vi.spyOn(Date, 'now').mockReturnValue(NOW * 1000); });
afterEach(() => { vi.restoreAllMocks(); });

describe('access ending soon', () => {
  it('lists only access in force that ends within the next 7 days, soonest first', async () => {
    await inbox();
    const section = await screen.findByTestId('ending-soon');
    expect(within(section).getByRole('heading', { level: 2 })).toHaveTextContent('Access ending soon');
    expect(section).toHaveAccessibleName('Access ending soon');
    expect(items().map((i) => i.getAttribute('data-grant-id'))).toEqual(['g-bob-1d', 'g-family-3d', 'g-adviser-6d']);
    // The empty inbox still says nobody waits for an answer.
    expect(screen.getByTestId('requests-empty')).toBeInTheDocument();
  });

  it('says in one plain sentence who can see which pension until when, and what happens then', async () => {
    await inbox();
    const [bob, family, adviser] = await waitFor(() => items());
    expect(family.querySelector('p')).toHaveTextContent(
      `“Family dashboard” can see Acme Staff Defined Benefit Scheme (details, values) until ${until(NOW + 3 * DAY)}, when it stops on its own; if they need longer, they will have to ask you again.`,
    );
    expect(bob.querySelector('p')).toHaveTextContent(
      `Bob Smith, email checked by id.example, using “Bob the adviser”, can see Northwind Master Trust (values) until ${until(NOW + DAY + 3600)}, when it stops on its own; if they need longer, they will have to ask you again.`,
    );
    // Given by a rule that still stands: the rule lets them back in, so they will not ask.
    expect(adviser.querySelector('p')).toHaveTextContent(
      `Sound Advice can see Acme Staff Defined Benefit Scheme (values) until ${until(NOW + 6 * DAY)}, when it stops on its own; one of your rules in Sharing lets them see it again without asking you.`,
    );
    for (const i of items()) {
      expect(i.textContent).not.toMatch(/scope|token|client|policy|grant|UMA|RPT|oidc:|anonymous/i);
      expect(i.textContent).not.toContain(ACME_DB);
      const stop = within(i).getByRole('button', { name: 'Stop sharing now' });
      expect(stop).toHaveAccessibleDescription(i.querySelector('p')!.textContent!);
    }
  });

  it('says a remembered yes lets them back in without asking', async () => {
    const remembered: Policy = {
      id: 'p-remembered', created_at: 1, outcome: 'permit', target: { kind: 'resource', id: ACME_DB }, scopes: ['owner', 'value'],
      party: { client_id: FAMILY_DASHBOARD, issuer: 'https://id.example', subject: '1', verified_only: true }, grant_lifetime: 30 * DAY,
    };
    await inbox({ list_policies: [remembered], list_grants: [GRANTS[0]] });
    const [family] = await waitFor(() => items());
    expect(family.querySelector('p')).toHaveTextContent(/one of your rules in Sharing lets them see it again without asking you\.$/);
  });

  it('shows nothing at all when nothing ends soon', async () => {
    const { calls } = await inbox({ list_grants: GRANTS.slice(3) });
    await waitFor(() => expect(callsTo(calls, 'list_grants')).toHaveLength(1));
    await act(async () => {});
    expect(screen.queryByTestId('ending-soon')).not.toBeInTheDocument();
    expect(screen.queryByText('Access ending soon')).not.toBeInTheDocument();
  });

  it('shows nothing, and no error, when what is shared cannot be read', async () => {
    const { calls } = await inbox({ list_grants: () => { throw { kind: 'locked', message: 'the wallet is locked' }; } });
    await waitFor(() => expect(callsTo(calls, 'list_grants')).toHaveLength(1));
    await act(async () => {});
    expect(screen.queryByTestId('ending-soon')).not.toBeInTheDocument();
    expect(screen.queryByRole('alert')).not.toBeInTheDocument();
  });

  it('"Stop sharing now" revokes that access, says so where focus goes, and the line goes', async () => {
    let grants = GRANTS;
    const { calls, user } = await inbox({
      list_grants: () => grants,
      revoke_grant: (a: Record<string, unknown>) => {
        grants = grants.map((g) => (g.id === a.id ? { ...g, active: false, revoked_at: NOW } : g));
        return grants.find((g) => g.id === a.id);
      },
    });
    const family = (await waitFor(() => items())).find((i) => i.getAttribute('data-grant-id') === 'g-family-3d')!;
    await user.click(within(family).getByTestId('ending-soon-stop'));
    await waitFor(() => expect(callsTo(calls, 'revoke_grant').map((c) => c.args)).toEqual([{ id: 'g-family-3d' }]));
    const done = await screen.findByTestId('ending-soon-done');
    expect(done).toHaveAttribute('role', 'status');
    expect(done).toHaveTextContent(
      'You stopped “Family dashboard” seeing Acme Staff Defined Benefit Scheme. They can no longer see it, but may keep a copy of what they had already seen.',
    );
    await waitFor(() => expect(done).toHaveFocus());
    await waitFor(() => expect(items().map((i) => i.getAttribute('data-grant-id'))).toEqual(['g-bob-1d', 'g-adviser-6d']));
    expect(done).toHaveFocus();
  });

  it('the section goes once the last line is stopped, and what happened stays', async () => {
    let grants = [GRANTS[0]];
    const { user } = await inbox({
      list_grants: () => grants,
      revoke_grant: () => { grants = []; return { ...GRANTS[0], revoked_at: NOW }; },
    });
    const [family] = await waitFor(() => items());
    await user.click(within(family).getByRole('button', { name: 'Stop sharing now' }));
    await waitFor(() => expect(screen.queryByTestId('ending-soon')).not.toBeInTheDocument());
    expect(screen.getByTestId('ending-soon-done')).toHaveFocus();
  });

  it('keeps the line, with what went wrong, when the access could not be stopped', async () => {
    const { user } = await inbox({ revoke_grant: () => { throw { kind: 'not_found', message: 'no such grant' }; } });
    const [bob] = await waitFor(() => items());
    await user.click(within(bob).getByTestId('ending-soon-stop'));
    expect(await within(bob).findByTestId('ending-soon-error')).toHaveTextContent('Sharing was not stopped: no such grant');
    expect(items()).toHaveLength(3);
    expect(screen.queryByTestId('ending-soon-done')).not.toBeInTheDocument();
    expect(within(bob).getByTestId('ending-soon-stop')).toBeEnabled();
  });

  it('reads what is shared again on Refresh, not on every request that arrives', async () => {
    const { calls, user } = await inbox();
    await waitFor(() => expect(callsTo(calls, 'list_grants')).toHaveLength(1));
    await user.click(screen.getByRole('button', { name: 'Refresh' }));
    await waitFor(() => expect(callsTo(calls, 'list_grants')).toHaveLength(2));
  });
});
