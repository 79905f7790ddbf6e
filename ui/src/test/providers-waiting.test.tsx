import { act, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import type { Channel } from '@tauri-apps/api/core';
import { App } from '../App';
import { callsTo, mockCommands, sample } from './ipc';
import type { AppState, Client, OwnerEvent, PendingRequest } from '../api';

const base: AppState = {
  wallet_exists: true, unlocked: true, data_dir: '/d',
  settings: { listen: '127.0.0.1:8471', public_issuer: null, backups: { daily: false, keep: 7 }, start_at_login: true, unlock_at_login: false },
  server: { issuer: 'http://127.0.0.1:8471', owner_api: 'x', listen: '127.0.0.1:8471', pid: 7, notifies_owner: false },
};

const ACME = 'https://pensions.acme.example';
const acme: Client = {
  client_id: ACME, client_name: 'Acme Pensions', protection: 'pending', scope: 'uma_protection',
  claims_redirect_uris: [], created_at: 1795821417, registry: { listed: false },
};
const NAMELESS = 'https://rs.nameless.example';
const nameless: Client = { ...acme, client_id: NAMELESS, client_name: null };

/** The app on its Pensions screen, with `clients()` as what list_clients answers. */
async function start(clients: () => Client[], handlers: Record<string, unknown> = {}) {
  let channel: Channel<OwnerEvent> | null = null;
  const calls = mockCommands({
    app_state: base,
    list_requests: [],
    watch_requests: (a: Record<string, unknown>) => { channel = a.onEvent as Channel<OwnerEvent>; return null; },
    my_pensions: { pensions: [], totals: { estimated_annual_income: 0, dc_pots: 0 } },
    list_grants: [], get_identity: null, list_providers: [], list_resources: sample('resources'),
    list_clients: () => clients(),
    ...handlers,
  });
  const user = userEvent.setup();
  render(<App />);
  expect(await screen.findByTestId('screen-pensions')).toBeInTheDocument();
  await waitFor(() => expect(channel).not.toBeNull());
  const send = async (e: OwnerEvent) => { await act(async () => { channel!.onmessage(e); }); };
  return { calls, user, send };
}

describe('providers waiting for approval', () => {
  it('shows a waiting provider in the inbox, in plain words, above the access requests', async () => {
    const { user } = await start(() => [...sample<Client[]>('clients'), acme], { list_requests: sample<PendingRequest[]>('pending') });
    await user.click(screen.getByTestId('nav-requests'));
    const card = await screen.findByTestId('provider-waiting');
    expect(within(card).getByRole('heading')).toHaveTextContent('Acme Pensions asks to use your wallet to look after who sees your pensions with them');
    expect(card).toHaveTextContent(/not on the official list/);
    // Its address only under Technical details.
    expect(within(card).getByText('Technical details').closest('details')).toHaveTextContent(ACME);
    // Providers come first, then the access requests.
    const request = await screen.findByTestId('request-card');
    expect(card.compareDocumentPosition(request) & Node.DOCUMENT_POSITION_FOLLOWING).toBeTruthy();
    // The approved providers already in use are not waiting.
    expect(screen.getAllByTestId('provider-waiting')).toHaveLength(1);
  });

  it('names a provider by the official list when it is listed, and by its address when it gave no name', async () => {
    const listed: Client = { ...acme, client_id: 'https://listed.example', client_name: 'whatever', registry: { listed: true, name: 'Listed Pensions plc', status: 'Authorised pension scheme' } };
    const { user } = await start(() => [listed, nameless]);
    await user.click(screen.getByTestId('nav-requests'));
    const cards = await screen.findAllByTestId('provider-waiting');
    expect(cards).toHaveLength(2);
    expect(within(cards[0]).getByRole('heading')).toHaveTextContent('Listed Pensions plc asks to use your wallet');
    expect(within(cards[0]).getByTestId('provider-listed')).toHaveTextContent('On the official list Authorised pension scheme');
    expect(within(cards[1]).getByRole('heading')).toHaveTextContent(`${NAMELESS} asks to use your wallet`);
    // Nothing else waits, so the inbox does not claim no one is waiting.
    expect(screen.queryByTestId('requests-empty')).not.toBeInTheDocument();
  });

  it('lets the provider in with approve_client and its id; the card and the badge go', async () => {
    let clients = [acme];
    const { calls, user } = await start(() => clients, {
      approve_client: (a: Record<string, unknown>) => {
        clients = [{ ...acme, protection: 'approved' }];
        return { client_id: a.id, protection: 'approved' };
      },
    });
    await waitFor(() => expect(screen.getByTestId('requests-badge')).toHaveTextContent('1'));
    await user.click(screen.getByTestId('nav-requests'));
    const card = await screen.findByTestId('provider-waiting');
    await user.click(within(card).getByTestId('provider-approve'));
    await waitFor(() => expect(callsTo(calls, 'approve_client')).toHaveLength(1));
    expect(callsTo(calls, 'approve_client')[0].args).toEqual({ id: ACME });
    expect(callsTo(calls, 'refuse_client')).toHaveLength(0);
    await waitFor(() => expect(screen.queryByTestId('provider-waiting')).not.toBeInTheDocument());
    expect(screen.getByTestId('provider-decided')).toHaveTextContent('You let Acme Pensions use your wallet.');
    expect(screen.queryByTestId('requests-badge')).not.toBeInTheDocument();
    expect(screen.getByTestId('requests-empty')).toBeInTheDocument();
  });

  it('refuses the provider with refuse_client and its id, only once the owner confirms', async () => {
    let clients = [acme];
    const { calls, user } = await start(() => clients, {
      refuse_client: (a: Record<string, unknown>) => {
        clients = [{ ...acme, protection: 'refused' }];
        return { client_id: a.id, protection: 'refused' };
      },
    });
    await user.click(screen.getByTestId('nav-requests'));
    const card = await screen.findByTestId('provider-waiting');
    await user.click(within(card).getByTestId('provider-refuse'));
    expect(callsTo(calls, 'refuse_client')).toHaveLength(0);
    expect(within(card).getByRole('group', { name: /^Refuse Acme Pensions\?/ })).toHaveTextContent('this app cannot undo it');
    await user.click(within(card).getByTestId('provider-refuse-cancel'));
    expect(within(card).queryByTestId('provider-refuse-confirm')).not.toBeInTheDocument();
    await user.click(within(card).getByTestId('provider-refuse'));
    await user.click(within(card).getByTestId('provider-refuse-confirm'));
    await waitFor(() => expect(callsTo(calls, 'refuse_client')).toHaveLength(1));
    expect(callsTo(calls, 'refuse_client')[0].args).toEqual({ id: ACME });
    expect(callsTo(calls, 'approve_client')).toHaveLength(0);
    await waitFor(() => expect(screen.queryByTestId('provider-waiting')).not.toBeInTheDocument());
    expect(screen.getByTestId('provider-decided')).toHaveTextContent('You refused Acme Pensions.');
  });

  it('keeps the card with the error when the decision fails', async () => {
    const { user } = await start(() => [acme], {
      approve_client: () => { throw { kind: 'not_found', message: 'no such client' }; },
    });
    await user.click(screen.getByTestId('nav-requests'));
    const card = await screen.findByTestId('provider-waiting');
    await user.click(within(card).getByTestId('provider-approve'));
    expect(await within(card).findByRole('alert')).toHaveTextContent('no such client');
    expect(within(card).getByTestId('provider-approve')).toBeEnabled();
  });

  it('counts waiting providers and pending requests in the badge', async () => {
    await start(() => [...sample<Client[]>('clients'), acme, nameless], { list_requests: sample<PendingRequest[]>('pending') });
    await waitFor(() => expect(screen.getByTestId('requests-badge')).toHaveTextContent('3'));
    // aria-label is not allowed on a plain span: the count is said in words hidden from the eye instead.
    const badge = screen.getByTestId('requests-badge');
    expect(badge).not.toHaveAttribute('aria-label');
    expect(badge).toHaveAttribute('aria-hidden', 'true');
    expect(screen.getByTestId('nav-requests')).toHaveAccessibleName('Requests (3 waiting)');
  });

  it('refreshes the waiting providers on a resource_server_waiting event', async () => {
    let clients: Client[] = sample<Client[]>('clients');
    const { calls, user, send } = await start(() => clients);
    await waitFor(() => expect(callsTo(calls, 'list_clients').length).toBeGreaterThan(0));
    expect(screen.queryByTestId('requests-badge')).not.toBeInTheDocument();

    clients = [...clients, acme];
    const before = callsTo(calls, 'list_clients').length;
    const requestsBefore = callsTo(calls, 'list_requests').length;
    await send({ type: 'resource_server_waiting', client_id: ACME, client_name: 'Acme Pensions' });
    await waitFor(() => expect(screen.getByTestId('requests-badge')).toHaveTextContent('1'));
    expect(callsTo(calls, 'list_clients').length).toBe(before + 1);
    expect(callsTo(calls, 'list_requests').length).toBe(requestsBefore);

    // On the inbox, the card appears the same way.
    await user.click(screen.getByTestId('nav-requests'));
    expect(await screen.findAllByTestId('provider-waiting')).toHaveLength(1);
    clients = [...clients, nameless];
    await send({ type: 'resource_server_waiting', client_id: NAMELESS, client_name: NAMELESS });
    await waitFor(() => expect(screen.getAllByTestId('provider-waiting')).toHaveLength(2));
    expect(screen.getByTestId('requests-badge')).toHaveTextContent('2');

    // An access request event does not ask for the providers again.
    const clientsBefore = callsTo(calls, 'list_clients').length;
    await send({ type: 'request_submitted', request: sample<PendingRequest[]>('pending')[0] });
    await waitFor(() => expect(callsTo(calls, 'list_requests').length).toBeGreaterThan(requestsBefore));
    expect(callsTo(calls, 'list_clients').length).toBe(clientsBefore);
  });
});
