import { render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it } from 'vitest';
import { App } from '../App';
import { forgetLastSearch } from '../screens/Offers';
import { callsTo, mockCommands, sample, type Handler } from './ipc';
import type { AppState, IdentityCredentialStatus, OffersAnswer, Provider } from '../api';

const unlocked: AppState = {
  wallet_exists: true, unlocked: true, data_dir: '/home/a/.wallet',
  settings: { listen: '127.0.0.1:8471', public_issuer: null, backups: { daily: false, keep: 7 }, start_at_login: true, unlock_at_login: false },
  server: { issuer: 'http://127.0.0.1:8471', owner_api: 'http://127.0.0.1:8471/owner', listen: '127.0.0.1:8471', pid: 1, notifies_owner: false },
};
const NOT_PROVEN: IdentityCredentialStatus = { credential: null, sign_in: { state: 'none' } };
const PROVEN: IdentityCredentialStatus = {
  credential: {
    issuer: 'http://127.0.0.1:40001', issuer_name: 'Reference Identity Service', received_at: 1790000000, expires_at: 1797776000,
    given_name: 'Alice', family_name: 'Archer', birthdate: '1975-04-12', postal_code: 'SW1A 1AA', national_insurance_number: null,
  },
  sign_in: { state: 'finished', issuer: 'http://127.0.0.1:40001' },
};
const acme: Provider = { url: 'http://127.0.0.1:38341', name: 'Acme Pensions', added_at: 1, from_registry: true };
const northwind: Provider = { url: 'http://127.0.0.1:44935', name: 'Northwind Retirement Trust', added_at: 1, from_registry: true };
const offers: OffersAnswer = {
  offers: [
    { provider: acme.url, provider_name: 'Acme Pensions', resource_id: 'acme-db', pei: 'urn:pei:acme:1',
      scheme: 'Acme Staff Defined Benefit Scheme', match_status: 'match-yes', authorization_server: null },
    { provider: northwind.url, provider_name: 'Northwind Retirement Trust', resource_id: 'nw-1', pei: 'urn:pei:nw:1',
      scheme: 'Northwind Master Trust', match_status: 'match-possible', authorization_server: null },
  ],
  providers: [{ url: acme.url, outcome: 'ok', resources: 1 }, { url: northwind.url, outcome: 'ok', resources: 1 }],
};

beforeEach(forgetLastSearch);

/** A new wallet, made on the create screen: the app then starts the first run. */
async function createWallet(handlers: Record<string, Handler | unknown>) {
  let created = false;
  const calls = mockCommands({
    app_state: () => (created ? unlocked : { ...unlocked, wallet_exists: false, unlocked: false, server: null }),
    create_wallet: () => { created = true; return unlocked; },
    identity_credential: NOT_PROVEN,
    registry_summary: { trusted_key: null, registry: null, expired: false, source: null },
    list_providers: [acme, northwind],
    // An app with no register of providers set up.
    fetch_registry: () => { throw { kind: 'invalid_input', message: 'No register of pension providers is set up for this app.' }; },
    // What the wallet asks for once the first run is over.
    list_requests: [], watch_requests: null, list_grants: [], list_clients: [], get_identity: sample('identity'),
    my_pensions: { pensions: [], totals: { estimated_annual_income: 0, dc_pots: 0 } },
    ...handlers,
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
  await screen.findByTestId('screen-first-run');
  return { calls, user };
}

const step = () => screen.getByTestId('screen-first-run').getAttribute('data-step');
const title = () => screen.getByRole('heading', { level: 1 });

describe('first run', () => {
  it('starts with proving who she is, with no question about which details were checked', async () => {
    await createWallet({});
    expect(step()).toBe('prove');
    expect(screen.getByTestId('first-run-progress')).toHaveTextContent('step 1 of 4');
    await waitFor(() => expect(title()).toHaveTextContent('Prove who you are'));
    expect(title()).toHaveFocus();
    expect(await screen.findByTestId('prove-identity-start')).toBeInTheDocument();
    expect(screen.queryByText(/which of these details/i)).not.toBeInTheDocument();
    expect(screen.queryByTestId('screen-pensions')).not.toBeInTheDocument();
    // Not proven yet: only leaving it for later.
    expect(screen.queryByTestId('first-run-next')).not.toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'I’ll do this later' })).toBeInTheDocument();
  });

  it('goes through every step: proven, find, protect what she recognises, back up, then her pensions', async () => {
    const { calls, user } = await createWallet({
      identity_credential: PROVEN,
      find_pensions: sample('find'),
      list_offers: offers,
      accept_offer: { pei: 'urn:pei:nw:1', authorization_server: unlocked.server!.issuer, credential: { id: 'c1', status: 'active', issuer: 'did:key:x' } },
      export_backup: { path: '/home/a/Documents/uma-wallet-backup-1796000000.json' },
    });
    expect(await screen.findByTestId('identity-proven')).toHaveTextContent('Alice Archer');
    await user.click(screen.getByRole('button', { name: 'Continue' }));

    expect(step()).toBe('find');
    expect(title()).toHaveTextContent('Find your pensions');
    await waitFor(() => expect(title()).toHaveFocus());
    expect(await screen.findByTestId('first-run-providers')).toHaveTextContent('Acme Pensions');
    expect(screen.getByTestId('first-run-providers')).toHaveTextContent('Northwind Retirement Trust');
    await user.click(screen.getByRole('button', { name: 'Find my pensions' }));
    expect(await screen.findByTestId('first-run-found')).toHaveTextContent('Found 2 pensions that this wallet can look after.');
    expect(screen.getAllByTestId('provider-outcome')).toHaveLength(2);
    await user.click(screen.getByRole('button', { name: 'Continue' }));

    expect(step()).toBe('protect');
    expect(title()).toHaveTextContent('Protect the pensions you recognise');
    expect(screen.getByTestId('what-happens-next')).toBeInTheDocument();
    const cards = screen.getAllByTestId('offer-card');
    // She recognises the Northwind one: a possible match, so she says it is hers first.
    const possible = cards[1];
    expect(within(possible).getByRole('button', { name: 'Protect it' })).toBeDisabled();
    await user.click(within(possible).getByLabelText('Yes, this is mine'));
    await user.click(within(possible).getByRole('button', { name: 'Protect it' }));
    expect(await within(possible).findByTestId('accept-success')).toBeInTheDocument();
    // No way off to My pensions in the middle of the first run.
    expect(within(possible).queryByRole('button', { name: 'See it in My pensions' })).not.toBeInTheDocument();
    expect(callsTo(calls, 'accept_offer').map((c) => c.args)).toEqual([{ provider: northwind.url, resourceId: 'nw-1', confirmationCode: null }]);
    await user.click(screen.getByRole('button', { name: 'Continue' }));

    expect(step()).toBe('backup');
    expect(title()).toHaveTextContent('Make a backup');
    await user.click(screen.getByRole('button', { name: 'Make a backup now' }));
    expect(await screen.findByTestId('first-run-backup-path')).toHaveTextContent('/home/a/Documents/uma-wallet-backup-1796000000.json');
    expect(callsTo(calls, 'export_backup')).toHaveLength(1);
    await user.click(screen.getByRole('button', { name: 'Go to my pensions' }));
    expect(await screen.findByTestId('screen-pensions')).toBeInTheDocument();
    expect(screen.queryByTestId('screen-first-run')).not.toBeInTheDocument();
  });

  it('shows the employers and years of each possible match at “Yes, this is mine”, and none where the provider gave none', async () => {
    const withEmployers = structuredClone(offers);
    withEmployers.offers[1].employment = [
      { employer: 'Northwind Traders plc', from: 1996, to: 1998 },
      { employer: 'Northwind Logistics Ltd', from: 2012 },
    ];
    const { user } = await createWallet({ identity_credential: PROVEN, find_pensions: sample('find'), list_offers: withEmployers });
    await user.click(await screen.findByRole('button', { name: 'Continue' }));
    await user.click(await screen.findByRole('button', { name: 'Find my pensions' }));
    await screen.findByTestId('first-run-found');
    await user.click(screen.getByRole('button', { name: 'Continue' }));
    expect(step()).toBe('protect');
    const [sure, possible] = screen.getAllByTestId('offer-card');
    expect(within(possible).getAllByTestId('match-employment').map((l) => l.textContent)).toEqual([
      'Northwind Traders plc, 1996 to 1998', 'Northwind Logistics Ltd, since 2012',
    ]);
    expect(within(possible).getByLabelText('Yes, this is mine')).toBeInTheDocument();
    expect(within(possible).getByTestId('offer-match')).toHaveTextContent('Check the employers and dates before you protect it.');
    expect(within(sure).queryByTestId('match-employment')).not.toBeInTheDocument();
  });

  it('keeps the scheme-name wording for a possible match without employers in the first run', async () => {
    const { user } = await createWallet({ identity_credential: PROVEN, find_pensions: sample('find'), list_offers: offers });
    await user.click(await screen.findByRole('button', { name: 'Continue' }));
    await user.click(await screen.findByRole('button', { name: 'Find my pensions' }));
    await screen.findByTestId('first-run-found');
    await user.click(screen.getByRole('button', { name: 'Continue' }));
    const [, possible] = screen.getAllByTestId('offer-card');
    expect(screen.queryAllByTestId('match-employment')).toHaveLength(0);
    expect(within(possible).getByTestId('offer-match')).toHaveTextContent('Check the name of the scheme before you protect it.');
  });

  it('lets every step wait for later, and then opens her pensions', async () => {
    const { calls, user } = await createWallet({});
    for (const [key, heading] of [['prove', 'Prove who you are'], ['find', 'Find your pensions'], ['protect', 'Protect the pensions you recognise'], ['backup', 'Make a backup']]) {
      expect(step()).toBe(key);
      expect(title()).toHaveTextContent(heading);
      await user.click(await screen.findByTestId('first-run-later'));
    }
    expect(await screen.findByTestId('screen-pensions')).toBeInTheDocument();
    expect(callsTo(calls, 'find_pensions')).toHaveLength(0);
    expect(callsTo(calls, 'export_backup')).toHaveLength(0);
  });

  it('fetches the list of pension providers at the start, and looks for pensions with the providers on it', async () => {
    let providers: Provider[] = [];
    const { calls, user } = await createWallet({
      list_providers: () => providers,
      fetch_registry: () => { providers = [acme, northwind]; return { providers, governance: { trusted_key: 'did:key:z', registry: null, expired: false, source: 'https://register.example/registry.jws' } }; },
    });
    expect(callsTo(calls, 'fetch_registry').map((c) => c.args)).toEqual([{ fetch: {} }]);
    await user.click(screen.getByTestId('first-run-later'));
    const listed = await screen.findByTestId('first-run-providers');
    expect(within(listed).getAllByRole('listitem').map((l) => l.textContent)).toEqual(['Acme Pensions', 'Northwind Retirement Trust']);
    expect(screen.queryByTestId('register-failed')).not.toBeInTheDocument();
  });

  it('says plainly when the list of providers could not be fetched, and tries again', async () => {
    let tries = 0;
    let providers: Provider[] = [];
    const { user } = await createWallet({
      list_providers: () => providers,
      fetch_registry: () => {
        tries += 1;
        if (tries === 1) throw { kind: 'provider_error', message: 'https://register.example: error sending request' };
        providers = [acme];
        return { providers, governance: { trusted_key: 'did:key:z', registry: null, expired: false, source: 'https://register.example/registry.jws' } };
      },
    });
    await user.click(screen.getByTestId('first-run-later'));
    const problem = await screen.findByTestId('register-failed');
    expect(problem).toHaveTextContent('The list of pension providers could not be fetched just now.');
    expect(within(problem).getByText(/error sending request/).closest('details')).not.toBeNull();
    expect(screen.getByTestId('first-run-no-providers')).toBeInTheDocument();
    await user.click(within(problem).getByRole('button', { name: 'Try again' }));
    expect(await screen.findByTestId('first-run-providers')).toHaveTextContent('Acme Pensions');
    await waitFor(() => expect(screen.queryByTestId('register-failed')).not.toBeInTheDocument());
  });

  it('says plainly when it knows no providers, and offers adding one by web address under Advanced', async () => {
    let providers: Provider[] = [];
    const { calls, user } = await createWallet({
      list_providers: () => providers,
      add_provider: (a: Record<string, unknown>) => {
        const p = { url: a.url as string, name: a.name as string | null, added_at: 2, from_registry: false };
        providers = [p];
        return p;
      },
    });
    await user.click(screen.getByTestId('first-run-later'));
    const none = await screen.findByTestId('first-run-no-providers');
    expect(none).toHaveTextContent('Your wallet does not know any pension providers yet, so it cannot look for your pensions now.');
    const advanced = within(none).getByTestId('first-run-advanced');
    expect(advanced).not.toHaveAttribute('open');
    await user.click(within(advanced).getByText('Advanced: add a provider by web address'));
    await user.type(within(advanced).getByLabelText('Web address'), 'https://pensions.example.com');
    await user.type(within(advanced).getByLabelText('Name (optional)'), 'Example Pensions');
    await user.click(within(advanced).getByRole('button', { name: 'Add provider' }));
    expect(await screen.findByTestId('first-run-providers')).toHaveTextContent('Example Pensions');
    expect(screen.getByRole('button', { name: 'Find my pensions' })).toBeInTheDocument();
    expect(callsTo(calls, 'add_provider')[0].args).toEqual({ url: 'https://pensions.example.com', name: 'Example Pensions' });
  });

  it('can be left at any step for her pensions', async () => {
    const { user } = await createWallet({});
    await user.click(screen.getByRole('button', { name: 'Stop setting up and go to my pensions' }));
    expect(await screen.findByTestId('screen-pensions')).toBeInTheDocument();
  });

  it('is not shown when an existing wallet is unlocked', async () => {
    mockCommands({
      app_state: unlocked, list_requests: [], watch_requests: null, list_grants: [], list_clients: [], get_identity: null,
      list_providers: [], my_pensions: { pensions: [], totals: { estimated_annual_income: 0, dc_pots: 0 } },
    });
    render(<App />);
    expect(await screen.findByTestId('screen-pensions')).toBeInTheDocument();
    expect(screen.queryByTestId('screen-first-run')).not.toBeInTheDocument();
  });
});
