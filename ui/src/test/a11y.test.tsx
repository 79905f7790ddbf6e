import { act, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import axe from 'axe-core';
import { beforeEach, describe, expect, it } from 'vitest';
import type { Channel } from '@tauri-apps/api/core';
import { App } from '../App';
import { mockCommands, sample } from './ipc';
import type { AppState, Client, MyPensions, OwnerEvent, PendingRequest } from '../api';

/**
 * Every screen of the app, drawn from the same answers the other tests use,
 * checked by axe-core against WCAG 2.x A and AA and axe's best practices.
 * Colour contrast needs a real layout, which jsdom has not: styles.css
 * carries the measured figures for that, and the review checks it by eye.
 */

const base: AppState = {
  wallet_exists: true, unlocked: true, data_dir: '/home/a/.wallet',
  settings: { listen: '127.0.0.1:8471', public_issuer: null, backups: { daily: false, keep: 7 } },
  server: { issuer: 'http://127.0.0.1:8471', owner_api: 'http://127.0.0.1:8471/owner', listen: '127.0.0.1:8471', pid: 7 },
};

const waitingProvider: Client = {
  client_id: 'https://pensions.acme.example', client_name: 'Acme Pensions', protection: 'pending', scope: 'uma_protection',
  claims_redirect_uris: [], created_at: 1795821417, registry: { listed: false },
};

/** The pensions, one of whose providers is down. */
function pensionsWithOneDown(): MyPensions {
  const mine = sample<MyPensions>('pensions');
  mine.pensions[0] = {
    resource_id: 'r-down', provider: 'http://127.0.0.1:44935', provider_resource_id: 'down', pei: 'urn:pei:down',
    match_status: null, error: 'The provider could not be reached.',
  };
  return mine;
}

/** What the unlocked app asks for, on every screen. */
const unlocked = () => ({
  app_state: base,
  list_requests: sample<PendingRequest[]>('pending'),
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
    ],
    providers: [{ url: 'http://127.0.0.1:38341', outcome: 'ok', resources: 1 }],
  },
  list_policies: sample('policies'),
  list_receipts: [],
  list_credentials: sample('credentials'),
  wallet_did: { did: 'did:key:z6MkfbhxXUAqy2H4YfHD12DrB5CmrdAFkjpEN2RzCYwsBJiU' },
  list_audit: sample('audit_limit_5'),
  verify_audit: sample('audit_verify'),
  list_trusted_issuers: [],
  list_backups: [],
});

async function expectNoViolations() {
  const results = await axe.run(document, {
    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] },
    rules: { 'color-contrast': { enabled: false } },
  });
  const found = results.violations.map((v) => `${v.id} (${v.impact}): ${v.help}\n  ${v.nodes.map((n) => n.target.join(' ')).join('\n  ')}`);
  expect(found).toEqual([]);
}

beforeEach(() => {
  // As index.html has them: axe checks the page's language and title.
  document.documentElement.lang = 'en-GB';
  document.title = 'Pension wallet';
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

  it('pensions, with a provider down, as a chart and as a table', async () => {
    mockCommands(unlocked());
    const user = userEvent.setup();
    render(<App />);
    await screen.findByTestId('income-chart');
    expect(screen.getByTestId('pension-error')).toBeInTheDocument();
    await expectNoViolations();
    await user.click(screen.getByTestId('chart-view-toggle'));
    await screen.findByTestId('income-table');
    await expectNoViolations();
  });

  it('offers, before and after a search', async () => {
    mockCommands(unlocked());
    const user = userEvent.setup();
    render(<App />);
    await user.click(await screen.findByTestId('nav-offers'));
    await screen.findByTestId('prove-identity');
    await expectNoViolations();
    await user.click(screen.getByTestId('find-pensions'));
    await screen.findAllByTestId('offer-card');
    await expectNoViolations();
  });

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
  });

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
  });

  it('credentials', async () => {
    mockCommands(unlocked());
    const user = userEvent.setup();
    render(<App />);
    await user.click(await screen.findByTestId('nav-credentials'));
    await screen.findAllByTestId('credential-row');
    await screen.findByTestId('wallet-did');
    await expectNoViolations();
  });

  it('activity', async () => {
    mockCommands(unlocked());
    const user = userEvent.setup();
    render(<App />);
    await user.click(await screen.findByTestId('nav-activity'));
    await screen.findAllByTestId('audit-row');
    await waitFor(() => expect(screen.getByTestId('audit-status')).toHaveTextContent(/intact/));
    await expectNoViolations();
  });

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
  });
});
