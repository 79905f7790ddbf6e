import { act, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it } from 'vitest';
import type { Channel } from '@tauri-apps/api/core';
import { App } from '../App';
import { forgetLastSearch } from '../screens/Offers';
import { callsTo, mockCommands, sample, unlockedState } from './ipc';
import { expectNoViolations, likeIndexHtml } from './axe';
import type { IdentityCredentialStatus, OffersAnswer, OpenedLink, PendingRequest } from '../api';

const PROVEN: IdentityCredentialStatus = {
  credential: {
    issuer: 'http://127.0.0.1:40001', issuer_name: 'Reference Identity Service', received_at: 1790000000, expires_at: 1797776000,
    given_name: 'Alice', family_name: 'Archer', birthdate: '1975-04-12', postal_code: 'SW1A 1AA', national_insurance_number: 'QQ123456C',
  },
  sign_in: { state: 'finished', issuer: 'http://127.0.0.1:40001' },
};
const ACME = 'http://127.0.0.1:38341';
const LINK = `openid-credential-offer://?credential_offer_uri=${encodeURIComponent(`${ACME}/credential-offer`)}`;
const acmeOffers: OffersAnswer = {
  offers: [
    { provider: ACME, provider_name: 'Acme Pensions', resource_id: 'acme-db', pei: 'urn:pei:acme:1',
      scheme: 'Acme Staff Defined Benefit Scheme', match_status: 'match-yes', authorization_server: null },
  ],
  providers: [{ url: ACME, outcome: 'ok', resources: 1 }],
};

/** The unlocked app, with the link channel caught so the test can open links. */
function app(extra: Record<string, unknown> = {}) {
  const link: { channel: Channel<OpenedLink> | null } = { channel: null };
  const calls = mockCommands({
    app_state: unlockedState, list_requests: sample<PendingRequest[]>('pending'), list_clients: [], watch_requests: null,
    watch_links: (a: Record<string, unknown>) => { link.channel = a.onLink as Channel<OpenedLink>; return null; },
    my_pensions: { pensions: [], totals: { estimated_annual_income: 0, dc_pots: 0 } },
    list_grants: [], get_identity: null, list_providers: sample('providers'), list_resources: [], list_policies: [],
    identity_credential: PROVEN, registry_summary: { trusted_key: null, registry: null, expired: false, source: null },
    ...extra,
  });
  render(<App />);
  const open = async (opened: OpenedLink) => {
    await waitFor(() => expect(link.channel).not.toBeNull());
    await act(async () => { link.channel!.onmessage(opened); });
  };
  return { calls, open };
}

beforeEach(forgetLastSearch);

describe('links the system opens the app with', () => {
  it('an offer link shows who offers, asks that provider only when the owner wants, and protects what she chooses', async () => {
    const { calls, open } = app({
      read_offer_link: { provider: ACME, provider_name: 'Acme Pensions' },
      list_offers: acmeOffers,
      accept_offer: { provider: ACME, resource_id: 'acme-db', pei: 'urn:pei:acme:1', authorization_server: 'http://127.0.0.1:8471', credential: null, credential_error: null },
    });
    const user = userEvent.setup();
    expect(await screen.findByTestId('screen-pensions')).toBeInTheDocument();
    await open({ kind: 'offer', link: LINK });

    const panel = await screen.findByTestId('offer-link');
    expect(await within(panel).findByRole('heading', { name: 'A link to your pensions at Acme Pensions' })).toHaveFocus();
    expect(screen.getByTestId('screen-offers')).toBeInTheDocument();
    expect(callsTo(calls, 'read_offer_link').map((c) => c.args)).toEqual([{ link: LINK }]);
    // Nothing asked of any provider before she says so.
    expect(callsTo(calls, 'list_offers')).toHaveLength(0);
    expect(callsTo(calls, 'find_pensions')).toHaveLength(0);
    likeIndexHtml();
    await expectNoViolations();

    await user.click(within(panel).getByRole('button', { name: 'See what Acme Pensions offers' }));
    const cards = await screen.findAllByTestId('offer-card');
    expect(cards).toHaveLength(1);
    expect(callsTo(calls, 'list_offers').map((c) => c.args)).toEqual([{ provider: ACME }]);
    expect(callsTo(calls, 'find_pensions')).toHaveLength(0);

    await user.click(within(cards[0]).getByTestId('accept-offer'));
    expect(await screen.findByTestId('accept-success')).toHaveTextContent('Protected');
    expect(callsTo(calls, 'accept_offer').map((c) => c.args)).toEqual([{ provider: ACME, resourceId: 'acme-db', confirmationCode: null }]);
  });

  it('declining an offer link adds nothing and asks no one', async () => {
    const { calls, open } = app({ read_offer_link: { provider: ACME, provider_name: 'Acme Pensions' } });
    const user = userEvent.setup();
    await open({ kind: 'offer', link: LINK });
    await user.click(await screen.findByTestId('offer-link-decline'));
    expect(await screen.findByTestId('offer-link-declined')).toHaveTextContent('Nothing was added and nothing was sent');
    expect(callsTo(calls, 'list_offers')).toHaveLength(0);
    expect(callsTo(calls, 'accept_offer')).toHaveLength(0);
    await user.click(screen.getByTestId('offer-link-close'));
    expect(screen.queryByTestId('offer-link')).not.toBeInTheDocument();
  });

  it('an offer from a provider the wallet does not know says so and offers nothing', async () => {
    const message = 'This link comes from a pension provider your wallet does not know. If you expected it, add the provider by its web address first, then open the link again.';
    const { calls, open } = app({ read_offer_link: () => { throw { kind: 'not_found', message }; } });
    await open({ kind: 'offer', link: 'openid-credential-offer://?credential_offer_uri=https%3A%2F%2Fevil.example%2Fo' });
    expect(await screen.findByTestId('offer-link-error')).toHaveTextContent('does not know');
    expect(screen.queryByTestId('offer-link-show')).not.toBeInTheDocument();
    expect(callsTo(calls, 'list_offers')).toHaveLength(0);
  });

  it('a request link opens the inbox on that request, and says so when it is no longer waiting', async () => {
    const pending = sample<PendingRequest[]>('pending');
    const { open } = app();
    expect(await screen.findByTestId('screen-pensions')).toBeInTheDocument();
    await open({ kind: 'request', id: pending[0].id });
    expect(await screen.findByTestId('screen-requests')).toBeInTheDocument();
    const card = (await screen.findAllByTestId('request-card')).find((c) => c.dataset.requestId === pending[0].id)!;
    await waitFor(() => expect(within(card).getAllByRole('heading')[0]).toHaveFocus());

    await open({ kind: 'request', id: 'long-gone' });
    expect(await screen.findByTestId('linked-request-gone')).toHaveTextContent('no longer waiting');
    likeIndexHtml();
    await expectNoViolations();
  });

  it('a link that comes while the owner is ticking boxes waits in a notice, and what she ticked stays', async () => {
    const pending = sample<PendingRequest[]>('pending');
    const { calls, open } = app({ read_offer_link: { provider: ACME, provider_name: 'Acme Pensions' } });
    const user = userEvent.setup();
    expect(await screen.findByTestId('screen-pensions')).toBeInTheDocument();
    await open({ kind: 'request', id: pending[0].id });
    const card = (await screen.findAllByTestId('request-card')).find((c) => c.dataset.requestId === pending[0].id)!;
    const box = within(card).getAllByRole('checkbox')[0];
    await user.click(box);
    expect(box).toBeChecked();

    // Mid-task: the link does not move her; a notice says it came.
    await open({ kind: 'offer', link: LINK });
    const notice = await screen.findByTestId('link-waiting');
    expect(notice).toHaveTextContent('A link to your pensions arrived. What you are doing here stays as it is until you choose.');
    expect(screen.getByTestId('screen-requests')).toBeInTheDocument();
    expect(box).toBeChecked();
    expect(screen.getByTestId('announcer')).toHaveTextContent('A link arrived.');
    expect(callsTo(calls, 'read_offer_link')).toHaveLength(0);
    likeIndexHtml();
    await expectNoViolations();

    // Not now: the notice goes, nothing else changes.
    await user.click(within(notice).getByRole('button', { name: 'Not now' }));
    expect(screen.queryByTestId('link-waiting')).not.toBeInTheDocument();
    expect(box).toBeChecked();

    // Show it: the link opens as it would have.
    await open({ kind: 'offer', link: LINK });
    await user.click(within(await screen.findByTestId('link-waiting')).getByRole('button', { name: 'Show it' }));
    const panel = await screen.findByTestId('offer-link');
    expect(await within(panel).findByRole('heading', { name: 'A link to your pensions at Acme Pensions' })).toHaveFocus();
    expect(screen.queryByTestId('link-waiting')).not.toBeInTheDocument();
    expect(callsTo(calls, 'read_offer_link').map((c) => c.args)).toEqual([{ link: LINK }]);
  });
});
