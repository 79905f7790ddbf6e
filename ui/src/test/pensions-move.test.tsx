import { render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { Pensions } from '../screens/Pensions';
import { callsTo, deferred, mockCommands, sample, type Handler } from './ipc';
import type { Accepted, MyPensions } from '../api';

const ACME = 'http://127.0.0.1:38341';
const NORTHWIND = 'http://127.0.0.1:44935';
/** The Acme Staff DB pension's id at this wallet (from resources.json). */
/** The provider's own id for that pension: what a move names. */
const ACME_DB_ASSET = 'a1c0ffee-0001-4000-8000-000000000001';
const ACME_DB_PEI = 'urn:pei:3f2a6c1e-9b0d-4e57-8a61-0c2d9e7b4a11:a1c0ffee-0001-4000-8000-000000000001';
const OTHER = 'https://wallet.example.org';
const CODE = 'eyJhbGciOiJFZERTQSJ9.eyJpc3MiOiJodHRwczovL3dhbGxldC5leGFtcGxlLm9yZyJ9.c2ln';

/** The wallet as the screen sees it: `first` is the list of pensions at first,
 * `later` the list every time after (after a move). */
function withPensions(move: Handler | unknown, first: MyPensions = sample<MyPensions>('pensions'), later: MyPensions = first) {
  let answers = 0;
  return mockCommands({
    my_pensions: () => structuredClone(answers++ === 0 ? first : later),
    list_grants: sample('grants'),
    list_clients: sample('clients'),
    get_identity: sample('identity'),
    list_resources: sample('resources'),
    list_providers: [{ url: ACME, name: 'Acme Pensions', added_at: 1 }, { url: NORTHWIND, name: null, added_at: 1 }],
    move_pension: move,
  });
}

const all = () => sample<MyPensions>('pensions');
const withoutAcmeDb = (): MyPensions => { const p = all(); return { ...p, pensions: p.pensions.filter((x) => x.pei !== ACME_DB_PEI) }; };

async function acmeDbCard() {
  const cards = await screen.findAllByTestId('pension-card');
  return cards.find((c) => c.textContent!.includes('Acme Staff Defined Benefit Scheme'))!;
}

async function fillAndMove(card: HTMLElement, to = OTHER, code = CODE) {
  const user = userEvent.setup();
  await user.click(within(card).getByTestId('move-open'));
  // Real labels the owner reads, tied to their fields.
  await user.type(within(card).getByLabelText('Address of the other wallet'), to);
  await user.type(within(card).getByLabelText('The code the other wallet gave you for this provider'), code);
  await user.click(within(card).getByTestId('move-submit'));
  return user;
}

const moved: Accepted = {
  resource_id: 'r-at-other', pei: ACME_DB_PEI, authorization_server: OTHER,
  credential: { id: 'c-new', issuer: 'did:key:z6Mkprovider', status: 'active' }, credential_error: null,
};

describe('pensions: move to another wallet', () => {
  it('explains the move first, then moves with the card\'s provider and pension and refreshes the list', async () => {
    const calls = withPensions(moved, all(), withoutAcmeDb());
    render(<Pensions onGoto={vi.fn()} />);
    const card = await acmeDbCard();
    const user = userEvent.setup();
    const open = within(card).getByTestId('move-open');
    expect(open.tagName).toBe('BUTTON');
    expect(open).toHaveAttribute('aria-expanded', 'false');
    await user.click(open);
    expect(open).toHaveAttribute('aria-expanded', 'true');
    const form = within(card).getByRole('form', { name: /Move Acme Staff Defined Benefit Scheme to another wallet/ });
    expect(form).toHaveTextContent(/the other wallet decides who can see this pension/);
    expect(form).toHaveTextContent(/this wallet no longer does/);
    expect(form).toHaveTextContent(/Acme Pensions will issue a new record of the pension/);
    // No protocol words in what the owner reads.
    expect(form.textContent).not.toMatch(/UMA|OAuth|assertion|DID|issuer/i);

    await user.type(within(card).getByLabelText('Address of the other wallet'), `  ${OTHER} `);
    await user.type(within(card).getByLabelText('The code the other wallet gave you for this provider'), CODE);
    await user.click(within(card).getByTestId('move-submit'));

    const done = await screen.findByTestId('move-done');
    expect(done).toHaveAttribute('role', 'status');
    expect(done).toHaveTextContent(/Acme Staff Defined Benefit Scheme has moved to the other wallet/);
    expect(done).toHaveTextContent(/Acme Pensions has issued a new record of it/);
    expect(done).not.toHaveTextContent(/could not be collected/);
    expect(callsTo(calls, 'move_pension')).toHaveLength(1);
    expect(callsTo(calls, 'move_pension')[0].args).toEqual({ provider: ACME, resourceId: ACME_DB_ASSET, to: OTHER, assertion: CODE });

    // The list is asked again, and the moved pension is gone from it; the message stays.
    await waitFor(() => expect(screen.getAllByTestId('pension-card')).toHaveLength(2));
    expect(callsTo(calls, 'my_pensions')).toHaveLength(2);
    expect(screen.queryByText('Acme Staff Defined Benefit Scheme', { selector: 'h3' })).not.toBeInTheDocument();
    expect(screen.getByTestId('move-done')).toHaveTextContent(/has moved/);
    await waitFor(() => expect(screen.getByTestId('move-done')).toHaveFocus());
  });

  it('says plainly when the move happened but the provider\'s new record could not be collected', async () => {
    withPensions({ ...moved, credential: null, credential_error: 'the provider did not answer' }, all(), withoutAcmeDb());
    render(<Pensions onGoto={vi.fn()} />);
    await fillAndMove(await acmeDbCard());
    const done = await screen.findByTestId('move-done');
    expect(done).toHaveTextContent(/Acme Staff Defined Benefit Scheme has moved to the other wallet/);
    expect(done).toHaveTextContent(/The move went through, but the new record of this pension from Acme Pensions could not be collected: the provider did not answer/);
    expect(done).not.toHaveTextContent(/has issued a new record/);
  });

  it('shows why a move failed on that card, keeps what was typed and does not reload', async () => {
    const calls = withPensions(() => { throw { kind: 'provider_failed', message: 'Acme Pensions refused: the code has expired' }; });
    render(<Pensions onGoto={vi.fn()} />);
    const card = await acmeDbCard();
    await fillAndMove(card);
    const alert = await within(card).findByRole('alert');
    expect(alert).toHaveTextContent('The pension was not moved: Acme Pensions refused: the code has expired');
    expect(screen.queryByTestId('move-done')).not.toBeInTheDocument();
    expect(within(card).getByTestId('move-to')).toHaveValue(OTHER);
    expect(within(card).getByTestId('move-code')).toHaveValue(CODE);
    expect(callsTo(calls, 'my_pensions')).toHaveLength(1);
    expect(screen.getAllByTestId('pension-card')).toHaveLength(3);
  });

  it('shows progress while moving and cannot be sent twice', async () => {
    const answer = deferred<Accepted>();
    const calls = withPensions(() => answer.promise, all(), withoutAcmeDb());
    render(<Pensions onGoto={vi.fn()} />);
    const card = await acmeDbCard();
    await fillAndMove(card);
    expect(within(card).getByTestId('move-submit')).toBeDisabled();
    expect(within(card).getByRole('status')).toHaveTextContent(/Moving Acme Staff Defined Benefit Scheme/);
    answer.resolve(moved);
    expect(await screen.findByTestId('move-done')).toBeInTheDocument();
    expect(callsTo(calls, 'move_pension')).toHaveLength(1);
  });

  it('asks for both the address and the code before sending anything', async () => {
    const calls = withPensions(moved);
    render(<Pensions onGoto={vi.fn()} />);
    const card = await acmeDbCard();
    const user = userEvent.setup();
    await user.click(within(card).getByTestId('move-open'));
    await user.click(within(card).getByTestId('move-submit'));
    expect(within(card).getByRole('alert')).toHaveTextContent('Enter the address of the other wallet.');
    await user.type(within(card).getByTestId('move-to'), OTHER);
    await user.click(within(card).getByTestId('move-submit'));
    expect(within(card).getByRole('alert')).toHaveTextContent('Enter the code the other wallet gave you for Acme Pensions.');
    expect(callsTo(calls, 'move_pension')).toHaveLength(0);
  });

  it('offers the move on a pension that could not be read too, with that pension\'s provider and id', async () => {
    const data = all();
    data.pensions[0] = { resource_id: 'r-broken', provider: NORTHWIND, provider_resource_id: 'broken-asset', pei: 'urn:pei:broken', match_status: null, error: 'provider unreachable' };
    const calls = withPensions({ ...moved, pei: 'urn:pei:broken' }, data, { ...data, pensions: data.pensions.slice(1) });
    render(<Pensions onGoto={vi.fn()} />);
    const cards = await screen.findAllByTestId('pension-card');
    const broken = cards.find((c) => within(c).queryByTestId('pension-error'))!;
    expect(within(broken).getByTestId('move-open')).toBeInTheDocument();
    await fillAndMove(broken);
    expect(await screen.findByTestId('move-done')).toHaveTextContent(/has moved to the other wallet/);
    expect(callsTo(calls, 'move_pension')[0].args).toEqual({ provider: NORTHWIND, resourceId: 'broken-asset', to: OTHER, assertion: CODE });
    await waitFor(() => expect(screen.getAllByTestId('pension-card')).toHaveLength(2));
  });

  it('every card has its own move, and a pension that moved away leaves the empty list with the message', async () => {
    const only = all();
    only.pensions = only.pensions.filter((x) => x.pei === ACME_DB_PEI);
    withPensions(moved, only, { ...only, pensions: [] });
    render(<Pensions onGoto={vi.fn()} />);
    const [card] = await screen.findAllByTestId('pension-card');
    expect(within(card).getAllByTestId('move-open')).toHaveLength(1);
    await fillAndMove(card);
    expect(await screen.findByTestId('pensions-empty')).toBeInTheDocument();
    expect(screen.getByTestId('move-done')).toHaveTextContent(/Acme Staff Defined Benefit Scheme has moved/);
  });
});
