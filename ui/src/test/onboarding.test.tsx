import { render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { CreateWallet } from '../screens/CreateWallet';
import { Unlock } from '../screens/Unlock';
import { callsTo, mockCommands } from './ipc';
import type { AppState } from '../api';

const unlockedState: AppState = {
  wallet_exists: true, unlocked: true, data_dir: '/home/a/.wallet',
  settings: { listen: '127.0.0.1:8471', public_issuer: null, backups: { daily: false, keep: 7 }, start_at_login: true, unlock_at_login: false },
  server: { issuer: 'http://127.0.0.1:8471', owner_api: 'http://127.0.0.1:8471/owner', listen: '127.0.0.1:8471', pid: 1, notifies_owner: false },
};
const lockedState: AppState = { ...unlockedState, unlocked: false, server: null };

async function fillIdentity(user: ReturnType<typeof userEvent.setup>) {
  await user.type(screen.getByLabelText('First name'), 'Alice');
  await user.type(screen.getByLabelText('Last name'), 'Archer');
  // As the real-window test does: a whole date typed into the first box (#date-of-birth).
  await user.type(document.getElementById('date-of-birth')!, '1975-04-12');
}

describe('create wallet', () => {
  it('rejects a short passphrase without calling create_wallet', async () => {
    const calls = mockCommands({ create_wallet: unlockedState });
    const user = userEvent.setup();
    const done = vi.fn();
    render(<CreateWallet onDone={done} />);
    await user.type(document.getElementById('passphrase')!, 'short');
    await user.type(document.getElementById('passphrase-confirm')!, 'short');
    await fillIdentity(user);
    await user.click(screen.getByTestId('create-wallet'));
    expect(screen.getByRole('alert')).toHaveTextContent(/at least 8 characters/i);
    expect(callsTo(calls, 'create_wallet')).toHaveLength(0);
    expect(done).not.toHaveBeenCalled();
  });

  it('rejects mismatched passphrases and a missing date of birth', async () => {
    const calls = mockCommands({ create_wallet: unlockedState });
    const user = userEvent.setup();
    render(<CreateWallet onDone={vi.fn()} />);
    await user.type(document.getElementById('passphrase')!, 'correct horse');
    await user.type(document.getElementById('passphrase-confirm')!, 'correct house');
    await user.type(screen.getByLabelText('First name'), 'Alice');
    await user.type(screen.getByLabelText('Last name'), 'Archer');
    await user.click(screen.getByTestId('create-wallet'));
    const alert = screen.getByRole('alert');
    expect(alert).toHaveTextContent(/do not match/i);
    expect(alert).toHaveTextContent(/date of birth/i);
    expect(callsTo(calls, 'create_wallet')).toHaveLength(0);
  });

  it('sends the passphrase and the identity as typed, never claiming it was checked', async () => {
    const calls = mockCommands({ create_wallet: unlockedState });
    const user = userEvent.setup();
    const done = vi.fn();
    render(<CreateWallet onDone={done} />);
    await user.type(document.getElementById('passphrase')!, 'correct horse');
    await user.type(document.getElementById('passphrase-confirm')!, 'correct horse');
    await fillIdentity(user);
    await user.type(document.getElementById('postcode')!, 'sw1a 1aa');
    await user.type(document.getElementById('nino')!, 'QQ 12 34 56 C');
    expect(document.getElementById('verified-name')).toBeNull();
    await user.click(screen.getByTestId('create-wallet'));
    await waitFor(() => expect(done).toHaveBeenCalledWith(unlockedState));
    const [call] = callsTo(calls, 'create_wallet');
    expect(call.args).toEqual({
      passphrase: 'correct horse',
      identity: {
        given_name: 'Alice', family_name: 'Archer', date_of_birth: '1975-04-12',
        nino: 'QQ123456C', postcode: 'SW1A 1AA', address_lines: [], email: null, mobile: null,
        verified: [],
      },
    });
  });
});

describe('unlock', () => {
  it('shows the wrong-passphrase message from the rejected invoke', async () => {
    mockCommands({
      unlock_wallet: () => { throw { kind: 'wrong_passphrase', message: 'the passphrase does not open this wallet' }; },
    });
    const user = userEvent.setup();
    const done = vi.fn();
    render(<Unlock state={lockedState} onDone={done} />);
    await user.type(document.getElementById('unlock-passphrase')!, 'nope nope');
    await user.click(screen.getByTestId('unlock'));
    const alert = await screen.findByRole('alert');
    // One message, in the owner's words; the wallet's own wording is not repeated after it.
    const link = within(alert).getByRole('link', { name: 'That passphrase is not right. Check it and try again.' });
    expect(link).toHaveAttribute('href', '#unlock-passphrase');
    expect(alert).not.toHaveTextContent('the passphrase does not open this wallet');
    expect(within(alert).getAllByRole('listitem')).toHaveLength(1);
    expect(alert).toHaveFocus();
    const field = document.getElementById('unlock-passphrase')!;
    expect(field).toHaveAttribute('aria-invalid', 'true');
    expect(field).toHaveAccessibleDescription('Error: That passphrase is not right. Check it and try again.');
    expect(done).not.toHaveBeenCalled();
  });

  it('on port_in_use says so plainly, and under a technical disclosure lets the owner change the address, saves it, then unlocks', async () => {
    let attempts = 0;
    const calls = mockCommands({
      unlock_wallet: () => {
        attempts += 1;
        if (attempts === 1) throw { kind: 'port_in_use', message: '127.0.0.1:8471 is already in use' };
        return unlockedState;
      },
      save_settings: (a: Record<string, unknown>) => ({ ...lockedState, settings: a.settings }),
    });
    const user = userEvent.setup();
    const done = vi.fn();
    render(<Unlock state={lockedState} onDone={done} />);
    await user.type(document.getElementById('unlock-passphrase')!, 'correct horse');
    await user.click(screen.getByTestId('unlock'));
    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('another program on this computer is using its connection point');
    expect(alert).not.toHaveTextContent('127.0.0.1');
    await user.click(screen.getByText(/use a different connection point/i));
    const listen = screen.getByLabelText(/address the wallet listens on/i);
    await user.clear(listen);
    await user.type(listen, '127.0.0.1:9000');
    await user.click(screen.getByTestId('unlock'));
    await waitFor(() => expect(done).toHaveBeenCalledWith(unlockedState));
    expect(callsTo(calls, 'save_settings')[0].args).toEqual({ settings: { listen: '127.0.0.1:9000', public_issuer: null, backups: { daily: false, keep: 7 }, start_at_login: true, unlock_at_login: false } });
    expect(calls.map((c) => c.cmd)).toEqual(['unlock_wallet', 'save_settings', 'unlock_wallet']);
  });
});

describe('an older copy of the wallet', () => {
  it('is not opened on the passphrase alone; the owner who put it back herself opens it with a second, explained choice', async () => {
    const calls = mockCommands({
      unlock_wallet: (a: Record<string, unknown>) => {
        if (!a.acceptOlderCopy) throw { kind: 'older_copy', message: 'its history ends at entry 3, but it had reached entry 9' };
        return unlockedState;
      },
    });
    const user = userEvent.setup();
    const done = vi.fn();
    render(<Unlock state={lockedState} onDone={done} />);
    expect(screen.queryByTestId('older-copy')).toBeNull();
    await user.type(document.getElementById('unlock-passphrase')!, 'correct horse');
    await user.click(screen.getByTestId('unlock'));
    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('its records are older than when you last used it');
    expect(alert).not.toHaveTextContent('entry 3');
    expect(done).not.toHaveBeenCalled();
    const choice = screen.getByRole('region', { name: 'Did you copy this wallet here yourself?' });
    expect(choice).toHaveTextContent('sharing you stopped since then may be back on');
    await user.click(within(choice).getByRole('button', { name: 'I copied it here: open it' }));
    await waitFor(() => expect(done).toHaveBeenCalledWith(unlockedState));
    expect(callsTo(calls, 'unlock_wallet').map((c) => c.args)).toEqual([
      { passphrase: 'correct horse' },
      { passphrase: 'correct horse', acceptOlderCopy: true },
    ]);
  });
});

describe('create wallet, then the server cannot start', () => {
  it('moves to the unlock screen with the port problem shown and a field to change it', async () => {
    const { App } = await import('../App');
    let created = false;
    const calls = mockCommands({
      app_state: () => (created ? lockedState : { ...lockedState, wallet_exists: false }),
      create_wallet: () => {
        created = true;
        throw { kind: 'port_in_use', message: 'Another program already uses 127.0.0.1:8471.' };
      },
    });
    const user = userEvent.setup();
    render(<App />);
    await screen.findByTestId('screen-create');
    await user.type(document.getElementById('passphrase')!, 'correct horse');
    await user.type(document.getElementById('passphrase-confirm')!, 'correct horse');
    await fillIdentity(user);
    await user.click(screen.getByTestId('create-wallet'));
    await screen.findByTestId('screen-unlock');
    expect(screen.getByRole('alert')).toHaveTextContent(/Close it there and try again/);
    expect(screen.getByTestId('unlock-address')).not.toHaveAttribute('open');
    expect(screen.getByLabelText(/address the wallet listens on/i)).toHaveValue('127.0.0.1:8471');
    expect(callsTo(calls, 'create_wallet')).toHaveLength(1);
  });
});
