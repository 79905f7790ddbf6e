import { render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { Activity } from '../screens/Activity';
import { Credentials } from '../screens/Credentials';
import { callsTo, deferred, mockCommands, sample } from './ipc';
import type { AuditEntry, Credential } from '../api';

const DID = 'did:key:z6MkfbhxXUAqy2H4YfHD12DrB5CmrdAFkjpEN2RzCYwsBJiU';

/** The credentials screen over a list that `delete_credential` really shrinks. */
function withCredentials(extra: Record<string, unknown> = {}) {
  let list = sample<Credential[]>('credentials');
  const calls = mockCommands({
    list_credentials: () => list,
    delete_credential: (a: Record<string, unknown>) => { list = list.filter((c) => c.id !== a.id); return null; },
    export_credentials: { path: '/home/a/Documents/pension-records-2026-05-01.json' },
    wallet_did: { did: DID },
    show_credential: sample('credential_show'),
    verify_credential: sample('credential_verify'),
    ...extra,
  });
  return calls;
}

const rowOf = (scheme: string) => screen.getAllByTestId('credential-row').find((r) => r.textContent!.includes(scheme))!;

describe('credentials: the wallet\'s public name', () => {
  it('shows it with a plain explanation and copies it', async () => {
    withCredentials();
    const user = userEvent.setup();
    // user-event puts its own clipboard in place: watch that one.
    const write = vi.spyOn(navigator.clipboard, 'writeText');
    render(<Credentials />);
    expect(await screen.findByTestId('wallet-did')).toHaveTextContent(DID);
    const section = screen.getByRole('region', { name: "Your wallet's public name" });
    expect(section).toHaveTextContent(/Providers write it into the records they give you, so anyone can check those records are yours/);
    expect(section).not.toHaveTextContent('Copied');
    await user.click(screen.getByTestId('wallet-did-copy'));
    expect(write).toHaveBeenCalledWith(DID);
    expect(await navigator.clipboard.readText()).toBe(DID);
    expect(within(section).getByRole('status')).toHaveTextContent('Copied');
  });

  it('says so when copying failed', async () => {
    withCredentials();
    const user = userEvent.setup();
    vi.spyOn(navigator.clipboard, 'writeText').mockRejectedValue(new Error('denied'));
    render(<Credentials />);
    await user.click(await screen.findByTestId('wallet-did-copy'));
    expect(await screen.findByRole('alert')).toHaveTextContent(/Could not copy/);
    expect(screen.queryByText('Copied')).not.toBeInTheDocument();
  });
});

describe('credentials: delete', () => {
  it('asks first, deletes only on confirmation and refreshes the list', async () => {
    const calls = withCredentials();
    const user = userEvent.setup();
    render(<Credentials />);
    expect(await screen.findAllByTestId('credential-row')).toHaveLength(3);

    // Asking, then keeping it: nothing is deleted.
    await user.click(within(rowOf('Northwind Master Trust')).getByTestId('credential-delete'));
    const confirmation = screen.getByTestId('credential-delete-confirmation');
    expect(confirmation).toHaveTextContent('Delete the record of Northwind Master Trust?');
    expect(confirmation).toHaveTextContent(/The pension itself stays protected by your wallet/);
    expect(confirmation).toHaveTextContent(/You cannot undo this/);
    expect(confirmation).toHaveFocus();
    await user.click(within(confirmation).getByRole('button', { name: 'Keep it' }));
    expect(screen.queryByTestId('credential-delete-confirm')).not.toBeInTheDocument();
    expect(callsTo(calls, 'delete_credential')).toHaveLength(0);

    // Asking again and confirming.
    await user.click(within(rowOf('Northwind Master Trust')).getByTestId('credential-delete'));
    await user.click(screen.getByTestId('credential-delete-confirm'));
    await waitFor(() => expect(screen.getAllByTestId('credential-row')).toHaveLength(2));
    expect(callsTo(calls, 'delete_credential')).toHaveLength(1);
    expect(callsTo(calls, 'delete_credential')[0].args).toEqual({ id: '67eed9d56cdc14771357e3f50a88476f' });
    expect(callsTo(calls, 'list_credentials')).toHaveLength(2);
    expect(screen.queryByText('Northwind Master Trust')).not.toBeInTheDocument();
    expect(screen.getByTestId('credential-deleted')).toHaveTextContent('The record of Northwind Master Trust has been deleted');
  });

  it('shows why a delete failed and keeps the record', async () => {
    const calls = withCredentials({ delete_credential: () => { throw { kind: 'store', message: 'the wallet could not be written' }; } });
    const user = userEvent.setup();
    render(<Credentials />);
    await screen.findAllByTestId('credential-row');
    await user.click(within(rowOf('Acme Group Personal Pension')).getByTestId('credential-delete'));
    await user.click(screen.getByTestId('credential-delete-confirm'));
    const confirmation = screen.getByTestId('credential-delete-confirmation');
    expect(await within(confirmation).findByRole('alert')).toHaveTextContent('The record was not deleted: the wallet could not be written');
    expect(callsTo(calls, 'delete_credential')[0].args).toEqual({ id: 'dff3bb3c6e4abf032a73d9e7f16ece8a' });
    expect(screen.getAllByTestId('credential-row')).toHaveLength(3);
    expect(screen.queryByTestId('credential-deleted')).not.toBeInTheDocument();
  });
});

describe('credentials: export all', () => {
  it('writes every record to a file and says where it went', async () => {
    const calls = withCredentials();
    const user = userEvent.setup();
    render(<Credentials />);
    await screen.findAllByTestId('credential-row');
    expect(screen.queryByTestId('credentials-exported')).not.toBeInTheDocument();
    await user.click(screen.getByTestId('credentials-export'));
    const exported = await screen.findByTestId('credentials-exported');
    expect(exported).toHaveAttribute('role', 'status');
    expect(exported).toHaveTextContent('Saved a copy of all your records to /home/a/Documents/pension-records-2026-05-01.json');
    expect(callsTo(calls, 'export_credentials')).toHaveLength(1);
  });

  it('shows the error when the export failed', async () => {
    withCredentials({ export_credentials: () => { throw { kind: 'io', message: 'disk full' }; } });
    const user = userEvent.setup();
    render(<Credentials />);
    await screen.findAllByTestId('credential-row');
    await user.click(screen.getByTestId('credentials-export'));
    expect(await screen.findByText('The records were not exported: disk full')).toHaveAttribute('role', 'alert');
    expect(screen.queryByTestId('credentials-exported')).not.toBeInTheDocument();
  });
});

describe('credentials: verify', () => {
  it('says why a record did not verify', async () => {
    withCredentials({ verify_credential: { id: '024bff67546458bb3bcb412f5e8c0af0', verified: false, reason: 'the signature does not match' } });
    const user = userEvent.setup();
    render(<Credentials />);
    const [row] = await screen.findAllByTestId('credential-row');
    await user.click(within(row).getByTestId('credential-details'));
    await user.click(await screen.findByTestId('verify-credential'));
    expect(await screen.findByTestId('verify-result')).toHaveTextContent('This credential did not verify: the signature does not match');
  });
});

// ---------- activity ----------

const ACME_DB = '39d382986c2731424ab3cc69128d24aa';
const ACME_DB_PEI = 'urn:pei:3f2a6c1e-9b0d-4e57-8a61-0c2d9e7b4a11:a1c0ffee-0001-4000-8000-000000000001';
const ACME_GPP = '94b384a5a57692a402e27cbc4a521861';
const NORTHWIND = '2f92bac43580eec5edb21f4b2b529c9e';
const FAMILY = 'client:723062ad34a2320bc54bfbd2bf01833e';

function entry(seq: number, actor: string, action: string, detail: AuditEntry['detail']): AuditEntry {
  return { seq, at: 1795821400 + seq, actor, action, detail, prev_hash: `p${seq}`, hash: `h${seq}` };
}

/** One of each kind of entry that names a pension, and some that do not,
 * shaped as the Rust side writes them (see crates/uma-as and crates/wallet). */
const LOG: AuditEntry[] = [
  entry(9, 'owner', 'grant.revoke', { grant_id: 'g-old', resource_id: 'a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0' }),
  entry(8, 'anonymous', 'client.authentication_failed', { client_id: 'nobody' }),
  entry(7, 'owner', 'policy.add', { policy_id: 'p1', target: { kind: 'resource', id: NORTHWIND }, outcome: 'ask' }),
  entry(6, 'owner', 'credential.delete', { id: 'c1', pei: ACME_DB_PEI, issuer: 'http://127.0.0.1:38341' }),
  entry(5, 'owner', 'pending.approve', { request_id: 'r1', decision: { status: 'approved', scopes: [{ resource_id: ACME_DB, resource_scopes: ['owner'] }] } }),
  entry(4, FAMILY, 'token.request_submitted', { request_id: 'r1', permissions: [{ resource_id: ACME_DB, resource_scopes: ['owner', 'value'] }] }),
  entry(3, 'resource_server:http://127.0.0.1:38341', 'resource.registered', { resource_id: ACME_GPP, name: 'urn:pei:x', scopes: ['owner'] }),
  entry(2, 'owner', 'grant.revoke', { grant_id: 'g1', resource_id: NORTHWIND }),
  entry(1, 'owner', 'identity.disclosed', { to: ['http://127.0.0.1:38341'], path: '/find', items: ['name'], attested: null }),
];

function withLog(extra: Record<string, unknown> = {}) {
  return mockCommands({
    list_audit: LOG,
    verify_audit: { intact: true, entries: LOG.length },
    list_resources: sample('resources'),
    list_clients: sample('clients'),
    list_providers: [{ url: 'http://127.0.0.1:38341', name: 'Acme Pensions', added_at: 1 }],
    export_audit: { path: '/home/a/Documents/activity-2026-05-01.jsonl' },
    ...extra,
  });
}

const shownSeqs = () => screen.getAllByTestId('audit-row').map((r) => Number(r.querySelector('td')!.textContent));
const optionLabels = (select: HTMLElement) => within(select).getAllByRole('option').map((o) => o.textContent);

describe('activity: export', () => {
  it('writes the log to a file and says where it went', async () => {
    const calls = withLog();
    const user = userEvent.setup();
    render(<Activity />);
    await screen.findAllByTestId('audit-row');
    await user.click(screen.getByTestId('activity-export'));
    const exported = await screen.findByTestId('activity-exported');
    expect(exported).toHaveAttribute('role', 'status');
    expect(exported).toHaveTextContent('Saved a copy of the whole activity log to /home/a/Documents/activity-2026-05-01.jsonl');
    expect(callsTo(calls, 'export_audit')).toHaveLength(1);
  });

  it('shows progress, then the error when the export failed', async () => {
    const answer = deferred<unknown>();
    withLog({ export_audit: () => answer.promise });
    const user = userEvent.setup();
    render(<Activity />);
    await screen.findAllByTestId('audit-row');
    await user.click(screen.getByTestId('activity-export'));
    expect(screen.getByTestId('activity-export')).toBeDisabled();
    answer.reject({ kind: 'io', message: 'disk full' });
    expect(await screen.findByText('The activity log was not exported: disk full')).toHaveAttribute('role', 'alert');
    expect(screen.queryByTestId('activity-exported')).not.toBeInTheDocument();
    expect(screen.getByTestId('activity-export')).toBeEnabled();
  });
});

describe('activity: filters', () => {
  it('filters by pension, by who and by kind of event, and says how many match', async () => {
    withLog();
    const user = userEvent.setup();
    render(<Activity />);
    await waitFor(() => expect(screen.getAllByTestId('audit-row')).toHaveLength(9));
    const count = screen.getByTestId('activity-count');
    expect(count).toHaveTextContent('9 entries.');
    expect(count).toHaveAttribute('role', 'status');

    const pension = screen.getByLabelText('Pension');
    expect(pension).toBe(screen.getByTestId('filter-pension'));
    await waitFor(() => expect(optionLabels(pension)).toContain('Acme Staff Defined Benefit Scheme'));
    expect(optionLabels(pension)).toEqual([
      'All pensions and other events', 'Acme Group Personal Pension', 'Acme Staff Defined Benefit Scheme', 'Northwind Master Trust',
      'Pensions no longer in this wallet',
    ]);

    // By pension: the access request, the approval and the deleted record name it (by id or by its PeI).
    await user.selectOptions(pension, 'Acme Staff Defined Benefit Scheme');
    expect(shownSeqs()).toEqual([6, 5, 4]);
    expect(count).toHaveTextContent('3 of 9 entries match.');

    // ... and by who.
    const who = screen.getByLabelText('Who');
    expect(who).toBe(screen.getByTestId('filter-who'));
    await user.selectOptions(who, 'You');
    expect(shownSeqs()).toEqual([6, 5]);
    expect(count).toHaveTextContent('2 of 9 entries match.');

    // ... and by kind of event, in the screen's words.
    const what = screen.getByLabelText('What happened');
    expect(what).toBe(screen.getByTestId('filter-action'));
    await user.selectOptions(what, 'You deleted a record');
    expect(shownSeqs()).toEqual([6]);
    expect(count).toHaveTextContent('1 of 9 entries match.');

    await user.selectOptions(what, 'You withdrew access');
    expect(screen.queryAllByTestId('audit-row')).toHaveLength(0);
    expect(count).toHaveTextContent('0 of 9 entries match.');
    expect(screen.getByText(/No entries match/)).toBeInTheDocument();

    await user.click(screen.getByRole('button', { name: 'Show everything' }));
    expect(shownSeqs()).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1]);
    expect(count).toHaveTextContent('9 entries.');
  });

  it('finds a rule set on a pension, and entries about pensions this wallet no longer holds', async () => {
    withLog();
    const user = userEvent.setup();
    render(<Activity />);
    const pension = await screen.findByTestId('filter-pension');
    await waitFor(() => expect(optionLabels(pension)).toContain('Northwind Master Trust'));
    await user.selectOptions(pension, 'Northwind Master Trust');
    expect(shownSeqs()).toEqual([7, 2]);
    await user.selectOptions(pension, 'Pensions no longer in this wallet');
    expect(shownSeqs()).toEqual([9]);
    await user.selectOptions(pension, 'Acme Group Personal Pension');
    expect(shownSeqs()).toEqual([3]);
  });

  it('says who acted in plain words, and filters by each app and provider or by kind of actor', async () => {
    withLog();
    const user = userEvent.setup();
    render(<Activity />);
    const who = await screen.findByTestId('filter-who');
    await waitFor(() => expect(optionLabels(who)).toContain('App: Family dashboard'));
    expect(optionLabels(who)).toEqual([
      'Everyone', 'You', 'Any app', 'App: Family dashboard', 'Any pension provider', 'Provider: Acme Pensions', 'Someone unknown',
    ]);
    const whoCell = (seq: number) => screen.getAllByTestId('audit-row').find((r) => r.querySelector('td')!.textContent === String(seq))!
      .querySelectorAll('td')[3];
    expect(whoCell(4)).toHaveTextContent(/^Family dashboard$/);
    expect(whoCell(3)).toHaveTextContent(/^Acme Pensions$/);
    expect(whoCell(8)).toHaveTextContent(/^Someone unknown$/);
    expect(whoCell(2)).toHaveTextContent(/^You$/);

    await user.selectOptions(who, 'App: Family dashboard');
    expect(shownSeqs()).toEqual([4]);
    await user.selectOptions(who, 'Any pension provider');
    expect(shownSeqs()).toEqual([3]);
    await user.selectOptions(who, 'Provider: Acme Pensions');
    expect(shownSeqs()).toEqual([3]);
    await user.selectOptions(who, 'Someone unknown');
    expect(shownSeqs()).toEqual([8]);
    await user.selectOptions(who, 'You');
    expect(shownSeqs()).toEqual([9, 7, 6, 5, 2, 1]);
    expect(screen.getByTestId('activity-count')).toHaveTextContent('6 of 9 entries match.');
  });

  it('lists kinds of event in plain words, and keeps raw codes under Technical details', async () => {
    withLog();
    const user = userEvent.setup();
    render(<Activity />);
    const what = await screen.findByTestId('filter-action');
    const labels = optionLabels(what);
    expect(labels).toContain('Access requested');
    expect(labels).toContain('You approved a request');
    expect(labels).toContain('A provider added a pension');
    expect(labels.filter((l) => l === 'You withdrew access')).toHaveLength(1);
    expect(labels.join(' ')).not.toMatch(/\w\.\w/);

    await user.selectOptions(what, 'You withdrew access');
    expect(shownSeqs()).toEqual([9, 2]);
    const row = screen.getAllByTestId('audit-row')[1];
    expect(within(row).getByText('Pension: Northwind Master Trust')).toBeVisible();
    expect(within(row).getByText(/grant\.revoke · owner/)).not.toBeVisible();
    expect(within(row).getByText('Technical details').tagName).toBe('SUMMARY');
  });
});
