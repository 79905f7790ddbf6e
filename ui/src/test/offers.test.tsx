import { act, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { Offers } from '../screens/Offers';
import { callsTo, deferred, mockCommands, sample } from './ipc';
import type { OffersAnswer } from '../api';

const offers: OffersAnswer = {
  offers: [
    { provider: 'http://127.0.0.1:38341', provider_name: 'Acme Pensions', resource_id: 'acme-db', pei: 'urn:pei:acme:1',
      scheme: 'Acme Staff Defined Benefit Scheme', match_status: 'match-yes', authorization_server: null },
    { provider: 'http://127.0.0.1:44935', provider_name: 'Northwind Retirement Trust', resource_id: 'nw-1', pei: 'urn:pei:nw:1',
      scheme: 'Northwind Master Trust', match_status: 'match-possible', authorization_server: null },
  ],
  providers: [{ url: 'http://127.0.0.1:38341', outcome: 'ok', resources: 1 }, { url: 'http://127.0.0.1:44935', outcome: 'ok', resources: 1 }],
};

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

  it('finds pensions, then protecting one shows progress and then success', async () => {
    const pending = deferred<unknown>();
    const calls = mockCommands({
      list_providers: sample('providers'),
      find_pensions: sample('find'),
      list_offers: offers,
      accept_offer: () => pending.promise,
    });
    const user = userEvent.setup();
    render(<Offers onGoto={vi.fn()} />);
    await user.click(await screen.findByTestId('find-pensions'));
    const cards = await screen.findAllByTestId('offer-card');
    expect(cards).toHaveLength(2);
    expect(calls.map((c) => c.cmd)).toEqual(['list_providers', 'find_pensions', 'list_offers']);
    expect(screen.getAllByTestId('provider-outcome')[0]).toHaveTextContent(/Acme Pensions: Found pensions that match you/);

    await user.click(within(cards[0]).getByTestId('accept-offer'));
    const button = within(cards[0]).getByTestId('accept-offer');
    expect(button).toBeDisabled();
    expect(button).toHaveTextContent('Protecting…');
    expect(within(cards[1]).getByTestId('accept-offer')).toBeEnabled();
    expect(callsTo(calls, 'accept_offer')[0].args).toEqual({ provider: 'http://127.0.0.1:38341', resourceId: 'acme-db' });

    await act(async () => pending.resolve({ pei: 'urn:pei:acme:1', credential: { id: 'c1', status: 'active', issuer: 'did:key:x' } }));
    expect(await within(cards[0]).findByTestId('accept-success')).toHaveTextContent(/credential\) received/);
    expect(within(cards[0]).queryByTestId('accept-offer')).not.toBeInTheDocument();
  });

  it('shows a rejected accept on that card only', async () => {
    mockCommands({
      list_providers: sample('providers'),
      find_pensions: sample('find'),
      list_offers: offers,
      accept_offer: () => { throw { kind: 'provider_error', message: 'Northwind said: identity does not match' }; },
    });
    const user = userEvent.setup();
    render(<Offers onGoto={vi.fn()} />);
    await user.click(await screen.findByTestId('find-pensions'));
    const cards = await screen.findAllByTestId('offer-card');
    await user.click(within(cards[1]).getByTestId('accept-offer'));
    const err = await within(cards[1]).findByTestId('accept-error');
    expect(err).toHaveTextContent('Northwind said: identity does not match');
    expect(err).toHaveAttribute('role', 'alert');
    expect(within(cards[0]).queryByTestId('accept-error')).not.toBeInTheDocument();
    expect(within(cards[1]).getByTestId('accept-offer')).toBeEnabled();
  });

  it('reports a credential that could not be collected although the pension is protected', async () => {
    mockCommands({
      list_providers: sample('providers'), find_pensions: sample('find'), list_offers: offers,
      accept_offer: { pei: 'urn:pei:acme:1', credential_error: 'offer expired' },
    });
    const user = userEvent.setup();
    render(<Offers onGoto={vi.fn()} />);
    await user.click(await screen.findByTestId('find-pensions'));
    const [card] = await screen.findAllByTestId('offer-card');
    await user.click(within(card).getByTestId('accept-offer'));
    await waitFor(() => expect(within(card).getByTestId('accept-success')).toHaveTextContent(/could not be collected: offer expired/));
  });
});
