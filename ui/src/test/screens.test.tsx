import { render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { Activity } from '../screens/Activity';
import { Credentials } from '../screens/Credentials';
import { SettingsScreen } from '../screens/Settings';
import { Sharing } from '../screens/Sharing';
import { callsTo, mockCommands, sample } from './ipc';
import type { AppState } from '../api';

describe('activity', () => {
  it('shows a broken chain at the top', async () => {
    mockCommands({ list_audit: sample('audit_limit_5'), verify_audit: { intact: false, broken_at: 17, reason: 'hash mismatch' } });
    render(<Activity />);
    const status = screen.getByTestId('audit-status');
    await waitFor(() => expect(status).toHaveTextContent(/changed or damaged from entry 17 on, so it cannot be trusted/));
    expect(within(status).getByRole('alert')).toBeInTheDocument();
    const rows = await screen.findAllByTestId('audit-row');
    expect(rows).toHaveLength(5);
    expect(rows[0]).toHaveAttribute('data-seq', '21');
    expect(rows[0]).toHaveTextContent('An app asked to see a pension (details and values).');
  });

  it('shows an intact chain with its entry count', async () => {
    const calls = mockCommands({ list_audit: sample('audit_limit_5'), verify_audit: sample('audit_verify') });
    render(<Activity />);
    await waitFor(() => expect(screen.getByTestId('audit-status')).toHaveTextContent(/intact: nothing in it has been changed or removed \(21 entries\)/));
    expect(typeof (callsTo(calls, 'list_audit')[0].args.query as { limit: unknown }).limit).toBe('number');
  });
});

describe('activity: what went to whom', () => {
  it('says which providers got which details, and which came from the proof of identity', async () => {
    mockCommands({
      list_audit: [{
        seq: 30, at: 1790000000, actor: 'owner', action: 'identity.disclosed', prev_hash: 'x', hash: 'y',
        detail: {
          to: ['http://127.0.0.1:8101', 'http://127.0.0.1:8102'], path: '/find', items: ['name', 'date_of_birth'],
          attested: { issuer: 'http://127.0.0.1:8100', claims: ['given_name', 'family_name', 'birthdate', 'postal_code', 'national_insurance_number'] },
        },
      }],
      verify_audit: { intact: true, entries: 30 },
    });
    render(<Activity />);
    const [row] = await screen.findAllByTestId('audit-row');
    expect(row).toHaveTextContent('Your details were sent to 127.0.0.1:8101 and 127.0.0.1:8102 to look for your pensions.');
    expect(row).toHaveTextContent('As you typed them: name, date of birth.');
    expect(row).toHaveTextContent('From your proof of identity: given name, family name, date of birth, postcode, National Insurance number.');
  });
});

describe('credentials', () => {
  it('lists credentials, shows details and verifies one', async () => {
    const calls = mockCommands({
      list_credentials: sample('credentials'),
      show_credential: sample('credential_show'),
      verify_credential: sample('credential_verify'),
    });
    const user = userEvent.setup();
    render(<Credentials />);
    const rows = await screen.findAllByTestId('credential-row');
    expect(rows).toHaveLength(3);
    await user.click(within(rows[0]).getByRole('button', { name: 'Technical details' }));
    const detail = await screen.findByTestId('credential-detail');
    await waitFor(() => expect(detail).toHaveTextContent('http://127.0.0.1:38341'));
    expect(callsTo(calls, 'show_credential')[0].args).toEqual({ id: '024bff67546458bb3bcb412f5e8c0af0' });
    await user.click(within(detail).getByTestId('verify-credential'));
    expect(await within(detail).findByTestId('verify-result')).toHaveTextContent(/signature is valid/);
  });
});

describe('settings', () => {
  const state: AppState = {
    wallet_exists: true, unlocked: true, data_dir: '/home/a/wallet',
    settings: { listen: '127.0.0.1:8471', public_issuer: null, backups: { daily: false, keep: 7 }, start_at_login: true, unlock_at_login: false }, server: null,
  };

  it('adds a provider and lists it; shows the backup path', async () => {
    let providers = sample<{ url: string; name: string | null; added_at: number }[]>('providers');
    const calls = mockCommands({
      list_providers: () => providers,
      add_provider: (a: Record<string, unknown>) => {
        const p = { url: a.url as string, name: a.name as string | null, added_at: 2 };
        providers = [...providers, p];
        return p;
      },
      export_backup: { path: '/home/a/wallet-backup-2026.sealed' },
    });
    const user = userEvent.setup();
    render(<SettingsScreen state={state} onState={vi.fn()} />);
    expect(await screen.findAllByTestId('provider-row')).toHaveLength(2);
    // Adding a provider by hand is for technical users: under Advanced.
    await user.click(screen.getByText('Advanced (for technical users)'));
    await user.type(document.getElementById('provider-url')!, 'https://pensions.example.com');
    await user.type(document.getElementById('provider-name')!, 'Example Pensions');
    await user.click(screen.getByTestId('add-provider'));
    await waitFor(() => expect(screen.getAllByTestId('provider-row')).toHaveLength(3));
    expect(callsTo(calls, 'add_provider')[0].args).toEqual({ url: 'https://pensions.example.com', name: 'Example Pensions' });
    await user.click(screen.getByTestId('export-backup'));
    expect(await screen.findByTestId('backup-path')).toHaveTextContent('/home/a/wallet-backup-2026.sealed');
  });

  it('saves the listen address and public issuer', async () => {
    const calls = mockCommands({ list_providers: [], save_settings: (a: Record<string, unknown>) => ({ ...state, settings: a.settings }) });
    const onState = vi.fn();
    const user = userEvent.setup();
    render(<SettingsScreen state={state} onState={onState} />);
    await user.click(screen.getByText('Advanced (for technical users)'));
    const listen = screen.getByLabelText(/listen address/i);
    await user.clear(listen);
    await user.type(listen, '127.0.0.1:9999');
    await user.type(screen.getByLabelText(/public address/i), 'https://wallet.example.org');
    await user.click(screen.getByRole('button', { name: 'Save' }));
    await waitFor(() => expect(onState).toHaveBeenCalled());
    expect(callsTo(calls, 'save_settings')[0].args).toEqual({ settings: { listen: '127.0.0.1:9999', public_issuer: 'https://wallet.example.org', backups: { daily: false, keep: 7 }, start_at_login: true, unlock_at_login: false } });
  });
});

describe('sharing', () => {
  it('revokes a grant and adds a policy targeting the pension', async () => {
    const calls = mockCommands({
      list_resources: sample('resources'), list_policies: sample('policies'), list_grants: sample('grants'), list_clients: sample('clients'),
      list_receipts: [],
      revoke_grant: (a: Record<string, unknown>) => ({ id: a.id }),
      add_policy: (a: Record<string, unknown>) => ({ id: 'p-new', ...(a.policy as object) }),
    });
    const user = userEvent.setup();
    render(<Sharing />);
    const sections = await screen.findAllByTestId('sharing-pension');
    const acmeDb = sections.find((s) => s.textContent!.includes('Acme Staff Defined Benefit Scheme'))!;
    const grants = within(acmeDb).getAllByTestId('grant-row');
    expect(grants).toHaveLength(2);
    const family = grants.find((g) => g.textContent!.includes('Family dashboard'))!;
    await user.click(within(family).getByTestId('revoke-grant'));
    await waitFor(() => expect(callsTo(calls, 'revoke_grant')[0]?.args).toEqual({ id: 'c0820e87d61c86ded56a2d3059bcf287' }));

    await user.click(within(acmeDb).getByTestId('add-policy-open'));
    await user.selectOptions(within(acmeDb).getByLabelText('When they ask'), 'ask');
    await user.type(within(acmeDb).getByLabelText('Email'), 'bob@adviser.example');
    await user.click(within(acmeDb).getByRole('button', { name: 'Save rule' }));
    await waitFor(() => expect(callsTo(calls, 'add_policy')).toHaveLength(1));
    expect(callsTo(calls, 'add_policy')[0].args).toEqual({
      policy: {
        target: { kind: 'resource', id: '39d382986c2731424ab3cc69128d24aa' },
        scopes: ['owner', 'value'],
        outcome: 'ask',
        party: { email: 'bob@adviser.example', verified_only: true },
      },
    });
  });
});

describe('sharing: a rule for advisers', () => {
  it('lets any authorised adviser in for 30 days, in words the owner chose', async () => {
    const calls = mockCommands({
      list_resources: sample('resources'), list_policies: [], list_grants: [], list_clients: sample('clients'), list_receipts: [],
      add_policy: (a: Record<string, unknown>) => ({ id: 'p-new', ...(a.policy as object) }),
    });
    const user = userEvent.setup();
    render(<Sharing />);
    const sections = await screen.findAllByTestId('sharing-pension');
    const acmeDb = sections.find((s) => s.textContent!.includes('Acme Staff Defined Benefit Scheme'))!;
    await user.click(within(acmeDb).getByTestId('add-policy-open'));
    await user.click(within(acmeDb).getByLabelText(/Any authorised financial adviser/));
    expect(within(acmeDb).getByLabelText('Access lasts')).toHaveValue('30');
    await user.click(within(acmeDb).getByRole('button', { name: 'Save rule' }));
    await waitFor(() => expect(callsTo(calls, 'add_policy')).toHaveLength(1));
    expect(callsTo(calls, 'add_policy')[0].args).toEqual({
      policy: {
        target: { kind: 'resource', id: '39d382986c2731424ab3cc69128d24aa' },
        scopes: ['owner', 'value'],
        outcome: 'permit',
        party: { credential_type: 'AdviserCredential', verified_only: true },
        grant_lifetime: 30 * 86400,
      },
    });
  });
});

describe('sharing: receipts', () => {
  it('shows each approval in words, withdrawn or in force, with its credential under technical details', async () => {
    mockCommands({
      list_resources: sample('resources'), list_policies: sample('policies'), list_grants: sample('grants'), list_clients: sample('clients'),
      list_receipts: [
        { grant_id: 'g1', client_id: 'c1', client_name: 'Adviser platform', pension: 'Acme Staff Defined Benefit Scheme', provider: 'http://127.0.0.1:8101',
          scopes: ['owner'], granted_at: 1790000000, until: 1790086400, revoked_at: null, active: true, how_to_withdraw: 'Sharing', credential: 'eyJ.a.b' },
        { grant_id: 'g2', client_id: 'c2', client_name: 'Family dashboard', pension: 'Acme Group Personal Pension', provider: 'http://127.0.0.1:8101',
          scopes: ['owner', 'value'], granted_at: 1789000000, until: null, revoked_at: 1789500000, active: false, how_to_withdraw: 'Sharing', credential: 'eyJ.c.d' },
      ],
    });
    render(<Sharing />);
    const rows = await screen.findAllByTestId('receipt');
    expect(rows).toHaveLength(2);
    expect(rows[0]).toHaveTextContent(/You let Adviser platform see Acme Staff Defined Benefit Scheme: Your pension details\./);
    expect(rows[0]).toHaveTextContent(/In force/);
    expect(rows[1]).toHaveTextContent(/Your pension details, your pension's value/);
    expect(rows[1]).toHaveTextContent(/You withdrew it on/);
    expect(within(rows[0]).getByText('Technical details')).toBeInTheDocument();
  });
});

describe('settings: identity details', () => {
  it('loads the details, refuses a bad date without saving, and saves the corrected ones', async () => {
    const stored = sample<Record<string, unknown>>('identity');
    const calls = mockCommands({
      list_providers: [],
      get_identity: stored,
      set_identity: (args: Record<string, unknown>) => args.identity,
    });
    const user = userEvent.setup();
    const state: AppState = { wallet_exists: true, unlocked: true, data_dir: '/w', settings: { listen: '127.0.0.1:7420', public_issuer: null, backups: { daily: false, keep: 7 }, start_at_login: true, unlock_at_login: false }, server: null };
    render(<SettingsScreen state={state} onState={vi.fn()} />);
    await screen.findByTestId('save-identity');
    const postcode = document.getElementById('settings-postcode')!;
    expect(postcode).toHaveValue('SW1A 1AA');
    // The stored date is shown in its three boxes.
    const dob = screen.getByRole('group', { name: 'Date of birth' });
    expect(within(dob).getByLabelText('Day')).toHaveValue('12');
    expect(within(dob).getByLabelText('Month')).toHaveValue('4');
    expect(within(dob).getByLabelText('Year')).toHaveValue('1975');
    await user.clear(within(dob).getByLabelText('Day'));
    await user.type(within(dob).getByLabelText('Day'), '31');
    await user.clear(within(dob).getByLabelText('Month'));
    await user.type(within(dob).getByLabelText('Month'), '2');
    await user.click(screen.getByTestId('save-identity'));
    const summary = await screen.findByTestId('identity-error');
    expect(summary).toHaveTextContent('Date of birth must be a real date');
    expect(callsTo(calls, 'set_identity')).toHaveLength(0);

    // Dates the British way (12/04/1975) pasted whole into a box fill all three.
    await user.clear(within(dob).getByLabelText('Day'));
    await user.type(within(dob).getByLabelText('Day'), '12/04/1975');
    expect(within(dob).getByLabelText('Month')).toHaveValue('04');
    await user.clear(postcode);
    await user.type(postcode, 'ec1a 1bb');
    await user.click(screen.getByTestId('save-identity'));
    expect(await screen.findByText(/next search uses these details/)).toBeInTheDocument();
    const sent = callsTo(calls, 'set_identity')[0].args.identity as Record<string, unknown>;
    // Whatever was stored before, the window never claims the details were checked.
    expect(sent).toMatchObject({ given_name: 'Alice', date_of_birth: '1975-04-12', postcode: 'EC1A 1BB', verified: [] });
  });
});
