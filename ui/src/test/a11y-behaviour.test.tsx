import { act, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import type { Channel } from '@tauri-apps/api/core';
import { App } from '../App';
import { DateInput, NO_DATE, dateProblem, isoToParts, partsToIso, type DateParts } from '../components';
import { IncomeChart, PALETTE, buildSeries, coloursFor } from '../IncomeChart';
import { CreateWallet } from '../screens/CreateWallet';
import { Credentials } from '../screens/Credentials';
import { Requests } from '../screens/Requests';
import { SettingsScreen } from '../screens/Settings';
import { Sharing } from '../screens/Sharing';
import { Unlock } from '../screens/Unlock';
import { callsTo, mockCommands, sample } from './ipc';
import type { AppState, Client, Credential, MyPensions, OwnerEvent, PendingRequest, PensionOk } from '../api';
import { useState } from 'react';

const base: AppState = {
  wallet_exists: true, unlocked: true, data_dir: '/d',
  settings: { listen: '127.0.0.1:8471', public_issuer: null, backups: { daily: false, keep: 7 }, start_at_login: true, unlock_at_login: false },
  server: { issuer: 'http://127.0.0.1:8471', owner_api: 'x', listen: '127.0.0.1:8471', pid: 7, notifies_owner: false },
};

const [req] = sample<PendingRequest[]>('pending');
const acme: Client = {
  client_id: 'https://pensions.acme.example', client_name: 'Acme Pensions', protection: 'pending', scope: 'uma_protection',
  claims_redirect_uris: [], created_at: 1795821417, registry: { listed: false },
};

/** The app, unlocked, on its Pensions screen; `send` pushes an owner event. */
async function startApp(handlers: Record<string, unknown> = {}) {
  let channel: Channel<OwnerEvent> | null = null;
  const calls = mockCommands({
    app_state: base, list_requests: [], list_clients: [],
    watch_requests: (a: Record<string, unknown>) => { channel = a.onEvent as Channel<OwnerEvent>; return null; },
    my_pensions: { pensions: [], totals: { estimated_annual_income: 0, dc_pots: 0 } },
    list_grants: [], get_identity: null, list_providers: [], list_resources: [],
    list_audit: [], verify_audit: { intact: true, entries: 0 },
    ...handlers,
  });
  const user = userEvent.setup();
  render(<App />);
  await screen.findByTestId('screen-pensions');
  await waitFor(() => expect(channel).not.toBeNull());
  const send = async (e: OwnerEvent) => { await act(async () => { channel!.onmessage(e); }); };
  return { calls, user, send };
}

describe('focus on a change of screen', () => {
  it('goes to the new screen\'s heading, on the first screen too', async () => {
    const { user } = await startApp();
    await waitFor(() => expect(screen.getByRole('heading', { level: 1, name: 'My pensions' })).toHaveFocus());
    await user.click(screen.getByTestId('nav-activity'));
    const heading = await screen.findByRole('heading', { level: 1, name: 'Activity' });
    expect(heading).toHaveFocus();
    // Focusable by script only: no extra stop in the Tab order.
    expect(heading).toHaveAttribute('tabindex', '-1');
    await user.click(screen.getByTestId('nav-requests'));
    expect(screen.getByRole('heading', { level: 1, name: 'Requests' })).toHaveFocus();
  });

  it('has a skip link, first in the page, that goes to the main content', async () => {
    const { user } = await startApp();
    const skip = screen.getByTestId('skip-link');
    expect(skip).toHaveTextContent('Skip to main content');
    expect(skip).toHaveAttribute('href', '#main-content');
    (document.activeElement as HTMLElement).blur();
    await user.tab();
    expect(skip).toHaveFocus();
    await user.keyboard('{Enter}');
    expect(screen.getByRole('main')).toHaveFocus();
  });
});

describe('the live region', () => {
  it('says when a new request arrives and when a provider starts waiting, but not what was already there', async () => {
    let pending: PendingRequest[] = [req];
    let clients: Client[] = [];
    const { send } = await startApp({ list_requests: () => pending, list_clients: () => clients });
    const announcer = screen.getByTestId('announcer');
    expect(announcer).toHaveAttribute('aria-live', 'polite');
    await waitFor(() => expect(screen.getByTestId('requests-badge')).toHaveTextContent('1'));
    expect(announcer).toHaveTextContent('');

    const carol: PendingRequest = { ...req, id: 'r2', client_name: 'Carol the planner' };
    pending = [req, carol];
    await send({ type: 'request_submitted', request: carol });
    await waitFor(() => expect(announcer).toHaveTextContent('New request from an app calling itself “Carol the planner”.'));

    const listed: PendingRequest = { ...req, id: 'r3', registry: { listed: true, name: 'Adviser Platform Ltd' } };
    pending = [req, carol, listed];
    await send({ type: 'request_submitted', request: listed });
    await waitFor(() => expect(announcer).toHaveTextContent('New request from Adviser Platform Ltd.'));

    clients = [acme];
    await send({ type: 'resource_server_waiting', client_id: acme.client_id, client_name: 'Acme Pensions' });
    await waitFor(() => expect(announcer).toHaveTextContent('A pension provider is waiting for your answer.'));
    expect(announcer).not.toHaveAttribute('role', 'alert');
  });

  it('is the only live region the shell adds, and says nothing when the count falls', async () => {
    let pending: PendingRequest[] = [req];
    const { send } = await startApp({ list_requests: () => pending });
    await waitFor(() => expect(screen.getByTestId('requests-badge')).toBeInTheDocument());
    pending = [];
    await send({ type: 'request_submitted', request: req });
    await waitFor(() => expect(screen.queryByTestId('requests-badge')).not.toBeInTheDocument());
    expect(screen.getByTestId('announcer')).toHaveTextContent('');
    expect(document.querySelectorAll('[aria-live]')).toHaveLength(1);
  });
});

describe('the sidebar footer', () => {
  it('says in a sentence whether the wallet can receive requests, with the address under technical details', async () => {
    await startApp();
    const status = screen.getByTestId('server-status');
    expect(status).toHaveTextContent('Your wallet is on and can receive requests');
    expect(status).not.toHaveTextContent(/Serving at/);
    expect(within(status).getByText('http://127.0.0.1:8471').closest('details')).not.toBeNull();
  });

  it('says plainly when the server is not running', async () => {
    mockCommands({
      app_state: { ...base, server: null }, list_requests: [], list_clients: [], watch_requests: null,
      my_pensions: { pensions: [], totals: { estimated_annual_income: 0, dc_pots: 0 } },
      list_grants: [], get_identity: null, list_providers: [], list_resources: [],
    });
    render(<App />);
    expect(await screen.findByTestId('server-status')).toHaveTextContent('Your wallet’s server is not running');
  });

  it('changes the text size, keeps it for next time and applies it when the app starts', async () => {
    const { user } = await startApp();
    const group = screen.getByRole('group', { name: 'Text size' });
    expect(within(group).getByLabelText('Normal')).toBeChecked();
    await user.click(within(group).getByLabelText('Large'));
    expect(document.documentElement.style.fontSize).toBe('125%');
    await user.click(within(group).getByLabelText('Larger'));
    expect(document.documentElement.style.fontSize).toBe('150%');
    expect(localStorage.getItem('pension-wallet.text-size')).toBe('larger');
    await user.click(within(group).getByLabelText('Normal'));
    expect(document.documentElement.style.fontSize).toBe('');

    localStorage.setItem('pension-wallet.text-size', 'large');
    document.documentElement.style.fontSize = '';
    mockCommands({ app_state: { ...base, unlocked: false, server: null } });
    render(<App />);
    await screen.findAllByTestId('screen-unlock');
    // Applied on the locked screen already, before the sidebar is there.
    expect(document.documentElement.style.fontSize).toBe('125%');
  });
});

describe('focus after an action removes what had it', () => {
  it('approving a request moves focus to a receipt that says what was shared, with whom and until when', async () => {
    const now = 1_800_000_000_000;
    vi.spyOn(Date, 'now').mockReturnValue(now);
    mockCommands({ list_resources: sample('resources'), approve_request: { ...req, status: 'approved' } });
    const user = userEvent.setup();
    const refresh = vi.fn(async () => {});
    render(<Requests pending={[req]} loaded error={null} refresh={refresh} />);
    const card = screen.getByTestId('request-card');
    await within(card).findByText('Acme Staff Defined Benefit Scheme');
    // Nothing is ticked for her: she ticks what she shares.
    for (const box of within(card).getAllByTestId('share-scope')) await user.click(box);
    await user.click(within(card).getByTestId('expiry-30d'));
    await user.click(within(card).getByTestId('approve-request'));
    const receipt = await screen.findByTestId('request-decided');
    expect(receipt).toHaveAttribute('role', 'status');
    expect(receipt).toHaveTextContent(
      'You shared Acme Staff Defined Benefit Scheme (details, values) with “Bob the adviser” until',
    );
    expect(receipt).toHaveTextContent('You can stop sharing at any time in Sharing.');
    expect(receipt).toHaveFocus();
    vi.restoreAllMocks();
  });

  it('denying a request moves focus to what was decided', async () => {
    mockCommands({ list_resources: sample('resources'), deny_request: { ...req, status: 'denied' } });
    const user = userEvent.setup();
    render(<Requests pending={[req]} loaded error={null} refresh={vi.fn(async () => {})} />);
    await user.click(screen.getByTestId('deny-request'));
    const said = await screen.findByTestId('request-decided');
    expect(said).toHaveTextContent('You did not share anything with “Bob the adviser”.');
    expect(said).toHaveFocus();
  });

  it('letting a provider in moves focus to what was decided; going back from refusing returns to Refuse', async () => {
    let clients = [acme];
    const { user } = await startApp({
      list_clients: () => clients,
      approve_client: () => { clients = []; return { client_id: acme.client_id, protection: 'approved' }; },
    });
    await user.click(screen.getByTestId('nav-requests'));
    const card = await screen.findByTestId('provider-waiting');
    await user.click(within(card).getByTestId('provider-refuse'));
    // The question replaced the button: it has focus now.
    expect(within(card).getByRole('group', { name: /^Refuse Acme Pensions\?/ })).toHaveFocus();
    await user.click(within(card).getByTestId('provider-refuse-cancel'));
    await waitFor(() => expect(within(card).getByTestId('provider-refuse')).toHaveFocus());
    await user.click(within(card).getByTestId('provider-approve'));
    const said = await screen.findByTestId('provider-decided');
    await waitFor(() => expect(said).toHaveFocus());
    await waitFor(() => expect(screen.queryByTestId('provider-waiting')).not.toBeInTheDocument());
    expect(said).toHaveFocus();
  });

  it('revoking access and removing a rule in Sharing move focus to what happened; keeping a rule goes back to Remove', async () => {
    let grants = sample<{ id: string }[]>('grants');
    let policies = sample<{ id: string }[]>('policies');
    mockCommands({
      list_resources: sample('resources'), list_policies: () => policies, list_grants: () => grants, list_clients: sample('clients'),
      list_receipts: [], list_providers: [],
      revoke_grant: (a: Record<string, unknown>) => { grants = grants.filter((g) => g.id !== a.id); return { id: a.id }; },
      remove_policy: (a: Record<string, unknown>) => { const p = policies.find((x) => x.id === a.id); policies = policies.filter((x) => x.id !== a.id); return p; },
    });
    const user = userEvent.setup();
    render(<Sharing />);
    const sections = await screen.findAllByTestId('sharing-pension');
    const acmeDb = sections.find((s) => s.textContent!.includes('Acme Staff Defined Benefit Scheme'))!;
    const family = within(acmeDb).getAllByTestId('grant-row').find((g) => g.textContent!.includes('Family dashboard'))!;
    await user.click(within(family).getByTestId('revoke-grant'));
    const done = await within(acmeDb).findByTestId('sharing-done');
    expect(done).toHaveTextContent('You stopped “Family dashboard” seeing Acme Staff Defined Benefit Scheme.');
    await waitFor(() => expect(done).toHaveFocus());

    const [rule] = within(acmeDb).getAllByTestId('policy-row');
    const remove = within(rule).getByTestId('rule-remove');
    await user.click(remove);
    expect(within(rule).getByTestId('rule-remove-confirm-box')).toHaveFocus();
    await user.click(within(rule).getByRole('button', { name: 'Keep it' }));
    await waitFor(() => expect(remove).toHaveFocus());
    await user.click(remove);
    await user.click(within(rule).getByTestId('rule-remove-confirm'));
    const removed = await within(acmeDb).findByTestId('sharing-done');
    await waitFor(() => expect(removed).toHaveTextContent(/^You removed the rule/));
    await waitFor(() => expect(removed).toHaveFocus());
  });

  it('deleting a record moves focus to what was deleted; keeping it goes back to Delete', async () => {
    let list = sample<Credential[]>('credentials');
    mockCommands({
      list_credentials: () => list, wallet_did: { did: 'did:key:z' },
      delete_credential: (a: Record<string, unknown>) => { list = list.filter((c) => c.id !== a.id); return null; },
    });
    const user = userEvent.setup();
    render(<Credentials />);
    const [row] = await screen.findAllByTestId('credential-row');
    const del = within(row).getByTestId('credential-delete');
    await user.click(del);
    await user.click(screen.getByRole('button', { name: 'Keep it' }));
    await waitFor(() => expect(del).toHaveFocus());
    await user.click(del);
    await user.click(screen.getByTestId('credential-delete-confirm'));
    const said = await screen.findByTestId('credential-deleted');
    await waitFor(() => expect(screen.getAllByTestId('credential-row')).toHaveLength(2));
    expect(said).toHaveFocus();
  });

  it('removing a provider in Settings moves focus to what was removed', async () => {
    let providers = [{ url: 'https://a.example', name: 'Acme Pensions', added_at: 1 }];
    mockCommands({
      list_providers: () => providers, get_identity: null, registry_summary: { trusted_key: null, registry: null, expired: false },
      list_trusted_issuers: [], list_backups: [],
      remove_provider: () => { providers = []; return null; },
    });
    const user = userEvent.setup();
    render(<SettingsScreen state={base} onState={vi.fn()} />);
    await user.click(await screen.findByRole('button', { name: 'Remove Acme Pensions' }));
    // The question that replaced Remove takes focus; the answer moves it on.
    await waitFor(() => expect(screen.getByTestId('provider-remove-confirm')).toHaveFocus());
    await user.click(screen.getByTestId('provider-confirm-remove'));
    const said = await screen.findByTestId('provider-removed');
    expect(said).toHaveTextContent('You removed Acme Pensions from your providers.');
    await screen.findByTestId('providers-empty');
    expect(said).toHaveFocus();
  });
});

describe('the error summary', () => {
  it('lists every problem at the top, takes focus, links to each field, and each field says its own problem', async () => {
    const calls = mockCommands({ create_wallet: base });
    const user = userEvent.setup();
    render(<CreateWallet onDone={vi.fn()} />);
    await user.type(document.getElementById('passphrase')!, 'short');
    await user.click(screen.getByTestId('create-wallet'));
    const summary = screen.getByTestId('create-error');
    expect(summary).toHaveFocus();
    expect(within(summary).getByRole('heading', { name: 'There is a problem' })).toBeInTheDocument();
    const links = within(summary).getAllByRole('link');
    expect(links.map((l) => [l.textContent, l.getAttribute('href')])).toEqual([
      ['The passphrase must be at least 8 characters long', '#passphrase'],
      ['Enter your first name', '#given-name'],
      ['Enter your last name', '#family-name'],
      ['Enter your date of birth', '#date-of-birth'],
    ]);
    for (const [id, message] of [['passphrase', 'The passphrase must be at least 8 characters long'], ['given-name', 'Enter your first name']]) {
      const field = document.getElementById(id)!;
      expect(field).toHaveAttribute('aria-invalid', 'true');
      expect(field.getAttribute('aria-describedby')).toContain(`${id}-error`);
      expect(document.getElementById(`${id}-error`)).toHaveTextContent(`Error: ${message}`);
    }
    // The date's group says its problem; all three boxes are marked.
    const dob = screen.getByRole('group', { name: 'Date of birth' });
    expect(dob).toHaveAccessibleDescription('For example, 27 3 1975 Error: Enter your date of birth');
    for (const box of within(dob).getAllByRole('textbox')) expect(box).toHaveAttribute('aria-invalid', 'true');

    await user.click(links[1]);
    expect(document.getElementById('given-name')).toHaveFocus();
    expect(callsTo(calls, 'create_wallet')).toHaveLength(0);

    // A second attempt with the same problems brings focus back to the summary.
    await user.click(screen.getByTestId('create-wallet'));
    expect(screen.getByTestId('create-error')).toHaveFocus();
  });

  it('in the rule builder, lists all problems at once, each linked to its field', async () => {
    mockCommands({
      list_resources: sample('resources'), list_policies: [], list_grants: [], list_clients: sample('clients'), list_receipts: [],
      list_providers: [],
    });
    const user = userEvent.setup();
    render(<Sharing />);
    const sections = await screen.findAllByTestId('sharing-pension');
    const section = sections.find((s) => s.textContent!.includes('Acme Staff Defined Benefit Scheme'))!;
    await user.click(within(section).getByTestId('add-policy-open'));
    await user.type(within(section).getByTestId('rule-valid-from-month'), '13');
    await user.click(within(section).getByTestId('rule-save'));
    const summary = within(section).getByTestId('rule-error');
    expect(summary).toHaveFocus();
    const links = within(summary).getAllByRole('link');
    expect(links.map((l) => l.textContent)).toEqual(['Enter the email address of the person.', 'The start date must include a day and a year']);
    expect(links[1].getAttribute('href')).toBe(`#${within(section).getByTestId('rule-valid-from').id}`);
    await user.click(links[0]);
    expect(within(section).getByTestId('rule-email')).toHaveFocus();
    // Cancelling puts focus back on the button that opened the form.
    await user.click(within(section).getByRole('button', { name: 'Cancel' }));
    await waitFor(() => expect(within(section).getByTestId('add-policy-open')).toHaveFocus());
  });
});

describe('the date input', () => {
  function Harness({ onValue }: { onValue: (p: DateParts) => void }) {
    const [v, setV] = useState<DateParts>(NO_DATE);
    return <DateInput id="when" legend="When it starts" hint="For example, 27 3 2027" testId="when" value={v} onChange={(p) => { setV(p); onValue(p); }} />;
  }

  it('has Day, Month and Year boxes in a fieldset with a legend and a hint under it, with no placeholders', async () => {
    const onValue = vi.fn();
    const user = userEvent.setup();
    render(<Harness onValue={onValue} />);
    const group = screen.getByRole('group', { name: 'When it starts' });
    expect(group.tagName).toBe('FIELDSET');
    expect(group).toHaveAccessibleDescription('For example, 27 3 2027');
    const boxes = ['Day', 'Month', 'Year'].map((l) => within(group).getByLabelText(l));
    for (const b of boxes) {
      expect(b).toHaveAttribute('inputmode', 'numeric');
      expect(b).not.toHaveAttribute('placeholder');
    }
    expect(boxes.map((b) => b.id)).toEqual(['when', 'when-month', 'when-year']);
    await user.type(boxes[0], '27');
    await user.type(boxes[1], '3');
    await user.type(boxes[2], '2027');
    expect(partsToIso(onValue.mock.lastCall![0])).toBe('2027-03-27');
  });

  it('turns the boxes into the same ISO date as before, and back', () => {
    expect(partsToIso({ day: '12', month: '4', year: '1975' })).toBe('1975-04-12');
    expect(partsToIso({ day: '31', month: '2', year: '2027' })).toBeNull();
    expect(partsToIso({ day: '1', month: '1', year: '27' })).toBeNull();
    expect(isoToParts('1975-04-12')).toEqual({ day: '12', month: '4', year: '1975' });
    expect(isoToParts('')).toEqual(NO_DATE);
  });

  it('words its problems as GOV.UK does and marks only the boxes at fault', () => {
    const words = { name: 'Date of birth', enter: 'Enter your date of birth', past: true };
    expect(dateProblem(NO_DATE, 'dob', words)).toMatchObject({ message: 'Enter your date of birth', field: 'dob' });
    expect(dateProblem(NO_DATE, 'dob', { name: 'The start date' })).toBeNull();
    expect(dateProblem({ day: '12', month: '', year: '1975' }, 'dob', words))
      .toEqual({ field: 'dob-month', message: 'Date of birth must include a month', date: { id: 'dob', parts: ['month'] } });
    expect(dateProblem({ day: '12', month: '4', year: '75' }, 'dob', words)).toMatchObject({ message: 'Year must include 4 numbers', field: 'dob-year' });
    expect(dateProblem({ day: '31', month: '2', year: '1975' }, 'dob', words)).toMatchObject({ message: 'Date of birth must be a real date' });
    expect(dateProblem({ day: '1', month: '1', year: '2999' }, 'dob', words)).toMatchObject({ message: 'Date of birth must be in the past' });
    expect(dateProblem({ day: '12', month: '4', year: '1975' }, 'dob', words)).toBeNull();
  });

  it('sends the date of birth typed box by box as the same YYYY-MM-DD string', async () => {
    const calls = mockCommands({ create_wallet: base });
    const user = userEvent.setup();
    render(<CreateWallet onDone={vi.fn()} />);
    await user.type(document.getElementById('passphrase')!, 'correct horse');
    await user.type(document.getElementById('passphrase-confirm')!, 'correct horse');
    await user.type(screen.getByLabelText('First name'), 'Alice');
    await user.type(screen.getByLabelText('Last name'), 'Archer');
    const dob = within(screen.getByRole('group', { name: 'Date of birth' }));
    await user.type(dob.getByLabelText('Day'), '7');
    await user.type(dob.getByLabelText('Month'), '09');
    await user.type(dob.getByLabelText('Year'), '1970');
    await user.click(screen.getByTestId('create-wallet'));
    await waitFor(() => expect(callsTo(calls, 'create_wallet')).toHaveLength(1));
    expect((callsTo(calls, 'create_wallet')[0].args.identity as { date_of_birth: string }).date_of_birth).toBe('1970-09-07');
  });
});

describe('passphrase safety nets', () => {
  it('shows and hides the passphrase with a real toggle button', async () => {
    const user = userEvent.setup();
    render(<Unlock state={{ ...base, unlocked: false, server: null }} onDone={vi.fn()} />);
    const field = document.getElementById('unlock-passphrase')!;
    const toggle = screen.getByRole('button', { name: 'Show passphrase' });
    expect(toggle).toHaveAttribute('aria-pressed', 'false');
    expect(toggle).toHaveAttribute('aria-controls', 'unlock-passphrase');
    expect(field).toHaveAttribute('type', 'password');
    await user.click(toggle);
    expect(toggle).toHaveAttribute('aria-pressed', 'true');
    expect(field).toHaveAttribute('type', 'text');
    await user.click(toggle);
    expect(field).toHaveAttribute('type', 'password');
  });

  it('says what a forgotten passphrase costs, and what it does not', () => {
    mockCommands({});
    const { unmount } = render(<CreateWallet onDone={vi.fn()} />);
    const said = 'Your pensions stay with your providers; you would lose your sharing choices and history in this wallet. Keep a backup.';
    expect(screen.getByTestId('forgotten-passphrase')).toHaveTextContent(said);
    // No question about which details were checked: that is the identity service's to say.
    expect(screen.queryByText(/have been verified/i)).not.toBeInTheDocument();
    unmount();
    render(<Unlock state={{ ...base, unlocked: false, server: null }} onDone={vi.fn()} />);
    expect(screen.getByText('Forgotten your passphrase?')).toBeInTheDocument();
    expect(screen.getByTestId('forgotten-passphrase')).toHaveTextContent(said);
  });
});

describe('the income chart', () => {
  const pensions = () => sample<MyPensions>('pensions').pensions as PensionOk[];

  it('gives each pension the same colour whatever order they come in', () => {
    const forward = buildSeries(pensions(), '1975-04-12');
    const backward = buildSeries([...pensions()].reverse(), '1975-04-12');
    const colour = (list: typeof forward) => Object.fromEntries(list.map((s) => [s.label, s.colour]));
    expect(colour(backward)).toEqual(colour(forward));
    expect(new Set(forward.map((s) => s.colour)).size).toBe(forward.length);
    for (const s of forward) expect(PALETTE).toContain(s.colour);
    // Two identifiers that land on the same colour still get different ones.
    const clash = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
    expect(new Set(coloursFor(clash).values()).size).toBe(8);
  });

  it('parts stacked blocks with white edges, and each legend entry has its pension\'s colour', () => {
    render(<IncomeChart pensions={pensions()} dateOfBirth="1975-04-12" />);
    const chart = screen.getByTestId('income-chart');
    for (const rect of chart.querySelectorAll('rect')) {
      expect(rect).toHaveAttribute('stroke', '#ffffff');
      expect(rect).toHaveAttribute('stroke-width', '1');
    }
    const series = screen.getAllByTestId('chart-series');
    const legend = screen.getAllByTestId('chart-legend-item');
    expect(legend.map((l) => [l.textContent!.trim(), l.getAttribute('data-colour')]))
      .toEqual(series.map((s) => [s.getAttribute('data-series'), s.getAttribute('data-colour')]));
    for (const l of legend) expect(l.querySelector('rect')).toHaveAttribute('fill', l.getAttribute('data-colour'));
  });

  it('shows the figures as a table of ages and pensions, with totals', async () => {
    const user = userEvent.setup();
    render(<IncomeChart pensions={pensions()} dateOfBirth="1975-04-12" />);
    await user.click(screen.getByRole('button', { name: 'Show as table' }));
    const table = screen.getByRole('table', { name: 'Estimated yearly income from each pension, by age' });
    expect(screen.queryByTestId('income-chart')).not.toBeInTheDocument();
    const headers = within(table).getAllByRole('columnheader').map((h) => h.textContent!.trim());
    expect(headers[0]).toBe('From age');
    expect(headers[headers.length - 1]).toBe('Total a year');
    expect(headers.slice(1, -1).sort()).toEqual(['Acme Group Personal Pension', 'Acme Staff Defined Benefit Scheme', 'Northwind Master Trust']);
    const rows = within(table).getAllByTestId('income-table-row');
    // Each row is headed by its age; the last total is the whole income.
    expect(within(rows[0]).getByRole('rowheader')).toHaveTextContent('65');
    expect(rows[rows.length - 1]).toHaveTextContent('£16,750');
    await user.click(screen.getByRole('button', { name: 'Show as chart' }));
    expect(screen.getByTestId('income-chart')).toBeInTheDocument();
  });
});
