import { act, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { Offers, forgetLastSearch } from '../screens/Offers';
import { callsTo, deferred, mockCommands, sample } from './ipc';
import type { FindResult, IdentityCredentialStatus, OffersAnswer } from '../api';

const NOT_PROVEN: IdentityCredentialStatus = { credential: null, sign_in: { state: 'none' } };
const PROVEN: IdentityCredentialStatus = {
  credential: {
    issuer: 'http://127.0.0.1:40001', issuer_name: 'Reference Identity Service', received_at: 1790000000, expires_at: 1797776000,
    given_name: 'Alice', family_name: 'Archer', birthdate: '1975-04-12', postal_code: 'SW1A 1AA', national_insurance_number: 'QQ123456C',
  },
  sign_in: { state: 'finished', issuer: 'http://127.0.0.1:40001' },
};

const offers: OffersAnswer = {
  offers: [
    { provider: 'http://127.0.0.1:38341', provider_name: 'Acme Pensions', resource_id: 'acme-db', pei: 'urn:pei:acme:1',
      scheme: 'Acme Staff Defined Benefit Scheme', match_status: 'match-yes', authorization_server: null },
    { provider: 'http://127.0.0.1:44935', provider_name: 'Northwind Retirement Trust', resource_id: 'nw-1', pei: 'urn:pei:nw:1',
      scheme: 'Northwind Master Trust', match_status: 'match-possible', authorization_server: null },
  ],
  providers: [{ url: 'http://127.0.0.1:38341', outcome: 'ok', resources: 1 }, { url: 'http://127.0.0.1:44935', outcome: 'ok', resources: 1 }],
};

// The last search is kept while the app is open: each test starts with none.
beforeEach(forgetLastSearch);

describe('offers', () => {
  it('tells the owner to add providers in Settings when there are none', async () => {
    mockCommands({ list_providers: [] });
    const goto = vi.fn();
    const user = userEvent.setup();
    render(<Offers onGoto={goto} />);
    expect(await screen.findByTestId('offers-empty')).toHaveTextContent(/Settings/);
    await user.click(screen.getByRole('button', { name: /go to settings/i }));
    expect(goto).toHaveBeenCalledWith('settings');
  });

  it('gets the list of pension providers when the wallet knows none, then offers the search', async () => {
    let providers: unknown[] = [];
    const calls = mockCommands({
      list_providers: () => providers,
      identity_credential: PROVEN,
      fetch_registry: () => { providers = sample('providers'); return { providers, governance: { trusted_key: 'did:key:z', registry: null, expired: false, source: 'https://register.example/registry.jws' } }; },
    });
    const user = userEvent.setup();
    render(<Offers onGoto={vi.fn()} />);
    await user.click(await screen.findByRole('button', { name: 'Get the list of pension providers' }));
    expect(await screen.findByTestId('find-pensions')).toBeInTheDocument();
    expect(callsTo(calls, 'fetch_registry').map((c) => c.args)).toEqual([{ fetch: {} }]);
  });

  it('says so when the app has no list of providers to fetch', async () => {
    mockCommands({
      list_providers: [],
      fetch_registry: () => { throw { kind: 'invalid_input', message: 'No register of pension providers is set up for this app.' }; },
    });
    const user = userEvent.setup();
    render(<Offers onGoto={vi.fn()} />);
    await user.click(await screen.findByTestId('fetch-register'));
    expect(await screen.findByTestId('register-none')).toHaveTextContent('This app has no list of pension providers to fetch.');
    expect(screen.queryByTestId('register-failed')).not.toBeInTheDocument();
  });

  it('finds pensions, then protecting one shows progress and then success', async () => {
    const pending = deferred<unknown>();
    const calls = mockCommands({
      list_providers: sample('providers'),
      identity_credential: PROVEN,
      find_pensions: sample('find'),
      list_offers: offers,
      accept_offer: () => pending.promise,
    });
    const user = userEvent.setup();
    render(<Offers onGoto={vi.fn()} />);
    await user.click(await screen.findByTestId('find-pensions'));
    const cards = await screen.findAllByTestId('offer-card');
    expect(cards).toHaveLength(2);
    expect(calls.map((c) => c.cmd).filter((c) => c !== 'identity_credential' && c !== 'registry_summary')).toEqual(['list_providers', 'find_pensions', 'list_offers']);
    expect(screen.getAllByTestId('provider-outcome')[0]).toHaveTextContent(/Acme Pensions: Found pensions that match you/);

    await user.click(within(cards[0]).getByTestId('accept-offer'));
    const button = within(cards[0]).getByTestId('accept-offer');
    expect(button).toBeDisabled();
    expect(button).toHaveTextContent('Protecting…');
    // The possible match waits for the owner to say it is hers.
    expect(within(cards[1]).getByTestId('accept-offer')).toBeDisabled();
    expect(callsTo(calls, 'accept_offer')[0].args).toEqual({ provider: 'http://127.0.0.1:38341', resourceId: 'acme-db', confirmationCode: null });

    await act(async () => pending.resolve({ pei: 'urn:pei:acme:1', credential: { id: 'c1', status: 'active', issuer: 'did:key:x' } }));
    expect(await within(cards[0]).findByTestId('accept-success')).toHaveTextContent(/Acme Pensions has sent proof that this wallet looks after it/);
    expect(within(cards[0]).queryByTestId('accept-offer')).not.toBeInTheDocument();
  });

  it('shows a rejected accept on that card only', async () => {
    mockCommands({
      list_providers: sample('providers'),
      identity_credential: PROVEN,
      find_pensions: sample('find'),
      list_offers: offers,
      accept_offer: () => { throw { kind: 'provider_error', message: 'Northwind said: identity does not match' }; },
    });
    const user = userEvent.setup();
    render(<Offers onGoto={vi.fn()} />);
    await user.click(await screen.findByTestId('find-pensions'));
    const cards = await screen.findAllByTestId('offer-card');
    await user.click(within(cards[1]).getByLabelText('Yes, this is mine'));
    await user.click(within(cards[1]).getByTestId('accept-offer'));
    const err = await within(cards[1]).findByTestId('accept-error');
    expect(err).toHaveTextContent('Northwind said: identity does not match');
    expect(err).toHaveAttribute('role', 'alert');
    expect(within(cards[0]).queryByTestId('accept-error')).not.toBeInTheDocument();
    expect(within(cards[1]).getByTestId('accept-offer')).toBeEnabled();
  });

  it('reports a credential that could not be collected although the pension is protected', async () => {
    mockCommands({
      list_providers: sample('providers'), identity_credential: PROVEN, find_pensions: sample('find'), list_offers: offers,
      accept_offer: { pei: 'urn:pei:acme:1', credential_error: 'offer expired' },
    });
    const user = userEvent.setup();
    render(<Offers onGoto={vi.fn()} />);
    await user.click(await screen.findByTestId('find-pensions'));
    const [card] = await screen.findAllByTestId('offer-card');
    await user.click(within(card).getByTestId('accept-offer'));
    await waitFor(() => expect(within(card).getByTestId('accept-success')).toHaveTextContent(/could not be collected: offer expired/));
  });

  it('asks for the code the provider posted when another wallet protects the pension, then moves it', async () => {
    let tries = 0;
    const calls = mockCommands({
      list_providers: sample('providers'), identity_credential: PROVEN, find_pensions: sample('find'), list_offers: offers,
      accept_offer: (args: Record<string, unknown>) => {
        tries += 1;
        if (!args.confirmationCode) throw { kind: 'confirmation_required', message: 'Another wallet protects this pension.' };
        if (args.confirmationCode !== '482913') throw { kind: 'provider_error', message: 'that confirmation code is not right' };
        return { pei: 'urn:pei:acme:1', credential: { id: 'c1', status: 'active', issuer: 'did:key:x' } };
      },
    });
    const user = userEvent.setup();
    render(<Offers onGoto={vi.fn()} />);
    await user.click(await screen.findByTestId('find-pensions'));
    const [card] = await screen.findAllByTestId('offer-card');
    await user.click(within(card).getByTestId('accept-offer'));
    const form = await within(card).findByTestId('confirm-move');
    expect(form).toHaveTextContent(/Acme Pensions has written to you with a code/);
    const input = within(form).getByLabelText(/code from acme pensions/i);
    await user.type(input, '111111');
    await user.click(within(form).getByTestId('confirm-move-submit'));
    expect(await within(card).findByRole('alert')).toHaveTextContent(/not right/);
    await user.clear(within(card).getByLabelText(/code from acme pensions/i));
    await user.type(within(card).getByLabelText(/code from acme pensions/i), '482913');
    await user.click(within(card).getByTestId('confirm-move-submit'));
    expect(await within(card).findByTestId('accept-success')).toBeInTheDocument();
    expect(callsTo(calls, 'accept_offer').map((c) => c.args.confirmationCode)).toEqual([null, '111111', '482913']);
    expect(tries).toBe(3);
  });
});

describe('find pensions: in plain words', () => {
  const handlers = () => ({
    list_providers: sample('providers'), identity_credential: PROVEN, find_pensions: sample('find'), list_offers: offers,
    accept_offer: { pei: 'urn:pei:nw:1', authorization_server: 'http://127.0.0.1:8471', credential: { id: 'c1', status: 'active', issuer: 'did:key:x' } },
  });

  it('is called Find pensions, says what it does in a line, and what protecting does in a disclosure', async () => {
    mockCommands(handlers());
    render(<Offers onGoto={vi.fn()} />);
    expect(await screen.findByRole('heading', { level: 1, name: 'Find pensions' })).toBeInTheDocument();
    expect(screen.getByText(/Your wallet asks your 2 pension providers which pensions they hold for you/)).toBeInTheDocument();
    const next = screen.getByTestId('what-happens-next');
    expect(next).not.toHaveAttribute('open');
    expect(next).toHaveTextContent('What happens next');
    expect(next).toHaveTextContent(/your provider asks this wallet before anyone sees it/);
    expect(next).toHaveTextContent(/Other pension dashboards and apps must ask you first/);
    expect(next).toHaveTextContent(/If something else looked after the pension before.*it stops doing so/);
  });

  it('protects a possible match only once the owner ticks “Yes, this is mine”', async () => {
    const calls = mockCommands(handlers());
    const user = userEvent.setup();
    render(<Offers onGoto={vi.fn()} />);
    await user.click(await screen.findByTestId('find-pensions'));
    const cards = await screen.findAllByTestId('offer-card');
    const possible = cards[1];
    expect(within(possible).getByTestId('offer-match')).toHaveTextContent(/Might be yours.*Northwind Retirement Trust found this pension with some of your details, but not all/);
    const protect = within(possible).getByRole('button', { name: 'Protect it' });
    expect(protect).toBeDisabled();
    expect(protect).toHaveAccessibleDescription('Tick “Yes, this is mine” first.');
    // A sure match needs no tick.
    expect(within(cards[0]).queryByLabelText('Yes, this is mine')).not.toBeInTheDocument();
    expect(within(cards[0]).getByRole('button', { name: 'Protect it' })).toBeEnabled();

    const mine = within(possible).getByLabelText('Yes, this is mine');
    await user.click(mine);
    expect(protect).toBeEnabled();
    await user.click(mine);
    expect(protect).toBeDisabled();
    expect(callsTo(calls, 'accept_offer')).toHaveLength(0);
    await user.click(mine);
    await user.click(protect);
    expect(callsTo(calls, 'accept_offer')[0].args).toEqual({ provider: 'http://127.0.0.1:44935', resourceId: 'nw-1', confirmationCode: null });
    expect(await within(possible).findByTestId('accept-success')).toHaveTextContent('Protected.');
  });

  it('shows the employers and years of a possible match under its name, one a line, when the provider gives them', async () => {
    const withEmployer = structuredClone(offers);
    withEmployer.offers[1].employment = [
      { employer: 'Northwind Traders plc', from: 1996, to: 1998 },
      { employer: 'Northwind Logistics Ltd', from: 2012, to: null },
    ];
    mockCommands({ ...handlers(), list_offers: withEmployer });
    const user = userEvent.setup();
    render(<Offers onGoto={vi.fn()} />);
    await user.click(await screen.findByTestId('find-pensions'));
    const cards = await screen.findAllByTestId('offer-card');
    const lines = within(cards[1]).getAllByTestId('match-employment');
    expect(lines.map((l) => l.textContent)).toEqual(['Northwind Traders plc, 1996 to 1998', 'Northwind Logistics Ltd, since 2012']);
    // Under the scheme's name, before anything else on the card.
    const heading = within(cards[1]).getByRole('heading', { name: 'Northwind Master Trust' });
    expect(heading.nextElementSibling).toBe(within(cards[1]).getByRole('list', { name: 'Employers' }));
    expect(within(cards[1]).getByTestId('offer-match')).toHaveTextContent('Check the employers and dates before you protect it.');
    // The sure match came without employers: no lines, and no empty list.
    expect(within(cards[0]).queryAllByTestId('match-employment')).toHaveLength(0);
    expect(within(cards[0]).queryByRole('list')).not.toBeInTheDocument();
  });

  it('shows one employer with its years, and keeps the old wording for a possible match without employers', async () => {
    const withEmployer = structuredClone(offers);
    withEmployer.offers[1].employment = [{ employer: 'Northwind Traders plc', from: 1996, to: 1998 }];
    mockCommands({ ...handlers(), list_offers: withEmployer });
    const user = userEvent.setup();
    render(<Offers onGoto={vi.fn()} />);
    await user.click(await screen.findByTestId('find-pensions'));
    const [, possible] = await screen.findAllByTestId('offer-card');
    expect(within(possible).getByTestId('match-employment')).toHaveTextContent(/^Northwind Traders plc, 1996 to 1998$/);
    expect(within(possible).getByTestId('offer-match')).toHaveTextContent('Check the employer and dates before you protect it.');
  });

  it('says nothing of employers when the provider gives none, or an empty list', async () => {
    const empty = structuredClone(offers);
    empty.offers[0].employment = [];
    mockCommands({ ...handlers(), list_offers: empty });
    const user = userEvent.setup();
    render(<Offers onGoto={vi.fn()} />);
    await user.click(await screen.findByTestId('find-pensions'));
    const cards = await screen.findAllByTestId('offer-card');
    expect(screen.queryAllByTestId('match-employment')).toHaveLength(0);
    expect(within(cards[1]).getByTestId('offer-match')).toHaveTextContent('Check the name of the scheme before you protect it.');
  });

  it('takes the employers from what the search found, for an offer that came without them', async () => {
    const found = sample<FindResult[]>('find');
    found[1].outcome = 'possible';
    found[1].items = [{ pei: 'urn:pei:nw:1', description: 'Northwind Master Trust', match_status: 'match-possible',
      employment: [{ employer: 'Northwind Traders plc', from: 1996, to: 1998 }] }];
    mockCommands({ ...handlers(), find_pensions: found });
    const user = userEvent.setup();
    render(<Offers onGoto={vi.fn()} />);
    await user.click(await screen.findByTestId('find-pensions'));
    const [sure, possible] = await screen.findAllByTestId('offer-card');
    expect(within(possible).getByTestId('match-employment')).toHaveTextContent('Northwind Traders plc, 1996 to 1998');
    expect(within(sure).queryByTestId('match-employment')).not.toBeInTheDocument();
  });

  it('after protecting, goes to My pensions from the card', async () => {
    mockCommands(handlers());
    const goto = vi.fn();
    const user = userEvent.setup();
    render(<Offers onGoto={goto} />);
    await user.click(await screen.findByTestId('find-pensions'));
    const [card] = await screen.findAllByTestId('offer-card');
    await user.click(within(card).getByTestId('accept-offer'));
    const done = await within(card).findByTestId('accept-success');
    expect(done).toHaveFocus();
    await user.click(within(done).getByRole('button', { name: 'See it in My pensions' }));
    expect(goto).toHaveBeenCalledWith('pensions');
  });

  it('keeps the last search, with when it was made, on leaving and coming back', async () => {
    const calls = mockCommands(handlers());
    const user = userEvent.setup();
    const first = render(<Offers onGoto={vi.fn()} />);
    await user.click(await screen.findByTestId('find-pensions'));
    const [card] = await screen.findAllByTestId('offer-card');
    await user.click(within(card).getByTestId('accept-offer'));
    await within(card).findByTestId('accept-success');
    const when = screen.getByTestId('last-searched').textContent;
    first.unmount();

    render(<Offers onGoto={vi.fn()} />);
    expect(await screen.findAllByTestId('offer-card')).toHaveLength(2);
    expect(screen.getByTestId('last-searched')).toHaveTextContent(when!);
    expect(when).toMatch(/^Last searched /);
    // What was protected stays protected, not offered again.
    expect(within(screen.getAllByTestId('offer-card')[0]).getByTestId('accept-success')).toBeInTheDocument();
    expect(screen.getByTestId('find-pensions')).toHaveTextContent('Search again');
    expect(callsTo(calls, 'find_pensions')).toHaveLength(1);
  });

  it('keeps addresses and identifiers inside technical details', async () => {
    mockCommands({
      ...handlers(),
      find_pensions: [...sample<unknown[]>('find'), { url: 'http://127.0.0.1:50000', name: null, outcome: 'unreachable', error: 'error sending request for url' }],
    });
    const user = userEvent.setup();
    render(<Offers onGoto={vi.fn()} />);
    await user.click(await screen.findByTestId('find-pensions'));
    await screen.findAllByTestId('offer-card');
    const down = screen.getAllByTestId('provider-outcome')[2];
    expect(down).toHaveTextContent('Your pension provider: Could not be reached just now');
    for (const raw of ['urn:pei:', 'http://127.0.0.1', 'error sending request']) {
      const at = screen.getAllByText((_, el) => el?.children.length === 0 && !!el.textContent?.includes(raw));
      for (const el of at) expect(el.closest('details')).not.toBeNull();
    }
  });
});

describe('proving who you are', () => {
  it('opens the sign-in, shows the address when no browser opened, and shows what was proven', async () => {
    let signedIn = false;
    const calls = mockCommands({
      list_providers: sample('providers'),
      identity_credential: () => (signedIn ? PROVEN : NOT_PROVEN),
      start_identity_sign_in: { authorize_url: 'http://127.0.0.1:40001/authorize?client_id=uma-wallet', opened: false },
    });
    const user = userEvent.setup();
    render(<Offers onGoto={vi.fn()} />);
    const card = await screen.findByTestId('prove-identity');
    expect(card).toHaveTextContent(/Prove who you are/);
    await user.type(within(card).getByLabelText(/identity service address/i), 'http://127.0.0.1:40001');
    await user.click(within(card).getByTestId('prove-identity-start'));
    expect(callsTo(calls, 'start_identity_sign_in')[0].args).toEqual({ issuer: 'http://127.0.0.1:40001' });
    const waiting = await within(card).findByTestId('sign-in-waiting');
    expect(waiting).toHaveTextContent(/could not be opened/);
    expect(within(card).getByTestId('sign-in-url')).toHaveTextContent('http://127.0.0.1:40001/authorize');
    signedIn = true;
    const proven = await within(card).findByTestId('identity-proven', {}, { timeout: 3000 });
    expect(proven).toHaveTextContent(/Reference Identity Service checked that you are Alice Archer, born 12 Apr 1975/);
    expect(proven).toHaveTextContent(/only your name, date of birth, postcode and National Insurance number/);
  });

  it('says plainly when signing in failed', async () => {
    mockCommands({
      list_providers: sample('providers'),
      identity_credential: { credential: null, sign_in: { state: 'failed', issuer: 'http://127.0.0.1:40001', error: 'you cancelled signing in' } },
    });
    render(<Offers onGoto={vi.fn()} />);
    expect(await screen.findByTestId('sign-in-failed')).toHaveTextContent(/did not finish: you cancelled signing in/);
  });
});
