import { render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { App } from '../App';
import { SettingsScreen } from '../screens/Settings';
import { callsTo, mockCommands, sample } from './ipc';
import type { AppState, Credential } from '../api';

/**
 * "Proof of protection" is no screen of its own any more: each pension says
 * whether its proof is there, and the providers' records themselves (the
 * wallet's public name, export, delete, every field) are a section of
 * Settings, under Advanced.
 */

const DID = 'did:key:z6MkfbhxXUAqy2H4YfHD12DrB5CmrdAFkjpEN2RzCYwsBJiU';

const state: AppState = {
  wallet_exists: true, unlocked: true, data_dir: '/home/a/wallet',
  settings: { listen: '127.0.0.1:8471', public_issuer: null, backups: { daily: false, keep: 7 }, start_at_login: true, unlock_at_login: false },
  server: { issuer: 'http://127.0.0.1:8471', owner_api: 'http://127.0.0.1:8471/owner', listen: '127.0.0.1:8471', pid: 1, notifies_owner: false },
};

/** Settings over records that `delete_credential` really removes. */
function withRecords(extra: Record<string, unknown> = {}) {
  let list = sample<Credential[]>('credentials');
  return mockCommands({
    list_providers: [],
    get_identity: null,
    registry_summary: { trusted_key: null, registry: null, expired: false },
    list_trusted_issuers: [],
    list_backups: [],
    list_credentials: () => list,
    delete_credential: (a: Record<string, unknown>) => { list = list.filter((c) => c.id !== a.id); return null; },
    export_credentials: { path: '/home/a/Documents/pension-records-2026-05-01.json' },
    wallet_did: { did: DID },
    show_credential: sample('credential_show'),
    verify_credential: sample('credential_verify'),
    ...extra,
  });
}

describe('navigation', () => {
  it('has no item for proof of protection', async () => {
    mockCommands({
      app_state: state, list_requests: [], watch_requests: null,
      my_pensions: { pensions: [], totals: { estimated_annual_income: 0, dc_pots: 0 } },
      list_grants: [], list_clients: [], get_identity: null, list_providers: [], list_resources: [],
    });
    render(<App />);
    await screen.findByTestId('screen-pensions');
    const nav = screen.getByRole('navigation', { name: 'Main' });
    expect(within(nav).getAllByRole('button').map((b) => b.getAttribute('data-testid'))).toEqual([
      'nav-pensions', 'nav-offers', 'nav-requests', 'nav-sharing', 'nav-activity', 'nav-settings',
    ]);
    expect(screen.queryByTestId('nav-credentials')).not.toBeInTheDocument();
    expect(nav).not.toHaveTextContent(/proof|credential/i);
  });
});

describe('settings: the records of her pensions, under Advanced', () => {
  it('reads nothing until Advanced is opened, then shows the records in their own section inside it', async () => {
    const calls = withRecords();
    const user = userEvent.setup();
    render(<SettingsScreen state={state} onState={vi.fn()} />);
    const advanced = screen.getByTestId('settings-advanced');
    expect(advanced).not.toHaveAttribute('open');
    expect(screen.queryByTestId('settings-credentials')).not.toBeInTheDocument();
    expect(callsTo(calls, 'list_credentials')).toHaveLength(0);
    expect(callsTo(calls, 'wallet_did')).toHaveLength(0);

    await user.click(screen.getByTestId('settings-advanced-open'));
    expect(advanced).toHaveAttribute('open');
    const section = await screen.findByTestId('settings-credentials');
    expect(advanced).toContainElement(section);
    expect(within(section).getByRole('heading', { level: 2 })).toHaveTextContent('Records of your pensions (technical)');
    expect(await within(section).findAllByTestId('credential-row')).toHaveLength(3);
    expect(await within(section).findByTestId('wallet-did')).toHaveTextContent(DID);
    // Each record is named by its pension, one level under the section.
    expect(within(section).getAllByRole('heading', { level: 3 }).map((h) => h.textContent)).toEqual([
      'Acme Staff Defined Benefit Scheme', 'Northwind Master Trust', 'Acme Group Personal Pension', "Your wallet's public name",
    ]);

    // Closing Advanced and opening it again reads nothing again.
    await user.click(screen.getByTestId('settings-advanced-open'));
    await user.click(screen.getByTestId('settings-advanced-open'));
    expect(screen.getAllByTestId('credential-row')).toHaveLength(3);
    expect(callsTo(calls, 'list_credentials')).toHaveLength(1);
  });

  it('exports every record, shows one in full, and deletes one after asking', async () => {
    const calls = withRecords();
    const user = userEvent.setup();
    render(<SettingsScreen state={state} onState={vi.fn()} />);
    await user.click(screen.getByTestId('settings-advanced-open'));
    const rows = await screen.findAllByTestId('credential-row');

    await user.click(screen.getByTestId('credentials-export'));
    expect(await screen.findByTestId('credentials-exported')).toHaveTextContent('/home/a/Documents/pension-records-2026-05-01.json');
    expect(callsTo(calls, 'export_credentials')).toHaveLength(1);

    await user.click(within(rows[0]).getByTestId('credential-details'));
    const detail = await within(rows[0]).findByTestId('credential-detail');
    await waitFor(() => expect(detail).toHaveTextContent('urn:pei:3f2a6c1e-9b0d-4e57-8a61-0c2d9e7b4a11:a1c0ffee-0001-4000-8000-000000000001'));

    await user.click(within(rows[1]).getByTestId('credential-delete'));
    expect(screen.getByTestId('credential-delete-confirmation')).toHaveTextContent('Delete the record of Northwind Master Trust?');
    await user.click(screen.getByTestId('credential-delete-confirm'));
    await waitFor(() => expect(screen.getAllByTestId('credential-row')).toHaveLength(2));
    expect(callsTo(calls, 'delete_credential').map((c) => c.args)).toEqual([{ id: '67eed9d56cdc14771357e3f50a88476f' }]);
    expect(screen.getByTestId('credential-deleted')).toHaveTextContent('The record of Northwind Master Trust has been deleted');
  });

  it('says so in the section when the records could not be read, and the rest of Advanced still works', async () => {
    withRecords({ list_credentials: () => { throw { kind: 'store', message: 'the wallet could not be read' }; } });
    const user = userEvent.setup();
    render(<SettingsScreen state={state} onState={vi.fn()} />);
    await user.click(screen.getByTestId('settings-advanced-open'));
    const section = await screen.findByTestId('settings-credentials');
    expect(await within(section).findByRole('alert')).toHaveTextContent('the wallet could not be read');
    expect(screen.getByLabelText(/listen address/i)).toBeInTheDocument();
  });

  it('can be reached from the app: Settings, then Advanced', async () => {
    withRecords({
      app_state: state, list_requests: [], watch_requests: null,
      my_pensions: { pensions: [], totals: { estimated_annual_income: 0, dc_pots: 0 } },
      list_grants: [], list_clients: [], list_resources: [],
    });
    const user = userEvent.setup();
    render(<App />);
    await user.click(await screen.findByTestId('nav-settings'));
    await user.click(await screen.findByTestId('settings-advanced-open'));
    expect(await screen.findAllByTestId('credential-row')).toHaveLength(3);
    expect(await screen.findByTestId('wallet-did')).toHaveTextContent(DID);
  });
});
