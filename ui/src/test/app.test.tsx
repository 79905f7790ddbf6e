import { act, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import type { Channel } from '@tauri-apps/api/core';
import { App } from '../App';
import { callsTo, mockCommands, sample } from './ipc';
import type { AppState, OwnerEvent, PendingRequest } from '../api';

const base: AppState = {
  wallet_exists: true, unlocked: true, data_dir: '/d',
  settings: { listen: '127.0.0.1:8471', public_issuer: null, backups: { daily: false, keep: 7 }, start_at_login: true, unlock_at_login: false },
  server: { issuer: 'http://127.0.0.1:8471', owner_api: 'x', listen: '127.0.0.1:8471', pid: 7, notifies_owner: false },
};

describe('app shell', () => {
  it('shows the create screen for a new wallet and the unlock screen for a locked one', async () => {
    mockCommands({ app_state: { ...base, wallet_exists: false, unlocked: false, server: null } });
    const { unmount } = render(<App />);
    expect(await screen.findByTestId('screen-create')).toBeInTheDocument();
    unmount();
    mockCommands({ app_state: { ...base, unlocked: false, server: null } });
    render(<App />);
    expect(await screen.findByTestId('screen-unlock')).toBeInTheDocument();
  });

  it('keeps the requests badge fresh from watch_requests events', async () => {
    const first = sample<PendingRequest[]>('pending');
    let pending = first;
    let channel: Channel<OwnerEvent> | null = null;
    const calls = mockCommands({
      app_state: base,
      list_requests: () => pending,
      watch_requests: (a: Record<string, unknown>) => { channel = a.onEvent as Channel<OwnerEvent>; return null; },
      my_pensions: { pensions: [], totals: { estimated_annual_income: 0, dc_pots: 0 } },
      list_grants: [], list_clients: [], get_identity: null, list_providers: [], list_resources: [],
    });
    render(<App />);
    expect(await screen.findByTestId('screen-pensions')).toBeInTheDocument();
    await waitFor(() => expect(screen.getByTestId('requests-badge')).toHaveTextContent('1'));
    expect(callsTo(calls, 'list_requests')[0].args).toEqual({ all: false });
    expect(channel).not.toBeNull();

    const second: PendingRequest = { ...first[0], id: 'r2', client_name: 'Carol the planner' };
    pending = [...first, second];
    await act(async () => { channel!.onmessage({ type: 'request_submitted', request: second }); });
    await waitFor(() => expect(screen.getByTestId('requests-badge')).toHaveTextContent('2'));

    // a resource_server_waiting event does not touch the badge
    const before = callsTo(calls, 'list_requests').length;
    await act(async () => { channel!.onmessage({ type: 'resource_server_waiting', client_id: 'c', client_name: 'n' }); });
    expect(callsTo(calls, 'list_requests').length).toBe(before);

    pending = [];
    await act(async () => { channel!.onmessage({ type: 'request_submitted', request: second }); });
    await waitFor(() => expect(screen.queryByTestId('requests-badge')).not.toBeInTheDocument());
  });

  it('navigates between screens with real buttons', async () => {
    mockCommands({
      app_state: base, list_requests: [], watch_requests: null,
      my_pensions: { pensions: [], totals: { estimated_annual_income: 0, dc_pots: 0 } },
      list_grants: [], list_clients: [], get_identity: null, list_providers: [], list_resources: [],
      list_audit: [], verify_audit: { intact: true, entries: 0 },
    });
    const user = userEvent.setup();
    render(<App />);
    expect(await screen.findByText(/No pensions here yet/)).toBeInTheDocument();
    // The nav says what each screen is for; the test ids keep the screens' names in code.
    expect(screen.getByTestId('nav-pensions')).toHaveTextContent('My pensions');
    expect(screen.getByTestId('nav-offers')).toHaveTextContent('Find pensions');
    await user.click(screen.getByTestId('nav-activity'));
    expect(await screen.findByTestId('screen-activity')).toBeInTheDocument();
    expect(screen.getByTestId('nav-activity')).toHaveAttribute('aria-current', 'page');
    await user.click(screen.getByTestId('nav-requests'));
    expect(await screen.findByTestId('requests-empty')).toBeInTheDocument();
    await user.click(screen.getByTestId('nav-settings'));
    const settings = await screen.findByTestId('screen-settings');
    expect(within(settings).getByTestId('data-dir')).toHaveTextContent('/d');
  });
});

describe('settings that move the server', () => {
  it('lock the wallet and the unlock screen says why', async () => {
    const unlocked = {
      wallet_exists: true, unlocked: true, data_dir: '/w', settings: { listen: '127.0.0.1:7420', public_issuer: null, backups: { daily: false, keep: 7 }, start_at_login: true, unlock_at_login: false },
      server: { issuer: 'http://127.0.0.1:7420', owner_api: 'http://127.0.0.1:9', listen: '127.0.0.1:7420', pid: 1, notifies_owner: false },
    };
    mockCommands({
      app_state: unlocked,
      list_requests: [], watch_requests: null, my_pensions: { pensions: [], totals: { estimated_annual_income: 0, dc_pots: 0 } },
      list_grants: [], list_clients: [], get_identity: null, list_resources: [], list_providers: [],
      save_settings: { ...unlocked, unlocked: false, server: null, settings: { listen: '127.0.0.1:8471', public_issuer: null, backups: { daily: false, keep: 7 }, start_at_login: true, unlock_at_login: false } },
    });
    const user = userEvent.setup();
    render(<App />);
    await user.click(await screen.findByTestId('nav-settings'));
    await user.click(await screen.findByText('Advanced (for technical users)'));
    const listen = await screen.findByLabelText(/listen address/i);
    await user.clear(listen);
    await user.type(listen, '127.0.0.1:8471');
    await user.click(screen.getByRole('button', { name: 'Save' }));
    await screen.findByTestId('screen-unlock');
    expect(screen.getByTestId('unlock-notice')).toHaveTextContent('restart your wallet\'s server at 127.0.0.1:8471');
  });
});
