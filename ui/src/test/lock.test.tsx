import { act, render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { App, IDLE_LOCK_MS } from '../App';
import { callsTo, mockCommands } from './ipc';
import type { AppState } from '../api';

const open: AppState = {
  wallet_exists: true, unlocked: true, data_dir: '/d',
  settings: { listen: '127.0.0.1:8471', public_issuer: null, backups: { daily: false, keep: 7 }, start_at_login: true, unlock_at_login: false },
  server: { issuer: 'http://127.0.0.1:8471', owner_api: 'x', listen: '127.0.0.1:8471', pid: 7, notifies_owner: false },
};
const locked: AppState = { ...open, unlocked: false };

function wallet() {
  return mockCommands({
    app_state: open, lock_screen: locked, list_requests: [], watch_requests: null, list_clients: [],
    my_pensions: { pensions: [], totals: { estimated_annual_income: 0, dc_pots: 0 } },
    list_grants: [], get_identity: null, list_providers: [], list_resources: [],
  });
}

afterEach(() => vi.useRealTimers());

describe('locking the window', () => {
  it('locks at once with Lock now, saying the wallet still receives requests', async () => {
    const calls = wallet();
    render(<App />);
    await screen.findByTestId('screen-pensions');
    await userEvent.click(screen.getByTestId('lock-now'));
    expect(await screen.findByTestId('screen-unlock')).toBeInTheDocument();
    expect(screen.getByTestId('unlock-notice')).toHaveTextContent('still on and receiving requests');
    expect(callsTo(calls, 'lock_screen')).toHaveLength(1);
  });

  it('locks itself after 15 minutes without use, and any key press puts that off', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    const calls = wallet();
    render(<App />);
    await screen.findByTestId('screen-pensions');
    await act(async () => { vi.advanceTimersByTime(IDLE_LOCK_MS - 1000); });
    await act(async () => { window.dispatchEvent(new KeyboardEvent('keydown', { key: 'Tab' })); });
    await act(async () => { vi.advanceTimersByTime(IDLE_LOCK_MS - 1000); });
    expect(callsTo(calls, 'lock_screen')).toHaveLength(0);
    await act(async () => { vi.advanceTimersByTime(2000); });
    await waitFor(() => expect(callsTo(calls, 'lock_screen')).toHaveLength(1));
    expect(await screen.findByTestId('unlock-notice')).toHaveTextContent('after 15 minutes without use');
  });
});
