import { render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { App } from '../App';
import { CreateWallet } from '../screens/CreateWallet';
import { formatTime } from '../format';
import { callsTo, mockCommands } from './ipc';
import type { AppState, BackupFile } from '../api';

/** Types a value in one go (the screens re-render on every key otherwise). */
async function fillIn(user: ReturnType<typeof userEvent.setup>, field: HTMLElement, text: string) {
  await user.click(field);
  await user.paste(text);
}

const unlockedState: AppState = {
  wallet_exists: true, unlocked: true, data_dir: '/home/a/.wallet',
  settings: { listen: '127.0.0.1:8471', public_issuer: null, backups: { daily: true, keep: 7 }, start_at_login: true, unlock_at_login: false },
  server: { issuer: 'http://127.0.0.1:8471', owner_api: 'http://127.0.0.1:8471/owner', listen: '127.0.0.1:8471', pid: 1, notifies_owner: false },
};
const noWallet: AppState = { ...unlockedState, wallet_exists: false, unlocked: false, server: null };

const older: BackupFile = { path: '/home/a/.wallet/backups/uma-wallet-backup-1780000000.json', made_at: 1780000000, bytes: 40_960 };
const newer: BackupFile = { path: '/home/a/.wallet/backups/uma-wallet-backup-1790000000.json', made_at: 1790000000, bytes: 2_097_152 };

describe('restore from a backup', () => {
  it('is offered beside creating a wallet and lists nothing until the owner asks', async () => {
    const calls = mockCommands({ list_backups: [newer] });
    const user = userEvent.setup();
    render(<CreateWallet onDone={vi.fn()} />);
    expect(screen.getByTestId('create-wallet')).toBeInTheDocument();
    expect(callsTo(calls, 'list_backups')).toHaveLength(0);
    await user.click(screen.getByTestId('restore-open'));
    expect(await screen.findAllByTestId('restore-backup')).toHaveLength(1);
    expect(screen.getByRole('heading', { name: 'Restore from a backup' })).toHaveFocus();
    // Back to creating a wallet.
    await user.click(screen.getByRole('button', { name: 'Create a new wallet instead' }));
    expect(screen.getByTestId('create-wallet')).toBeInTheDocument();
    expect(screen.getByTestId('restore-open')).toHaveFocus();
  });

  it('restores the backup the owner picked, with the passphrase typed, and hands on the opened wallet', async () => {
    const calls = mockCommands({ list_backups: [older, newer], restore_backup: unlockedState });
    const user = userEvent.setup();
    const done = vi.fn();
    render(<CreateWallet onDone={done} />);
    await user.click(screen.getByTestId('restore-open'));
    const radios = await screen.findAllByTestId('restore-backup');
    expect(radios).toHaveLength(2);
    // Newest first, as a date and a size, and chosen to start with.
    expect(radios[0]).toHaveAccessibleName(`Made ${formatTime(newer.made_at)}, 2.0 MB (the newest)`);
    expect(radios[1]).toHaveAccessibleName(`Made ${formatTime(older.made_at)}, 40 KB`);
    expect(radios[0]).toBeChecked();
    expect(screen.queryByTestId('restore-path')).not.toBeInTheDocument();

    await user.click(radios[1]);
    expect(radios[1]).toBeChecked();
    await fillIn(user, screen.getByLabelText('The passphrase your wallet had when this backup was made'), 'old correct horse');
    await user.click(screen.getByTestId('restore-submit'));
    await waitFor(() => expect(done).toHaveBeenCalledWith(unlockedState));
    expect(done.mock.calls[0]).toHaveLength(1);
    expect(callsTo(calls, 'restore_backup').map((c) => c.args)).toEqual([{ path: older.path, passphrase: 'old correct horse' }]);
  });

  it('restores a file the owner typed the path of, when none was found', async () => {
    const calls = mockCommands({ list_backups: [], restore_backup: unlockedState });
    const user = userEvent.setup();
    const done = vi.fn();
    render(<CreateWallet onDone={done} />);
    await user.click(screen.getByTestId('restore-open'));
    expect(await screen.findByTestId('restore-none-found')).toHaveTextContent(/No backups were found/);
    expect(screen.queryByTestId('restore-backup')).not.toBeInTheDocument();
    await fillIn(user, screen.getByLabelText(/Where the backup file is/), '  /media/usb/wallet-backup.json ');
    await fillIn(user, screen.getByTestId('restore-passphrase'), 'old correct horse');
    await user.click(screen.getByTestId('restore-submit'));
    await waitFor(() => expect(done).toHaveBeenCalledWith(unlockedState));
    expect(callsTo(calls, 'restore_backup').map((c) => c.args)).toEqual([{ path: '/media/usb/wallet-backup.json', passphrase: 'old correct horse' }]);
  });

  it('restores a file elsewhere instead of a listed one', async () => {
    const calls = mockCommands({ list_backups: [newer], restore_backup: unlockedState });
    const user = userEvent.setup();
    const done = vi.fn();
    render(<CreateWallet onDone={done} />);
    await user.click(screen.getByTestId('restore-open'));
    await screen.findAllByTestId('restore-backup');
    await user.click(screen.getByLabelText('A backup file somewhere else'));
    await fillIn(user, screen.getByTestId('restore-path'), '/media/usb/wallet-backup.json');
    await fillIn(user, screen.getByTestId('restore-passphrase'), 'old correct horse');
    await user.click(screen.getByTestId('restore-submit'));
    await waitFor(() => expect(done).toHaveBeenCalledWith(unlockedState));
    expect(callsTo(calls, 'restore_backup')[0].args).toEqual({ path: '/media/usb/wallet-backup.json', passphrase: 'old correct horse' });
  });

  it('asks for the passphrase and a file before restoring', async () => {
    const calls = mockCommands({ list_backups: [], restore_backup: unlockedState });
    const user = userEvent.setup();
    render(<CreateWallet onDone={vi.fn()} />);
    await user.click(screen.getByTestId('restore-open'));
    await screen.findByTestId('restore-path');
    await fillIn(user, screen.getByTestId('restore-passphrase'), 'old correct horse');
    await user.click(screen.getByTestId('restore-submit'));
    expect(screen.getByRole('alert')).toHaveTextContent('Type where the backup file is.');
    await fillIn(user, screen.getByTestId('restore-path'), '/media/usb/wallet-backup.json');
    await user.clear(screen.getByTestId('restore-passphrase'));
    await user.click(screen.getByTestId('restore-submit'));
    expect(screen.getByRole('alert')).toHaveTextContent(/Enter the passphrase your wallet had/);
    expect(callsTo(calls, 'restore_backup')).toHaveLength(0);
  });

  it('says when the passphrase does not open the backup, and stays on the form', async () => {
    const calls = mockCommands({
      list_backups: [newer],
      restore_backup: () => { throw { kind: 'wrong_passphrase', message: 'That passphrase does not open this wallet.' }; },
      app_state: noWallet,
    });
    const user = userEvent.setup();
    const done = vi.fn();
    render(<CreateWallet onDone={done} />);
    await user.click(screen.getByTestId('restore-open'));
    await screen.findAllByTestId('restore-backup');
    await fillIn(user, screen.getByTestId('restore-passphrase'), 'my new passphrase');
    await user.click(screen.getByTestId('restore-submit'));
    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('That passphrase does not open this backup.');
    expect(alert).toHaveTextContent(/the passphrase your wallet had when the backup was made/);
    expect(screen.getByTestId('restore-passphrase')).toHaveAttribute('aria-invalid', 'true');
    expect(callsTo(calls, 'restore_backup')[0].args).toEqual({ path: newer.path, passphrase: 'my new passphrase' });
    expect(done).not.toHaveBeenCalled();
  });

  it('says when there is no such file', async () => {
    mockCommands({
      list_backups: [],
      restore_backup: (a: Record<string, unknown>) => { throw { kind: 'invalid_input', message: `There is no backup file at ${a.path as string}.` }; },
      app_state: noWallet,
    });
    const user = userEvent.setup();
    const done = vi.fn();
    render(<CreateWallet onDone={done} />);
    await user.click(screen.getByTestId('restore-open'));
    await fillIn(user, await screen.findByTestId('restore-path'), '/media/usb/nothing.json');
    await fillIn(user, screen.getByTestId('restore-passphrase'), 'old correct horse');
    await user.click(screen.getByTestId('restore-submit'));
    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('No backup file was found there.');
    expect(alert).toHaveTextContent('/media/usb/nothing.json');
    expect(done).not.toHaveBeenCalled();
  });

  it('shows any other problem as the wallet words it', async () => {
    mockCommands({
      list_backups: [newer],
      restore_backup: () => { throw { kind: 'wallet_error', message: 'This file is not a wallet backup.' }; },
      app_state: noWallet,
    });
    const user = userEvent.setup();
    render(<CreateWallet onDone={vi.fn()} />);
    await user.click(screen.getByTestId('restore-open'));
    await screen.findAllByTestId('restore-backup');
    await fillIn(user, screen.getByTestId('restore-passphrase'), 'old correct horse');
    await user.click(screen.getByTestId('restore-submit'));
    expect(await screen.findByRole('alert')).toHaveTextContent('This file is not a wallet backup.');
  });

  it('when the wallet came back but its server could not start, hands on the wallet with the problem', async () => {
    const locked: AppState = { ...unlockedState, unlocked: false, server: null };
    const problem = { kind: 'port_in_use', message: 'Another program already uses 127.0.0.1:8471.' };
    mockCommands({ list_backups: [newer], restore_backup: () => { throw problem; }, app_state: locked });
    const user = userEvent.setup();
    const done = vi.fn();
    render(<CreateWallet onDone={done} />);
    await user.click(screen.getByTestId('restore-open'));
    await screen.findAllByTestId('restore-backup');
    await fillIn(user, screen.getByTestId('restore-passphrase'), 'old correct horse');
    await user.click(screen.getByTestId('restore-submit'));
    await waitFor(() => expect(done).toHaveBeenCalledWith(locked, problem));
  });

  it('opens the restored wallet in the app', async () => {
    let restored = false;
    mockCommands({
      app_state: () => (restored ? unlockedState : noWallet),
      list_backups: [newer],
      restore_backup: () => { restored = true; return unlockedState; },
      list_requests: [], watch_requests: null,
      my_pensions: { pensions: [], totals: { estimated_annual_income: 0, dc_pots: 0 } },
      list_grants: [], list_clients: [], get_identity: null, list_providers: [], list_resources: [],
    });
    const user = userEvent.setup();
    render(<App />);
    const create = await screen.findByTestId('screen-create');
    await user.click(within(create).getByTestId('restore-open'));
    await screen.findAllByTestId('restore-backup');
    await fillIn(user, screen.getByTestId('restore-passphrase'), 'old correct horse');
    await user.click(screen.getByTestId('restore-submit'));
    expect(await screen.findByTestId('screen-pensions')).toBeInTheDocument();
    expect(screen.queryByTestId('screen-create')).not.toBeInTheDocument();
  });
});
