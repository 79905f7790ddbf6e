import { render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { SettingsScreen } from '../screens/Settings';
import { formatTime } from '../format';
import { callsTo, deferred, mockCommands, type Handler } from './ipc';
import type { AppState, BackupFile, TrustedIssuer } from '../api';

/** Types a value in one go (the screens re-render on every key otherwise). */
async function fillIn(user: ReturnType<typeof userEvent.setup>, field: HTMLElement, text: string) {
  await user.click(field);
  await user.paste(text);
}

const state: AppState = {
  wallet_exists: true, unlocked: true, data_dir: '/home/a/wallet',
  settings: { listen: '127.0.0.1:8471', public_issuer: null, backups: { daily: false, keep: 7 }, start_at_login: true, unlock_at_login: false },
  server: { issuer: 'http://127.0.0.1:8471', owner_api: 'http://127.0.0.1:8471/owner', listen: '127.0.0.1:8471', pid: 1, notifies_owner: false },
};

/** What the other sections of the screen load, so that only the section under test can fail. */
const quiet = {
  list_providers: [],
  get_identity: null,
  registry_summary: { trusted_key: null, registry: null, expired: false },
  list_trusted_issuers: [],
  list_backups: [],
};

const bank: TrustedIssuer = {
  issuer: 'https://login.bank.example', jwks_uri: null, client_ids: [], added_at: 1790000000, credential_issuer: false,
};
const regulator: TrustedIssuer = {
  issuer: 'https://register.regulator.example', jwks_uri: null, client_ids: [], added_at: 1790000100,
  jwks: { keys: [] }, credential_issuer: true,
};

function mockTrusted(extra: Record<string, Handler | unknown> = {}) {
  let trusted: TrustedIssuer[] = [bank, regulator];
  const calls = mockCommands({
    ...quiet,
    list_trusted_issuers: () => trusted,
    trust_issuer: (a: Record<string, unknown>) => {
      const t = a.issuer as { issuer: string; jwks_uri: string | null; client_ids: string[] };
      const added: TrustedIssuer = { ...t, added_at: 1790000200, credential_issuer: false };
      trusted = [...trusted, added];
      return added;
    },
    distrust_issuer: (a: Record<string, unknown>) => {
      trusted = trusted.filter((t) => t.issuer !== a.issuer);
      return null;
    },
    ...extra,
  });
  return calls;
}

/** Sign-in services, addresses and the official list wait under Advanced. */
async function openAdvanced(user: ReturnType<typeof userEvent.setup>) {
  await user.click(screen.getByText('Advanced (for technical users)'));
  expect(screen.getByTestId('settings-advanced')).toHaveAttribute('open');
}

const rowFor = (text: string) => screen.getAllByTestId('trusted-issuer').find((r) => r.textContent!.includes(text))!;

describe('settings: sign-in services you trust', () => {
  it('lists them, says which come from the official list, and keeps protocol words in the technical details', async () => {
    mockTrusted();
    render(<SettingsScreen state={state} onState={vi.fn()} />);
    const section = screen.getByTestId('trusted-issuers');
    expect(within(section).getByRole('heading', { name: 'Sign-in services you trust' })).toBeInTheDocument();
    expect(section).toHaveTextContent(/show as “verified” in your requests/);
    expect(await within(section).findAllByTestId('trusted-issuer')).toHaveLength(2);

    const official = rowFor('register.regulator.example');
    expect(official).toHaveTextContent('From the official list');
    expect(official).toHaveTextContent(/vouches for financial advisers/);
    const own = rowFor('login.bank.example');
    expect(own).not.toHaveTextContent('From the official list');
    expect(own).toHaveTextContent(`Added ${formatTime(1790000000)}`);
    // The protocol words are there only inside the closed "Technical details".
    const kind = within(own).getByText('OpenID Provider');
    expect(kind.closest('details')).not.toBeNull();
    expect(kind.closest('details')).not.toHaveAttribute('open');
  });

  it('refuses an address that is not https, then trusts one with the account id the owner typed', async () => {
    const calls = mockTrusted();
    const user = userEvent.setup();
    render(<SettingsScreen state={state} onState={vi.fn()} />);
    await openAdvanced(user);
    await screen.findAllByTestId('trusted-issuer');
    const field = screen.getByLabelText('Address of the sign-in service');
    expect(field).toBe(screen.getByTestId('trust-issuer-url'));

    await fillIn(user, field, 'id.example.org');
    await user.click(screen.getByTestId('trust-issuer-add'));
    expect(within(screen.getByTestId('trusted-issuers')).getByRole('alert')).toHaveTextContent(/starting with https:\/\//);
    expect(callsTo(calls, 'trust_issuer')).toHaveLength(0);

    await user.clear(field);
    await fillIn(user, field, '  https://id.example.org ');
    await fillIn(user, screen.getByLabelText(/account id at that service/), 'wallet-123');
    await user.click(screen.getByTestId('trust-issuer-add'));
    await waitFor(() => expect(screen.getAllByTestId('trusted-issuer')).toHaveLength(3));
    expect(callsTo(calls, 'trust_issuer').map((c) => c.args)).toEqual([
      { issuer: { issuer: 'https://id.example.org', jwks_uri: null, client_ids: ['wallet-123'] } },
    ]);
    expect(within(screen.getByTestId('trusted-issuers')).getByRole('status')).toHaveTextContent('You now trust https://id.example.org');
    expect(field).toHaveValue('');
  });

  it('sends no account id when that field is left empty', async () => {
    const calls = mockTrusted();
    const user = userEvent.setup();
    render(<SettingsScreen state={state} onState={vi.fn()} />);
    await openAdvanced(user);
    await screen.findAllByTestId('trusted-issuer');
    await fillIn(user, screen.getByTestId('trust-issuer-url'), 'https://signin.gov.example');
    await user.click(screen.getByTestId('trust-issuer-add'));
    await waitFor(() => expect(callsTo(calls, 'trust_issuer')).toHaveLength(1));
    expect(callsTo(calls, 'trust_issuer')[0].args).toEqual({ issuer: { issuer: 'https://signin.gov.example', jwks_uri: null, client_ids: [] } });
  });

  it('shows why the wallet refused to trust a service', async () => {
    mockTrusted({ trust_issuer: () => { throw { kind: 'invalid_request', message: 'issuer: the address cannot be reached' }; } });
    const user = userEvent.setup();
    render(<SettingsScreen state={state} onState={vi.fn()} />);
    await openAdvanced(user);
    await screen.findAllByTestId('trusted-issuer');
    await fillIn(user, screen.getByTestId('trust-issuer-url'), 'https://nowhere.example');
    await user.click(screen.getByTestId('trust-issuer-add'));
    expect(await within(screen.getByTestId('trusted-issuers')).findByRole('alert')).toHaveTextContent('the address cannot be reached');
    expect(screen.getAllByTestId('trusted-issuer')).toHaveLength(2);
  });

  it('removes one only after the owner confirms, and cancelling removes nothing', async () => {
    const calls = mockTrusted();
    const user = userEvent.setup();
    render(<SettingsScreen state={state} onState={vi.fn()} />);
    await openAdvanced(user);
    await screen.findAllByTestId('trusted-issuer');

    await user.click(within(rowFor('login.bank.example')).getByTestId('trusted-issuer-remove'));
    expect(within(rowFor('login.bank.example')).getByTestId('trusted-issuer-confirm-remove')).toBeInTheDocument();
    await user.click(within(rowFor('login.bank.example')).getByRole('button', { name: 'Cancel' }));
    expect(screen.queryByTestId('trusted-issuer-confirm-remove')).not.toBeInTheDocument();
    expect(callsTo(calls, 'distrust_issuer')).toHaveLength(0);

    await user.click(within(rowFor('login.bank.example')).getByTestId('trusted-issuer-remove'));
    expect(callsTo(calls, 'distrust_issuer')).toHaveLength(0);
    await user.click(screen.getByTestId('trusted-issuer-confirm-remove'));
    await waitFor(() => expect(screen.getAllByTestId('trusted-issuer')).toHaveLength(1));
    expect(callsTo(calls, 'distrust_issuer').map((c) => c.args)).toEqual([{ issuer: 'https://login.bank.example' }]);
    expect(screen.getByTestId('trusted-issuer')).toHaveTextContent('register.regulator.example');
    expect(screen.getByTestId('trusted-issuers-done')).toHaveTextContent('You no longer trust https://login.bank.example');
  });
});

describe('settings: change your passphrase', () => {
  async function fill(user: ReturnType<typeof userEvent.setup>, current: string, next: string, repeat: string) {
    await fillIn(user, screen.getByLabelText('Current passphrase'), current);
    await fillIn(user, screen.getByLabelText('New passphrase'), next);
    await fillIn(user, screen.getByLabelText('Repeat the new passphrase'), repeat);
    await user.click(screen.getByTestId('passphrase-change'));
  }

  it('refuses new passphrases that do not match, without asking the wallet', async () => {
    const calls = mockCommands({ ...quiet, change_passphrase: null });
    const user = userEvent.setup();
    render(<SettingsScreen state={state} onState={vi.fn()} />);
    await fill(user, 'old pass phrase', 'purple tractor sings loudly', 'purple tractor sings loud');
    expect(screen.getByTestId('passphrase-error')).toHaveTextContent('The two new passphrases do not match.');
    expect(screen.getByTestId('passphrase-repeat')).toHaveAttribute('aria-invalid', 'true');
    expect(callsTo(calls, 'change_passphrase')).toHaveLength(0);
    expect(screen.queryByTestId('passphrase-changed')).not.toBeInTheDocument();
  });

  it('says the current passphrase is not right on wrong_passphrase', async () => {
    const calls = mockCommands({
      ...quiet,
      change_passphrase: () => { throw { kind: 'wrong_passphrase', message: 'That is not the wallet\'s passphrase.' }; },
    });
    const user = userEvent.setup();
    render(<SettingsScreen state={state} onState={vi.fn()} />);
    await fill(user, 'not my passphrase', 'purple tractor sings loudly', 'purple tractor sings loudly');
    const alert = await screen.findByTestId('passphrase-error');
    expect(alert).toHaveAttribute('role', 'alert');
    expect(alert).toHaveTextContent('Your current passphrase is not right');
    expect(screen.getByTestId('passphrase-current')).toHaveAttribute('aria-invalid', 'true');
    expect(callsTo(calls, 'change_passphrase')).toHaveLength(1);
    expect(screen.queryByTestId('passphrase-changed')).not.toBeInTheDocument();
  });

  it('shows why a new passphrase is too weak', async () => {
    mockCommands({
      ...quiet,
      change_passphrase: () => { throw { kind: 'invalid_request', message: 'This passphrase is too easy to guess. A few unrelated words make a strong one.' }; },
    });
    const user = userEvent.setup();
    render(<SettingsScreen state={state} onState={vi.fn()} />);
    await fill(user, 'old pass phrase', 'password1', 'password1');
    expect(await screen.findByTestId('passphrase-error')).toHaveTextContent('This passphrase is too easy to guess.');
    expect(screen.getByTestId('passphrase-new')).toHaveAttribute('aria-invalid', 'true');
  });

  it('changes it with the current and the new passphrase, and warns that older backups keep the old one', async () => {
    const calls = mockCommands({ ...quiet, change_passphrase: state });
    const user = userEvent.setup();
    render(<SettingsScreen state={state} onState={vi.fn()} />);
    await fill(user, 'old pass phrase', 'purple tractor sings loudly', 'purple tractor sings loudly');
    const done = await screen.findByTestId('passphrase-changed');
    expect(done).toHaveAttribute('role', 'status');
    expect(done).toHaveTextContent(/passphrase has changed/);
    expect(done).toHaveTextContent(/Backups made before .* open only with your old passphrase/);
    expect(callsTo(calls, 'change_passphrase').map((c) => c.args)).toEqual([{ current: 'old pass phrase', new: 'purple tractor sings loudly' }]);
    expect(screen.getByTestId('passphrase-current')).toHaveValue('');
    expect(screen.getByTestId('passphrase-new')).toHaveValue('');
    expect(screen.getByTestId('passphrase-repeat')).toHaveValue('');
  });
});

describe('settings: a new key with the new passphrase', () => {
  it('is asked for with its own box, explained, and the wallet as it opens again is shown', async () => {
    const reopened: AppState = { ...state, server: state.server && { ...state.server, owner_api: 'http://127.0.0.1:1' } };
    const calls = mockCommands({ ...quiet, change_passphrase: reopened });
    const onState = vi.fn();
    const user = userEvent.setup();
    render(<SettingsScreen state={state} onState={onState} />);
    const box = screen.getByRole('checkbox', { name: 'Also change the key that locks everything in your wallet' });
    expect(box).not.toBeChecked();
    expect(box).toHaveAccessibleDescription(/someone may have learnt your current passphrase/);
    await user.click(box);
    await fillIn(user, screen.getByLabelText('Current passphrase'), 'old pass phrase');
    await fillIn(user, screen.getByLabelText('New passphrase'), 'purple tractor sings loudly');
    await fillIn(user, screen.getByLabelText('Repeat the new passphrase'), 'purple tractor sings loudly');
    await user.click(screen.getByTestId('passphrase-change'));
    await screen.findByTestId('passphrase-changed');
    expect(callsTo(calls, 'change_passphrase').map((c) => c.args)).toEqual([
      { current: 'old pass phrase', new: 'purple tractor sings loudly', newKey: true },
    ]);
    expect(onState).toHaveBeenCalledWith(reopened);
  });
});

describe('settings: starting with the computer', () => {
  it('is on unless turned off, and saving it keeps every other setting', async () => {
    const answer: AppState = { ...state, settings: { ...state.settings, start_at_login: false } };
    const pending = deferred<AppState>();
    const calls = mockCommands({ ...quiet, save_settings: () => pending.promise });
    const onState = vi.fn();
    const user = userEvent.setup();
    render(<SettingsScreen state={state} onState={onState} />);
    const box = screen.getByLabelText('Start the wallet when I log in');
    expect(box).toBeChecked();
    await user.click(box);
    // A second press while the first is saving saves nothing more.
    await user.click(screen.getByTestId('start-at-login-save'));
    await user.click(screen.getByTestId('start-at-login-save'));
    pending.resolve(answer);
    const saved = await screen.findByTestId('start-at-login-saved');
    expect(saved).toHaveTextContent('The wallet starts only when you open it. While it is closed, nobody can ask you for access.');
    expect(callsTo(calls, 'save_settings').map((c) => c.args.settings)).toEqual([{ ...state.settings, start_at_login: false }]);
    expect(onState).toHaveBeenCalledWith(answer);
  });
});

describe('settings: taking requests before the passphrase is typed', () => {
  it('is off until she gives her passphrase, says what it costs, and says a wrong one plainly', async () => {
    const on: AppState = { ...state, settings: { ...state.settings, unlock_at_login: true } };
    let tries = 0;
    const calls = mockCommands({
      ...quiet,
      set_unlock_at_login: () => {
        tries += 1;
        if (tries === 1) throw { kind: 'wrong_passphrase', message: 'That passphrase does not open this wallet.' };
        return on;
      },
    });
    const onState = vi.fn();
    const user = userEvent.setup();
    render(<SettingsScreen state={state} onState={onState} />);
    const form = screen.getByRole('form', { name: 'Taking requests before you type your passphrase' });
    expect(form).toHaveTextContent('any program running as you could read your passphrase from the keyring, and your passphrase also opens your backups');
    expect(form).toHaveTextContent('To see or answer them, you still type it.');

    await user.click(within(form).getByTestId('unlock-at-login-change'));
    expect(await within(form).findByTestId('unlock-at-login-error')).toHaveTextContent('Type your passphrase');
    expect(callsTo(calls, 'set_unlock_at_login')).toHaveLength(0);

    await fillIn(user, within(form).getByLabelText('Your passphrase'), 'not it');
    await user.click(within(form).getByTestId('unlock-at-login-change'));
    expect(await within(form).findByTestId('unlock-at-login-error')).toHaveTextContent('That passphrase does not open this wallet.');
    expect(within(form).getByLabelText('Your passphrase')).toHaveAttribute('aria-invalid', 'true');

    await user.clear(within(form).getByLabelText('Your passphrase'));
    await fillIn(user, within(form).getByLabelText('Your passphrase'), 'a long and private passphrase');
    await user.click(within(form).getByTestId('unlock-at-login-change'));
    expect(await within(form).findByTestId('unlock-at-login-saved')).toHaveTextContent('it takes requests straight away');
    expect(callsTo(calls, 'set_unlock_at_login').map((c) => c.args)).toEqual([
      { enabled: true, passphrase: 'not it' },
      { enabled: true, passphrase: 'a long and private passphrase' },
    ]);
    expect(onState).toHaveBeenCalledWith(on);
  });

  it('turns off without the passphrase', async () => {
    const on: AppState = { ...state, settings: { ...state.settings, unlock_at_login: true } };
    const calls = mockCommands({ ...quiet, set_unlock_at_login: state });
    render(<SettingsScreen state={on} onState={vi.fn()} />);
    const form = screen.getByRole('form', { name: 'Taking requests before you type your passphrase' });
    expect(within(form).queryByLabelText('Your passphrase')).toBeNull();
    await userEvent.setup().click(within(form).getByRole('button', { name: 'Wait for my passphrase again' }));
    await within(form).findByTestId('unlock-at-login-saved');
    expect(callsTo(calls, 'set_unlock_at_login').map((c) => c.args)).toEqual([{ enabled: false, passphrase: null }]);
  });
});

describe('settings: automatic backups', () => {
  const older: BackupFile = { path: '/home/a/backups/uma-wallet-backup-1780000000.json', made_at: 1780000000, bytes: 12_800 };
  const newer: BackupFile = { path: '/home/a/backups/uma-wallet-backup-1790000000.json', made_at: 1790000000, bytes: 1_572_864 };

  it('lists the backups newest first, as a date and a size', async () => {
    mockCommands({ ...quiet, list_backups: [older, newer] });
    render(<SettingsScreen state={state} onState={vi.fn()} />);
    const items = await within(await screen.findByTestId('backup-list')).findAllByTestId('backup-item');
    expect(items).toHaveLength(2);
    expect(items[0]).toHaveTextContent(formatTime(1790000000));
    expect(items[0]).toHaveTextContent('1.5 MB');
    expect(items[1]).toHaveTextContent(formatTime(1780000000));
    expect(items[1]).toHaveTextContent('13 KB');
    // The file's path only inside the technical details.
    expect(within(items[0]).getByText(newer.path).closest('details')).not.toBeNull();
  });

  it('saves the schedule with the other settings unchanged and hands on the answer', async () => {
    const answer: AppState = { ...state, settings: { ...state.settings, backups: { daily: true, keep: 30 } } };
    const calls = mockCommands({ ...quiet, save_settings: answer });
    const onState = vi.fn();
    const user = userEvent.setup();
    render(<SettingsScreen state={{ ...state, settings: { ...state.settings, public_issuer: 'https://wallet.example.org' } }} onState={onState} />);
    const daily = screen.getByLabelText('Back up every day while the wallet is open');
    expect(daily).toBe(screen.getByTestId('backup-daily'));
    expect(daily).not.toBeChecked();
    const keep = screen.getByTestId('backup-keep');
    expect(keep).toHaveValue(7);
    expect(keep).toHaveAccessibleName('Keep the newest');

    await user.click(daily);
    await user.clear(keep);
    await fillIn(user, keep, '0');
    await user.click(screen.getByTestId('backup-schedule-save'));
    const summary = await screen.findByTestId('backup-schedule-error');
    expect(summary).toHaveAttribute('role', 'alert');
    expect(within(summary).getByRole('link', { name: /a whole number from 1 to 365/ })).toHaveAttribute('href', '#backup-keep');
    expect(keep).toHaveAttribute('aria-invalid', 'true');
    expect(callsTo(calls, 'save_settings')).toHaveLength(0);

    await user.clear(keep);
    await fillIn(user, keep, '366');
    await user.click(screen.getByTestId('backup-schedule-save'));
    expect(callsTo(calls, 'save_settings')).toHaveLength(0);

    await user.clear(keep);
    await fillIn(user, keep, '30');
    await user.click(screen.getByTestId('backup-schedule-save'));
    await waitFor(() => expect(onState).toHaveBeenCalledWith(answer));
    expect(callsTo(calls, 'save_settings').map((c) => c.args)).toEqual([
      { settings: { listen: '127.0.0.1:8471', public_issuer: 'https://wallet.example.org', backups: { daily: true, keep: 30 }, start_at_login: true, unlock_at_login: false } },
    ]);
    expect(screen.getByText(/backed up once a day and the newest 30 backups are kept/)).toHaveAttribute('role', 'status');
  });

  it('turns daily backups off', async () => {
    const on: AppState = { ...state, settings: { ...state.settings, backups: { daily: true, keep: 14 } } };
    const calls = mockCommands({ ...quiet, save_settings: state });
    const user = userEvent.setup();
    render(<SettingsScreen state={on} onState={vi.fn()} />);
    expect(screen.getByTestId('backup-daily')).toBeChecked();
    expect(screen.getByTestId('backup-keep')).toHaveValue(14);
    await user.click(screen.getByTestId('backup-daily'));
    await user.click(screen.getByTestId('backup-schedule-save'));
    await waitFor(() => expect(callsTo(calls, 'save_settings')).toHaveLength(1));
    expect(callsTo(calls, 'save_settings')[0].args).toEqual({ settings: { ...state.settings, backups: { daily: false, keep: 14 } } });
  });

  it('"Back up now" adds the new backup to the list', async () => {
    let backups = [older];
    const calls = mockCommands({
      ...quiet,
      list_backups: () => backups,
      export_backup: () => {
        backups = [...backups, newer];
        return { path: newer.path };
      },
    });
    const user = userEvent.setup();
    render(<SettingsScreen state={state} onState={vi.fn()} />);
    expect(await screen.findAllByTestId('backup-item')).toHaveLength(1);
    await user.click(screen.getByRole('button', { name: 'Back up now' }));
    await waitFor(() => expect(screen.getAllByTestId('backup-item')).toHaveLength(2));
    expect(screen.getAllByTestId('backup-item')[0]).toHaveTextContent(formatTime(newer.made_at));
    expect(screen.getByTestId('backup-path')).toHaveTextContent(newer.path);
    expect(callsTo(calls, 'list_backups')).toHaveLength(2);
  });
});

describe('settings: in the order the owner needs them', () => {
  it('puts her details, providers, backups and passphrase first, and the technical settings in a closed Advanced section', async () => {
    mockCommands({ ...quiet, list_providers: [{ url: 'https://pensions.acme.example', name: 'Acme Pensions', added_at: 1790000000, from_registry: true }] });
    render(<SettingsScreen state={state} onState={vi.fn()} />);
    await screen.findAllByTestId('provider-row');
    const headings = screen.getAllByRole('heading', { level: 2 }).map((h) => h.textContent);
    expect(headings.slice(0, 5)).toEqual(['Your details', 'Pension providers', 'Backups', 'Starting with your computer', 'Change your passphrase']);

    const advanced = screen.getByTestId('settings-advanced');
    expect(advanced.tagName).toBe('DETAILS');
    expect(advanced).not.toHaveAttribute('open');
    expect(within(advanced).getByText('Advanced (for technical users)').tagName).toBe('SUMMARY');
    // Everything technical is inside it, and nothing the owner needs is.
    for (const id of ['listen', 'public-issuer', 'registry-key', 'registry-file', 'provider-url', 'trust-issuer-url']) {
      expect(advanced).toContainElement(document.getElementById(id));
    }
    for (const id of ['export-backup', 'passphrase-change', 'save-identity']) {
      expect(advanced).not.toContainElement(screen.getByTestId(id));
    }
    expect(advanced).not.toContainElement(screen.getByTestId('provider-row'));
    // The provider's address is only in its technical details.
    const row = screen.getByTestId('provider-row');
    expect(row).toHaveTextContent('Acme Pensions');
    expect(row).toHaveTextContent('From the official list');
    expect(within(row).getByText('https://pensions.acme.example').closest('details')).not.toBeNull();
  });
});

describe('settings: removing a provider', () => {
  const acme = { url: 'https://pensions.acme.example', name: 'Acme Pensions', added_at: 1790000000, from_registry: false };
  const resources = [
    { id: 'r1', resource_server: acme.url, created_at: 1, resource_scopes: ['owner'] },
    { id: 'r2', resource_server: acme.url, created_at: 1, resource_scopes: ['owner'] },
  ];

  it('asks first, saying its pensions stay protected there but leave this wallet, and Keep it removes nothing', async () => {
    let providers = [acme];
    const calls = mockCommands({
      ...quiet, list_providers: () => providers, list_resources: resources,
      remove_provider: () => { providers = []; return null; },
    });
    const user = userEvent.setup();
    render(<SettingsScreen state={state} onState={vi.fn()} />);
    await user.click(await screen.findByRole('button', { name: 'Remove Acme Pensions' }));
    const ask = screen.getByTestId('provider-remove-confirm');
    expect(ask).toHaveFocus();
    expect(ask).toHaveAccessibleName('Remove Acme Pensions?');
    expect(ask).toHaveTextContent(
      'Its 2 pensions stay protected at Acme Pensions, but this wallet stops reading them: they leave My pensions and your totals.',
    );
    expect(callsTo(calls, 'remove_provider')).toHaveLength(0);

    await user.click(within(ask).getByRole('button', { name: 'Keep it' }));
    expect(screen.queryByTestId('provider-remove-confirm')).not.toBeInTheDocument();
    await waitFor(() => expect(screen.getByRole('button', { name: 'Remove Acme Pensions' })).toHaveFocus());
    expect(callsTo(calls, 'remove_provider')).toHaveLength(0);

    await user.click(screen.getByRole('button', { name: 'Remove Acme Pensions' }));
    await user.click(screen.getByTestId('provider-confirm-remove'));
    const said = await screen.findByTestId('provider-removed');
    expect(said).toHaveTextContent('You removed Acme Pensions from your providers.');
    await screen.findByTestId('providers-empty');
    expect(said).toHaveFocus();
    expect(callsTo(calls, 'remove_provider').map((c) => c.args)).toEqual([{ url: acme.url }]);
  });

  it('shows why a removal failed and keeps the provider', async () => {
    mockCommands({
      ...quiet, list_providers: [acme],
      remove_provider: () => { throw { kind: 'not_found', message: 'no such provider' }; },
    });
    const user = userEvent.setup();
    render(<SettingsScreen state={state} onState={vi.fn()} />);
    await user.click(await screen.findByRole('button', { name: 'Remove Acme Pensions' }));
    await user.click(screen.getByTestId('provider-confirm-remove'));
    expect(await within(screen.getByTestId('provider-row')).findByRole('alert')).toHaveTextContent('no such provider');
  });
});

describe('settings: the official list', () => {
  it('fetches the latest list from where it came from, under Advanced', async () => {
    const calls = mockCommands({
      ...quiet,
      registry_summary: { trusted_key: 'did:key:z6Mk', registry: null, expired: false, source: 'https://register.example/registry.jws' },
      fetch_registry: { providers: [{ url: 'https://a.example', name: 'A', added_at: 1, from_registry: true }], governance: { trusted_key: 'did:key:z6Mk', registry: null, expired: false, source: 'https://register.example/registry.jws' } },
    });
    const user = userEvent.setup();
    render(<SettingsScreen state={state} onState={vi.fn()} />);
    await openAdvanced(user);
    const official = screen.getByTestId('governance');
    expect(await within(official).findByTestId('registry-source')).toHaveTextContent('https://register.example/registry.jws');
    await user.click(within(official).getByRole('button', { name: 'Fetch the latest official list' }));
    expect(await within(official).findByTestId('registry-updated')).toHaveTextContent('1 provider from it is on your list.');
    expect(callsTo(calls, 'fetch_registry').map((c) => c.args)).toEqual([{ fetch: {} }]);
  });
});
