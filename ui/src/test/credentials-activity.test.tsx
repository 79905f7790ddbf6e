import { render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { Activity } from '../screens/Activity';
import { Credentials } from '../screens/Credentials';
import { callsTo, deferred, mockCommands, sample } from './ipc';
import type { ActivityEntry, Client, Credential } from '../api';
import type { AuditQuery } from '../contract/AuditQuery';

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


describe('credentials: proof of protection in plain words', () => {
  it('leads with a checked line per pension, and keeps fields, signed content and token under Technical details', async () => {
    const calls = withCredentials();
    const user = userEvent.setup();
    render(<Credentials />);
    expect(await screen.findByRole('heading', { level: 2, name: 'Records of your pensions (technical)' })).toBeInTheDocument();
    const rows = await screen.findAllByTestId('credential-row');
    const day = new Date(1795821417 * 1000).toLocaleDateString('en-GB', { day: 'numeric', month: 'short', year: 'numeric' });
    for (const r of rows) expect(within(r).getByTestId('proof-status')).toHaveTextContent(`Proof this pension is protected: ✓ checked ${day}`);
    const acme = rowOf('Acme Staff Defined Benefit Scheme');
    // No raw identifiers or protocol words until the owner asks for them.
    for (const r of rows) {
      expect(r).not.toHaveTextContent('urn:pei');
      expect(r).not.toHaveTextContent('did:key');
      expect(r.textContent).not.toMatch(/credential|token/i);
    }
    expect(callsTo(calls, 'show_credential')).toHaveLength(0);

    await user.click(within(acme).getByRole('button', { name: 'Technical details' }));
    const detail = await within(acme).findByTestId('credential-detail');
    await waitFor(() => expect(detail).toHaveTextContent('urn:pei:3f2a6c1e-9b0d-4e57-8a61-0c2d9e7b4a11:a1c0ffee-0001-4000-8000-000000000001'));
    expect(within(detail).getByText('Signed content').tagName).toBe('SUMMARY');
    expect(within(detail).getByText('Raw token').tagName).toBe('SUMMARY');
    expect(within(acme).getByTestId('credential-details')).toHaveAttribute('aria-expanded', 'true');
  });

  it('checks a proof again and says when, or why it did not check out', async () => {
    let verified = true;
    const calls = withCredentials({ verify_credential: (a: Record<string, unknown>) => ({ id: a.id, verified, reason: verified ? null : 'the signature does not match' }) });
    const user = userEvent.setup();
    render(<Credentials />);
    await screen.findAllByTestId('credential-row');
    const acme = rowOf('Acme Staff Defined Benefit Scheme');
    await user.click(within(acme).getByTestId('credential-check'));
    expect(await within(acme).findByTestId('credential-check-result')).toHaveTextContent(/^Checked just now, at \d\d:\d\d\.$/);
    const today = new Date().toLocaleDateString('en-GB', { day: 'numeric', month: 'short', year: 'numeric' });
    expect(within(acme).getByTestId('proof-status')).toHaveTextContent(`✓ checked ${today}`);
    expect(callsTo(calls, 'verify_credential')[0].args).toEqual({ id: '024bff67546458bb3bcb412f5e8c0af0' });

    verified = false;
    await user.click(within(acme).getByTestId('credential-check'));
    await waitFor(() => expect(within(acme).getByTestId('proof-status')).toHaveTextContent('✗ This proof did not check out: the signature does not match'));
  });
});

// ---------- activity ----------

const ACME_DB = '39d382986c2731424ab3cc69128d24aa';
const ACME_DB_PEI = 'urn:pei:3f2a6c1e-9b0d-4e57-8a61-0c2d9e7b4a11:a1c0ffee-0001-4000-8000-000000000001';
const ACME_GPP = '94b384a5a57692a402e27cbc4a521861';
const NORTHWIND = '2f92bac43580eec5edb21f4b2b529c9e';
const FAMILY = 'client:723062ad34a2320bc54bfbd2bf01833e';
/** The wallet's own app: its reads of the owner's pensions are hers. */
const OWN = 'client:710aa91882de2d1ecc5bcb5e0362b348';
const ACME = 'http://127.0.0.1:38341';

/** Noon on two days (UTC), so that any time zone keeps each on its day. */
const DAY2 = 1795867200;
const DAY1 = 1795780800;

function entry(seq: number, at: number, actor: string, action: string, detail: ActivityEntry['detail'], byYou = actor === 'owner'): ActivityEntry {
  return { seq, at, actor, action, detail, prev_hash: `p${seq}`, hash: `h${seq}`, by_you: byYou };
}

/** A log shaped as the Rust side writes it (crates/uma-as, crates/wallet), newest first. */
const LOG: ActivityEntry[] = [
  entry(14, DAY2 + 60, OWN, 'token.rpt_issued', { permissions: [{ resource_id: NORTHWIND, resource_scopes: [] }] }, true),
  entry(13, DAY2 + 50, OWN, 'token.rpt_issued', { permissions: [{ resource_id: ACME_GPP, resource_scopes: [] }] }, true),
  entry(12, DAY2 + 40, 'owner', 'grant.revoke', { grant_id: 'g-old', resource_id: 'a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0' }),
  entry(11, DAY2 + 30, OWN, 'token.rpt_issued', { permissions: [{ resource_id: ACME_DB, resource_scopes: [] }] }, true),
  entry(10, DAY2 + 20, 'anonymous', 'client.authentication_failed', { client_id: 'nobody' }),
  entry(9, DAY2 + 10, 'owner', 'policy.add', { policy_id: 'p1', target: { kind: 'resource', id: NORTHWIND }, outcome: 'ask' }),
  entry(8, DAY2, 'owner', 'credential.delete', { id: 'c1', pei: ACME_DB_PEI, issuer: ACME }),
  entry(7, DAY1 + 70, FAMILY, 'token.rpt_issued', { jti: 'x', party: 'anonymous', permissions: [{ resource_id: ACME_DB, resource_scopes: ['owner'] }], upgraded: false }),
  entry(6, DAY1 + 60, 'owner', 'pending.approve', { request_id: 'r1', decision: { status: 'approved', expires_at: null, scopes: [{ resource_id: ACME_DB, resource_scopes: ['owner'] }] } }),
  entry(5, DAY1 + 50, FAMILY, 'token.request_submitted', { request_id: 'r1', permissions: [{ resource_id: ACME_DB, resource_scopes: ['owner', 'value'] }] }),
  entry(4, DAY1 + 40, `resource_server:${ACME}`, 'resource.registered', { resource_id: ACME_GPP, name: 'urn:pei:x', scopes: ['owner'] }),
  entry(3, DAY1 + 30, OWN, 'token.rpt_issued', { permissions: [{ resource_id: ACME_DB, resource_scopes: [] }] }, true),
  entry(2, DAY1 + 20, 'owner', 'grant.revoke', { grant_id: 'g1', resource_id: NORTHWIND }),
  entry(1, DAY1 + 10, 'owner', 'identity.disclosed', { to: [ACME], path: '/find', items: ['name'], attested: null }),
];

/** The service's search, as crates/wallet/src/activity.rs does it, enough for these entries. */
function search(query: AuditQuery): ActivityEntry[] {
  const mentions = (e: ActivityEntry, ids: string[]) => ids.some((id) => JSON.stringify(e.detail).includes(id));
  const known = [ACME_DB, ACME_DB_PEI, ACME_GPP, NORTHWIND];
  return LOG.filter((e) => {
    if (query.who === 'you' && !e.by_you) return false;
    if (query.who === 'apps' && !e.actor.startsWith('client:')) return false;
    if (query.who === 'providers' && !e.actor.startsWith('resource_server:')) return false;
    if (query.who === 'others' && e.actor !== 'anonymous') return false;
    if (query.who?.includes(':') && e.actor !== query.who) return false;
    if (query.action && e.action !== query.action) return false;
    if (query.pension === 'gone' && !(/resource_id|pei/.test(JSON.stringify(e.detail)) && !mentions(e, known))) return false;
    if (query.pension === ACME_DB && !mentions(e, [ACME_DB, ACME_DB_PEI])) return false;
    if (query.pension && query.pension !== 'gone' && query.pension !== ACME_DB && !mentions(e, [query.pension])) return false;
    return true;
  }).slice(0, query.limit);
}

function withLog(extra: Record<string, unknown> = {}) {
  return mockCommands({
    list_audit: (a: Record<string, unknown>) => search(a.query as AuditQuery),
    verify_audit: { intact: true, entries: 40 },
    list_resources: sample('resources'),
    list_clients: sample<Client[]>('clients').filter((c) => `client:${c.client_id}` !== OWN),
    list_providers: [{ url: ACME, name: 'Acme Pensions', added_at: 1 }],
    export_audit: { path: '/home/a/Documents/activity-2026-05-01.jsonl' },
    ...extra,
  });
}

const rows = () => screen.getAllByTestId('audit-row');
const shownSeqs = () => rows().map((r) => Number(r.getAttribute('data-seq')));
const sentences = () => screen.getAllByTestId('audit-sentence').map((s) => s.textContent);
const optionLabels = (select: HTMLElement) => within(select).getAllByRole('option').map((o) => o.textContent);
const dayName = (at: number) => {
  const d = new Date(at * 1000);
  return `${d.toLocaleDateString('en-GB', { weekday: 'long' })} ${d.toLocaleDateString('en-GB', { day: 'numeric', month: 'long', year: 'numeric' })}`;
};

describe('activity: in plain sentences, by day', () => {
  it('says what happened in one sentence a row, under a heading for each day', async () => {
    withLog();
    render(<Activity />);
    await waitFor(() => expect(sentences()).toContain('“Family dashboard” asked to see Acme Staff Defined Benefit Scheme (details and values).'));
    const days = screen.getAllByTestId('activity-day');
    expect(days.map((d) => within(d).getByRole('heading', { level: 2 }).textContent)).toEqual([dayName(DAY2), dayName(DAY1)]);
    expect(within(days[1]).getAllByTestId('audit-sentence').map((s) => s.textContent)).toEqual([
      '“Family dashboard” was given access to Acme Staff Defined Benefit Scheme (details).',
      'You said yes: “Family dashboard” may see Acme Staff Defined Benefit Scheme (details), with no end date.',
      '“Family dashboard” asked to see Acme Staff Defined Benefit Scheme (details and values).',
      'Acme Pensions put Acme Group Personal Pension under your wallet’s protection.',
      'You viewed your pensions (your wallet read them for you once)',
      'You stopped access to Northwind Master Trust.',
      'Your details were sent to Acme Pensions to look for your pensions.',
    ]);
    expect(within(days[0]).getAllByTestId('audit-sentence').map((s) => s.textContent)).toContain('You deleted the proof that Acme Staff Defined Benefit Scheme is protected.');
    expect(within(days[0]).getAllByTestId('audit-sentence').map((s) => s.textContent)).toContain('You added a rule for Northwind Master Trust.');
    expect(within(days[0]).getAllByTestId('audit-sentence').map((s) => s.textContent)).toContain('An app failed to prove which app it is.');
    // No codes, actors or ids on screen until asked for.
    const text = screen.getByTestId('screen-activity').textContent!;
    expect(text).not.toMatch(/token\.|client:|resource_server:|urn:pei|rpt|\bscope/i);
  });

  it('folds the wallet\'s own reads of a day into one "You viewed your pensions" row with a count', async () => {
    withLog();
    render(<Activity />);
    const days = await screen.findAllByTestId('activity-day');
    const folded = within(days[0]).getAllByTestId('audit-row').filter((r) => r.hasAttribute('data-folded'));
    expect(folded).toHaveLength(1);
    expect(folded[0]).toHaveAttribute('data-folded', '3');
    expect(folded[0]).toHaveTextContent('You viewed your pensions (your wallet read them for you 3 times)');
    // Where the newest of them was: first in the day.
    expect(within(days[0]).getAllByTestId('audit-row')[0]).toBe(folded[0]);
    expect(within(days[0]).getAllByTestId('audit-row')).toHaveLength(5);
    // The count still counts every entry.
    expect(screen.getByTestId('activity-count')).toHaveTextContent('14 entries.');
  });

  it('shows codes, actors and details only with "Show technical details"', async () => {
    withLog();
    const user = userEvent.setup();
    render(<Activity />);
    await screen.findAllByTestId('audit-row');
    expect(screen.queryAllByTestId('audit-technical')).toHaveLength(0);
    await user.click(screen.getByLabelText('Show technical details'));
    const codes = screen.getAllByTestId('audit-technical').map((c) => c.textContent);
    expect(codes).toHaveLength(LOG.length);
    expect(codes).toContain(`#14 · token.rpt_issued · ${OWN} · permissions: [{"resource_id":"${NORTHWIND}","resource_scopes":[]}]`);
    expect(codes.some((c) => c!.startsWith('#5 · token.request_submitted · client:723062ad34a2320bc54bfbd2bf01833e · request_id: r1'))).toBe(true);
  });

  it('says which details a search sent, and where they came from', async () => {
    mockCommands({
      list_audit: [entry(30, DAY1, 'owner', 'identity.disclosed', {
        to: ['http://127.0.0.1:8101', 'http://127.0.0.1:8102'], path: '/find', items: ['name', 'date_of_birth'],
        attested: { issuer: 'http://127.0.0.1:8100', claims: ['given_name', 'family_name', 'birthdate', 'postal_code', 'national_insurance_number'] },
      })],
      verify_audit: { intact: true, entries: 30 },
    });
    render(<Activity />);
    const [row] = await screen.findAllByTestId('audit-row');
    expect(row).toHaveTextContent('Your details were sent to 127.0.0.1:8101 and 127.0.0.1:8102 to look for your pensions.');
    expect(row).toHaveTextContent('As you typed them: name, date of birth.');
    expect(row).toHaveTextContent('From your proof of identity: given name, family name, date of birth, postcode, National Insurance number.');
  });
});

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
  const queries = (calls: ReturnType<typeof withLog>) => callsTo(calls, 'list_audit').map((c) => c.args.query);

  it('asks the service to search the whole log, and says how many of all the entries match', async () => {
    const calls = withLog();
    const user = userEvent.setup();
    render(<Activity />);
    await waitFor(() => expect(screen.getByTestId('activity-count')).toHaveTextContent('14 entries.'));
    expect(screen.getByTestId('activity-count')).toHaveAttribute('role', 'status');

    const pension = screen.getByLabelText('Pension');
    expect(pension).toBe(screen.getByTestId('filter-pension'));
    await waitFor(() => expect(optionLabels(pension)).toContain('Acme Staff Defined Benefit Scheme'));
    expect(optionLabels(pension)).toEqual([
      'All pensions and other events', 'Acme Group Personal Pension', 'Acme Staff Defined Benefit Scheme', 'Northwind Master Trust',
      'Pensions no longer in this wallet',
    ]);

    // By pension: the service finds what names it, by its id or by its PeI.
    await user.selectOptions(pension, 'Acme Staff Defined Benefit Scheme');
    // Until the answer comes, no count: never one for the wrong filter.
    await waitFor(() => expect(screen.getByTestId('activity-count')).toHaveTextContent('6 of 40 entries match.'));
    expect(queries(calls).at(-1)).toEqual({ limit: 200, pension: ACME_DB });
    expect(shownSeqs()).toEqual([11, 8, 7, 6, 5, 3]);

    // ... and by who: "You" is her own doing and her wallet's reads for her.
    const who = screen.getByLabelText('Who');
    await user.selectOptions(who, 'You');
    await waitFor(() => expect(screen.getByTestId('activity-count')).toHaveTextContent('4 of 40 entries match.'));
    expect(queries(calls).at(-1)).toEqual({ limit: 200, pension: ACME_DB, who: 'you' });
    expect(shownSeqs()).toEqual([11, 8, 6, 3]);

    // ... and by kind of event, in the screen's words.
    const what = screen.getByLabelText('What happened');
    await user.selectOptions(what, 'You deleted a record');
    await waitFor(() => expect(shownSeqs()).toEqual([8]));
    expect(queries(calls).at(-1)).toEqual({ limit: 200, pension: ACME_DB, who: 'you', action: 'credential.delete' });

    await user.selectOptions(what, 'You stopped access');
    await waitFor(() => expect(screen.getByTestId('activity-count')).toHaveTextContent('0 of 40 entries match.'));
    expect(screen.queryAllByTestId('audit-row')).toHaveLength(0);
    expect(screen.getByText(/Nothing matches/)).toBeInTheDocument();

    const before = callsTo(calls, 'list_audit').length;
    await user.click(screen.getByRole('button', { name: 'Show everything' }));
    expect(screen.getByTestId('activity-count')).toHaveTextContent('14 entries.');
    expect(callsTo(calls, 'list_audit')).toHaveLength(before);
  });

  it('finds entries about pensions this wallet no longer holds', async () => {
    const calls = withLog();
    const user = userEvent.setup();
    render(<Activity />);
    const pension = await screen.findByTestId('filter-pension');
    await waitFor(() => expect(optionLabels(pension)).toContain('Pensions no longer in this wallet'));
    await user.selectOptions(pension, 'Pensions no longer in this wallet');
    await waitFor(() => expect(shownSeqs()).toEqual([12]));
    expect(queries(calls).at(-1)).toEqual({ limit: 200, pension: 'gone' });
  });

  it('offers each app and provider by name, and kinds of event in words', async () => {
    const calls = withLog();
    const user = userEvent.setup();
    render(<Activity />);
    const who = await screen.findByTestId('filter-who');
    await waitFor(() => expect(optionLabels(who)).toContain('App: Family dashboard'));
    // The wallet's own reads are hers: not an app to pick.
    expect(optionLabels(who)).toEqual([
      'Everyone', 'You', 'Any app', 'App: Family dashboard', 'Any pension provider', 'Provider: Acme Pensions', 'Someone unknown',
    ]);
    await user.selectOptions(who, 'App: Family dashboard');
    await waitFor(() => expect(shownSeqs()).toEqual([7, 5]));
    expect(queries(calls).at(-1)).toEqual({ limit: 200, who: FAMILY });
    await user.selectOptions(who, 'Someone unknown');
    await waitFor(() => expect(shownSeqs()).toEqual([10]));
    expect(queries(calls).at(-1)).toEqual({ limit: 200, who: 'others' });
    await user.selectOptions(who, 'Everyone');

    const what = screen.getByTestId('filter-action');
    const labels = optionLabels(what);
    expect(labels).toContain('Access requested');
    expect(labels).toContain('You said yes to a request');
    expect(labels.join(' ')).not.toMatch(/\w\.\w/);
  });

  it('merges what several codes of one label find, newest first', async () => {
    const extra = [entry(21, DAY2, 'anonymous', 'token.used_ticket', {}), entry(20, DAY2, 'anonymous', 'token.unknown_ticket', {})];
    const all = [...extra, ...LOG];
    const calls = withLog({
      list_audit: (a: Record<string, unknown>) => {
        const q = a.query as AuditQuery;
        return all.filter((e) => !q.action || e.action === q.action);
      },
    });
    const user = userEvent.setup();
    render(<Activity />);
    const what = await screen.findByTestId('filter-action');
    await waitFor(() => expect(optionLabels(what)).toContain('An attempt to get access was refused'));
    await user.selectOptions(what, 'An attempt to get access was refused');
    await waitFor(() => expect(shownSeqs()).toEqual([21, 20]));
    expect(queries(calls).slice(-2).map((q) => (q as AuditQuery).action).sort()).toEqual(['token.unknown_ticket', 'token.used_ticket']);
  });
});
