import { act, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it } from 'vitest';
import type { Channel } from '@tauri-apps/api/core';
import { App } from '../App';
import { forgetLastSearch } from '../screens/Offers';
import { expectNoViolations, likeIndexHtml } from './axe';
import { mockCommands, sample, unlockedState } from './ipc';
import type { Client, MyPensions, OwnerEvent, PendingRequest } from '../api';

/**
 * Every screen of the app, drawn from the same answers the other tests use,
 * checked by axe-core against WCAG 2.x A and AA and axe's best practices.
 * Colour contrast needs a real layout, which jsdom has not: styles.css
 * carries the measured figures for that, and the review checks it by eye.
 */

const base = unlockedState;

const waitingProvider: Client = {
  client_id: 'https://pensions.acme.example', client_name: 'Acme Pensions', protection: 'pending', scope: 'uma_protection',
  claims_redirect_uris: [], created_at: 1795821417, registry: { listed: false },
};

/** The pensions, one of whose providers is down: its last known figures
 * come with the plain error and when they were read; another has its
 * administrator's contacts and documents. */
function pensionsWithOneDown(): MyPensions {
  const mine = sample<MyPensions>('pensions');
  const [northwind, acmeDb] = mine.pensions;
  Object.assign(northwind, {
    provider_name: 'Northwind Retirement Trust',
    error: 'Northwind Retirement Trust could not be reached just now.',
    error_detail: 'error sending request for url (http://127.0.0.1:44935/pensions/b2d0beef)',
    last_read_at: 1793707200,
    administrator: { name: 'Northwind Administration', phone: '0800 000 0000' },
  });
  Object.assign(acmeDb, {
    provider_name: 'Acme Pensions', figures_as_at: '2026-04-05', built_up_annual_amount: 7210,
    administrator: { name: 'Acme Pensions Administration', email: 'pensions@acme.example', phone: '0800 123 4567' },
    documents: [{ url: 'https://acme.example/sip.pdf', informationType: 'SIP' }, { url: 'https://acme.example/charges.pdf', informationType: 'C_AND_C' }],
  });
  mine.totals = { estimated_annual_income: 16750 - 1180, dc_pots: 176200 - 27900 };
  return mine;
}

/** A request as the inbox lists it now: with who is asking, as the owner must weigh it. */
const pending = (): PendingRequest[] => sample<PendingRequest[]>('pending').map((r) => ({
  ...r,
  requester: {
    app_name: r.client_name, app_name_checked: false, app_first_seen_at: r.created_at, earlier_requests: 0,
    purpose: 'Show my family our retirement income', person: { kind: 'unknown' }, may_have_no_end: false,
  },
}));

/** What the provider would show for that request ("see exactly what they'll see"). */
const preview = [{
  resource_id: '39d382986c2731424ab3cc69128d24aa', scheme: 'Acme Staff Defined Benefit Scheme',
  scopes: [
    { scope: 'owner', title: 'Your pension details', items: [{ label: 'Your date of birth', value: '1975-04-12' }] },
    { scope: 'value', title: 'Your pension\'s value', items: [{ label: 'Your pension\'s value: income estimates and pot size', value: '£9,450 a year estimated' }] },
  ],
}];

/** What the unlocked app asks for, on every screen. */
const unlocked = () => ({
  app_state: base,
  list_requests: pending(),
  request_preview: preview,
  approve_request: { ...pending()[0], status: 'approved' },
  list_clients: [...sample<Client[]>('clients'), waitingProvider],
  my_pensions: pensionsWithOneDown(),
  list_grants: sample('grants'),
  get_identity: sample('identity'),
  list_providers: [{ url: 'http://127.0.0.1:38341', name: 'Acme Pensions', added_at: 1 }, { url: 'http://127.0.0.1:44935', name: null, added_at: 1 }],
  list_resources: sample('resources'),
  identity_credential: { credential: null, sign_in: { state: 'none' } },
  registry_summary: { trusted_key: null, registry: null, expired: false },
  find_pensions: sample('find'),
  list_offers: {
    offers: [
      { provider: 'http://127.0.0.1:38341', provider_name: 'Acme Pensions', resource_id: 'acme-db', pei: 'urn:pei:acme:1',
        scheme: 'Acme Staff Defined Benefit Scheme', match_status: 'match-yes', authorization_server: null },
      { provider: 'http://127.0.0.1:44935', provider_name: null, resource_id: 'nw-1', pei: 'urn:pei:nw:1',
        scheme: 'Northwind Master Trust', match_status: 'match-possible', authorization_server: null,
        employment: [{ employer: 'Northwind Traders plc', from: 1996, to: 1998 }, { employer: 'Northwind Logistics Ltd', from: 2019 }] },
    ],
    providers: [{ url: 'http://127.0.0.1:38341', outcome: 'ok', resources: 1 }],
  },
  accept_offer: { pei: 'urn:pei:acme:1', authorization_server: 'http://127.0.0.1:8471', credential: { id: 'c1', status: 'active', issuer: 'did:key:x' } },
  export_backup: { path: '/home/a/Documents/uma-wallet-backup.json' },
  list_policies: sample('policies'),
  list_receipts: [],
  list_credentials: sample('credentials'),
  show_credential: sample('credential_show'),
  verify_credential: sample('credential_verify'),
  wallet_did: { did: 'did:key:z6MkfbhxXUAqy2H4YfHD12DrB5CmrdAFkjpEN2RzCYwsBJiU' },
  list_audit: sample('audit_limit_5'),
  verify_audit: sample('audit_verify'),
  list_trusted_issuers: [],
  list_backups: [],
});

beforeEach(() => {
  forgetLastSearch();
  likeIndexHtml();
});

describe('accessibility (axe-core): no violations on any screen', () => {
  it('create wallet, and its error summary', async () => {
    mockCommands({ app_state: { ...base, wallet_exists: false, unlocked: false, server: null }, list_backups: [] });
    const user = userEvent.setup();
    render(<App />);
    await screen.findByTestId('screen-create');
    await expectNoViolations();
    await user.click(screen.getByTestId('create-wallet'));
    await screen.findByTestId('create-error');
    await expectNoViolations();
    await user.click(screen.getByTestId('restore-open'));
    await screen.findByTestId('restore-form');
    await expectNoViolations();
  });

  it('unlock, and a wrong passphrase', async () => {
    mockCommands({
      app_state: { ...base, unlocked: false, server: null },
      unlock_wallet: () => { throw { kind: 'wrong_passphrase', message: 'the passphrase does not open this wallet' }; },
    });
    const user = userEvent.setup();
    render(<App />);
    await screen.findByTestId('screen-unlock');
    await expectNoViolations();
    await user.type(document.getElementById('unlock-passphrase')!, 'nope nope');
    await user.click(screen.getByTestId('unlock'));
    await screen.findByTestId('unlock-error');
    await expectNoViolations();
  });

  it('unlock, and an older copy of the wallet', async () => {
    mockCommands({
      app_state: { ...base, unlocked: false, server: null },
      unlock_wallet: () => { throw { kind: 'older_copy', message: 'its history ends at entry 3' }; },
    });
    const user = userEvent.setup();
    render(<App />);
    await screen.findByTestId('screen-unlock');
    await user.type(document.getElementById('unlock-passphrase')!, 'correct horse');
    await user.click(screen.getByTestId('unlock'));
    await screen.findByTestId('older-copy');
    await expectNoViolations();
  });

  it('pensions, with a provider down, as a chart and as a table', async () => {
    mockCommands(unlocked());
    const user = userEvent.setup();
    render(<App />);
    await screen.findByTestId('income-chart');
    expect(screen.getByTestId('pension-error')).toBeInTheDocument();
    expect(screen.getAllByTestId('pension-proof')).toHaveLength(3);
    expect(screen.getByTestId('pensions-stale')).toBeInTheDocument();
    await expectNoViolations();
    // Refreshing in place, with the figures still on screen.
    await user.click(screen.getByTestId('pensions-retry'));
    await expectNoViolations();
    await user.click(screen.getByTestId('chart-view-toggle'));
    await screen.findByTestId('income-table');
    await expectNoViolations();
    // axe runs three times over the busiest screen.
  }, 20000);

  it('offers, before and after a search', async () => {
    mockCommands(unlocked());
    const user = userEvent.setup();
    render(<App />);
    await user.click(await screen.findByTestId('nav-offers'));
    await screen.findByTestId('prove-identity');
    await expectNoViolations();
    await user.click(screen.getByTestId('find-pensions'));
    const cards = await screen.findAllByTestId('offer-card');
    expect(within(cards[1]).getAllByTestId('match-employment')).toHaveLength(2);
    await expectNoViolations();
    await user.click(within(cards[1]).getByLabelText('Yes, this is mine'));
    await user.click(within(cards[0]).getByTestId('accept-offer'));
    await within(cards[0]).findByTestId('accept-success');
    await expectNoViolations();
  });

  it('the first run, at each step', async () => {
    let created = false;
    mockCommands({
      ...unlocked(),
      app_state: () => (created ? base : { ...base, wallet_exists: false, unlocked: false, server: null }),
      create_wallet: () => { created = true; return base; },
      list_backups: [],
      // The list of providers could not be fetched: its warning is checked too.
      fetch_registry: () => { throw { kind: 'provider_error', message: 'https://register.example: error sending request' }; },
    });
    const user = userEvent.setup();
    render(<App />);
    await screen.findByTestId('screen-create');
    await user.type(document.getElementById('passphrase')!, 'correct horse');
    await user.type(document.getElementById('passphrase-confirm')!, 'correct horse');
    await user.type(screen.getByLabelText('First name'), 'Alice');
    await user.type(screen.getByLabelText('Last name'), 'Archer');
    await user.type(document.getElementById('date-of-birth')!, '1975-04-12');
    await user.click(screen.getByTestId('create-wallet'));
    await screen.findByTestId('prove-identity-start');
    await expectNoViolations();
    await user.click(screen.getByTestId('first-run-later'));
    await user.click(await screen.findByTestId('find-pensions'));
    await screen.findByTestId('first-run-found');
    await expectNoViolations();
    await user.click(screen.getByTestId('first-run-next'));
    await screen.findAllByTestId('offer-card');
    await expectNoViolations();
    await user.click(screen.getByTestId('first-run-later'));
    await user.click(await screen.findByTestId('first-run-backup'));
    await screen.findByTestId('first-run-backup-path');
    await expectNoViolations();
    // Four steps, each checked by axe.
  }, 20000);

  it('requests, with a request pending and a provider waiting', async () => {
    let channel: Channel<OwnerEvent> | null = null;
    mockCommands({ ...unlocked(), watch_requests: (a: Record<string, unknown>) => { channel = a.onEvent as Channel<OwnerEvent>; return null; } });
    const user = userEvent.setup();
    render(<App />);
    await user.click(await screen.findByTestId('nav-requests'));
    await screen.findByTestId('request-card');
    await screen.findByTestId('provider-waiting');
    // The live region with something in it, too.
    await act(async () => { channel!.onmessage({ type: 'resource_server_waiting', client_id: 'x', client_name: 'x' }); });
    await expectNoViolations();
    await user.click(screen.getByTestId('provider-refuse'));
    await expectNoViolations();
    // The card with its preview open, then pressed with nothing ticked (the error summary), then the receipt.
    const card = screen.getByTestId('request-card');
    await within(card).findAllByTestId('scope-preview');
    for (const d of within(card).getAllByTestId('scope-preview')) await user.click(within(d).getByText('See exactly what they’ll see'));
    await user.click(within(card).getByTestId('approve-request'));
    await within(card).findByTestId('consent-problems');
    await expectNoViolations();
    for (const box of within(card).getAllByTestId('share-scope')) await user.click(box);
    await user.click(within(card).getByTestId('approve-request'));
    await screen.findByTestId('request-decided');
    await expectNoViolations();
  }, 20000);

  it('sharing, with the rule form open and its errors', async () => {
    mockCommands(unlocked());
    const user = userEvent.setup();
    render(<App />);
    await user.click(await screen.findByTestId('nav-sharing'));
    const sections = await screen.findAllByTestId('sharing-pension');
    await expectNoViolations();
    await user.click(within(sections[0]).getByTestId('add-policy-open'));
    await user.type(within(sections[0]).getByTestId('rule-valid-from'), '31');
    await user.click(within(sections[0]).getByTestId('rule-save'));
    await within(sections[0]).findByTestId('rule-error');
    await expectNoViolations();
  }, 20000);

  it('the records of her pensions, in Settings with Advanced open', async () => {
    mockCommands(unlocked());
    const user = userEvent.setup();
    render(<App />);
    await user.click(await screen.findByTestId('nav-settings'));
    await screen.findAllByTestId('provider-row');
    await user.click(screen.getByTestId('settings-advanced-open'));
    await screen.findAllByTestId('credential-row');
    await screen.findByTestId('wallet-did');
    await expectNoViolations();
    await user.click(screen.getAllByTestId('credential-details')[0]);
    await screen.findByTestId('credential-detail');
    await user.click(screen.getAllByTestId('credential-delete')[1]);
    await screen.findByTestId('credential-delete-confirmation');
    await expectNoViolations();
  }, 20000);

  it('activity', async () => {
    mockCommands(unlocked());
    const user = userEvent.setup();
    render(<App />);
    await user.click(await screen.findByTestId('nav-activity'));
    await screen.findAllByTestId('audit-row');
    await waitFor(() => expect(screen.getByTestId('audit-status')).toHaveTextContent(/intact/));
    await expectNoViolations();
    await user.click(screen.getByTestId('activity-technical'));
    await expectNoViolations();
  }, 20000);

  it('settings, and a form with errors', async () => {
    mockCommands(unlocked());
    const user = userEvent.setup();
    render(<App />);
    await user.click(await screen.findByTestId('nav-settings'));
    await screen.findByTestId('save-identity');
    await screen.findAllByTestId('provider-row');
    await expectNoViolations();
    await user.click(screen.getByTestId('passphrase-change'));
    await screen.findByTestId('passphrase-error');
    await expectNoViolations();
    // Removing a provider asks first; Advanced open.
    await user.click(screen.getAllByTestId('provider-remove')[0]);
    await screen.findByTestId('provider-remove-confirm');
    await user.click(screen.getByTestId('settings-advanced-open'));
    await expectNoViolations();
  }, 20000);
});
