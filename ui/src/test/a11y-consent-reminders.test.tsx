import { render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it } from 'vitest';
import { App } from '../App';
import { expectNoViolations, likeIndexHtml } from './axe';
import { mockCommands, sample, unlockedState } from './ipc';
import type { Client, Grant, PendingRequest, Policy } from '../api';

/**
 * axe-core (WCAG 2.x A and AA, best practices) over what the inbox and
 * Sharing gained: "Next time, without asking me" on the card and in the
 * receipt, "Access ending soon", and the rule turning away the apps the
 * official register doesn't list. As in a11y.test.tsx, inside the whole app.
 */

const base = unlockedState;

const ACME_DB = '39d382986c2731424ab3cc69128d24aa';
const FAMILY_DASHBOARD = '723062ad34a2320bc54bfbd2bf01833e';
const now = () => Math.floor(Date.now() / 1000);

/** A checked person asking: "next time, without asking me" is offered. */
const pending = (): PendingRequest[] => sample<PendingRequest[]>('pending').map((r) => ({
  ...r,
  requester: {
    app_name: r.client_name, app_name_checked: false, app_first_seen_at: r.created_at, earlier_requests: 0, purpose: null,
    person: { kind: 'verified', name: 'Bob Baker', email: 'bob@adviser.example', vouched_as: null, checked_by: 'https://id.example' },
    may_have_no_end: true,
  },
}));

const grant = (id: string, over: Partial<Grant>): Grant => ({
  active: true, id, resource_id: ACME_DB, scopes: ['owner', 'value'], client_id: FAMILY_DASHBOARD, party_key: 'anonymous', party: {},
  source: { kind: 'approval', request_id: 'r1' }, created_at: now() - 20 * 86400, expires_at: null, revoked_at: null, ...over,
});

const unlisted: Policy = {
  id: 'r-unlisted', created_at: 1, outcome: 'deny', target: { kind: 'resource_server', id: 'http://127.0.0.1:38341' }, scopes: [],
  party: { unlisted_apps: true, verified_only: false },
};

const handlers = () => ({
  app_state: base,
  watch_requests: null,
  list_requests: pending(),
  request_preview: [],
  approve_request: { ...pending()[0], status: 'approved' },
  list_clients: sample<Client[]>('clients').filter((c) => c.client_name !== 'This wallet (the owner)'),
  list_grants: [grant('g-soon', { expires_at: now() + 2 * 86400 }), grant('g-later', { expires_at: now() + 20 * 86400 })],
  list_policies: [unlisted],
  list_receipts: [],
  my_pensions: { pensions: [], totals: { estimated_annual_income: 0, dc_pots: 0 } },
  get_identity: null,
  list_providers: [{ url: 'http://127.0.0.1:38341', name: 'Acme Pensions', added_at: 1 }, { url: 'http://127.0.0.1:44935', name: 'Northwind Trust', added_at: 1 }],
  list_resources: sample('resources'),
  revoke_grant: { id: 'g-soon' },
});

beforeEach(() => {
  likeIndexHtml();
});

describe('accessibility (axe-core): next time without asking, access ending soon, apps the register does not list', () => {
  it('the inbox: the card with "next time" ticked, the receipt that says so, and access ending soon', async () => {
    mockCommands(handlers());
    const user = userEvent.setup();
    render(<App />);
    await user.click(await screen.findByTestId('nav-requests'));
    const card = await screen.findByTestId('request-card');
    const ending = await screen.findByTestId('ending-soon');
    expect(within(ending).getAllByTestId('ending-soon-item')).toHaveLength(1);
    await user.click(within(card).getByTestId('remember-app'));
    await expectNoViolations();
    for (const box of within(card).getAllByTestId('share-scope')) await user.click(box);
    await user.click(within(card).getByTestId('approve-request'));
    await screen.findByTestId('receipt-remembered');
    await expectNoViolations();
    await user.click(within(screen.getByTestId('ending-soon')).getByTestId('ending-soon-stop'));
    await waitFor(() => expect(screen.getByTestId('ending-soon-done')).toHaveFocus());
    await expectNoViolations();
  }, 20000);

  it('Sharing: the rule for apps the register doesn’t list, filled in and listed', async () => {
    mockCommands(handlers());
    const user = userEvent.setup();
    render(<App />);
    await user.click(await screen.findByTestId('nav-sharing'));
    const sections = await screen.findAllByTestId('sharing-pension');
    const acme = sections.find((s) => s.textContent!.includes('Acme Staff Defined Benefit Scheme'))!;
    expect(within(acme).getByTestId('policy-row')).toHaveTextContent('Apps the official register doesn’t list are turned away without asking you');
    await user.click(within(acme).getByTestId('add-policy-open'));
    await user.click(within(acme).getByTestId('rule-template-unlisted-apps'));
    expect(within(acme).getByTestId('rule-unlisted-stops')).toHaveTextContent('“Family dashboard”');
    await expectNoViolations();
  }, 20000);
});
