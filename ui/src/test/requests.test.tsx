import { act, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { Requests } from '../screens/Requests';
import { callsTo, mockCommands, sample } from './ipc';
import type { PendingRequest } from '../api';

const [req] = sample<PendingRequest[]>('pending');

async function setup(pending: PendingRequest[], handlers: Record<string, unknown>) {
  const calls = mockCommands({ list_resources: sample('resources'), ...handlers });
  const refresh = vi.fn(async () => {});
  const user = userEvent.setup();
  await act(async () => { render(<Requests pending={pending} loaded error={null} refresh={refresh} />); });
  return { calls, refresh, user };
}

describe('requests', () => {
  it('shows who asks, for which pension and which scopes', async () => {
    await setup([req], {});
    const card = screen.getByTestId('request-card');
    expect(card).toHaveAttribute('data-request-id', req.id);
    expect(card).toHaveTextContent('Bob the adviser');
    expect(card).toHaveTextContent(/anonymous/i);
    // The name is the app's own: said so, with its id behind Technical details.
    expect(within(card).getByRole('heading')).toHaveTextContent('An app calling itself “Bob the adviser”');
    expect(within(card).getByTestId('name-unverified')).toHaveTextContent(/chose this name itself/);
    expect(card).toHaveTextContent(req.client_id);
    expect(await within(card).findByText('Acme Staff Defined Benefit Scheme')).toBeInTheDocument();
    expect(card).toHaveTextContent('urn:pei:3f2a6c1e-9b0d-4e57-8a61-0c2d9e7b4a11:a1c0ffee-0001-4000-8000-000000000001');
    expect(within(card).getByRole('checkbox', { name: /owner/ })).toBeChecked();
    expect(within(card).getByRole('checkbox', { name: /value/ })).toBeChecked();
  });

  it('names an app the official list vouches for, and says so of one it does not', async () => {
    await setup([
      { ...req, id: 'listed', registry: { listed: true, name: 'Adviser Platform Ltd', status: 'FCA-authorised financial adviser platform' } },
      { ...req, id: 'claims', registry: { listed: false, claims_to_be: 'adviser-platform-ltd' } },
    ], {});
    const [listed, claims] = screen.getAllByTestId('request-card');
    expect(within(listed).getByRole('heading')).toHaveTextContent('Adviser Platform Ltd asks to see your pension');
    expect(within(listed).getByTestId('registry-listed')).toHaveTextContent(/On the official list FCA-authorised financial adviser platform/);
    expect(within(claims).getByRole('heading')).toHaveTextContent('An app calling itself “Bob the adviser”');
    expect(within(claims).getByTestId('name-unverified')).toHaveTextContent(/says it is “adviser-platform-ltd” on the list, but the list does not vouch for it/);
  });

  it('labels verified and self-asserted party claims', async () => {
    await setup([
      { ...req, id: 'a', party: { verified: { email: 'bob@adviser.example', issuer: 'https://id.example' } } },
      { ...req, id: 'b', party: { self_asserted: { email: 'eve@example.org' } } },
    ], {});
    const [a, b] = screen.getAllByTestId('request-card');
    expect(a).toHaveTextContent(/Verified/);
    expect(a).toHaveTextContent('bob@adviser.example');
    expect(a).not.toHaveTextContent(/Self-asserted/);
    expect(b).toHaveTextContent(/Self-asserted/);
    expect(b).toHaveTextContent('eve@example.org');
  });

  it('approves with only the ticked scopes and the chosen expiry', async () => {
    const now = 1_800_000_000_000;
    vi.spyOn(Date, 'now').mockReturnValue(now);
    const { calls, refresh, user } = await setup([req], { approve_request: { ...req, status: 'approved' } });
    const card = screen.getByTestId('request-card');
    await user.click(within(card).getByRole('checkbox', { name: /value/ }));
    await user.selectOptions(within(card).getByLabelText(/access ends after/i), '7 days');
    await user.click(within(card).getByTestId('approve-request'));
    await waitFor(() => expect(callsTo(calls, 'approve_request')).toHaveLength(1));
    expect(callsTo(calls, 'approve_request')[0].args).toEqual({
      id: req.id,
      approval: {
        permissions: [{ resource_id: '39d382986c2731424ab3cc69128d24aa', resource_scopes: ['owner'] }],
        expires_at: now / 1000 + 7 * 86400,
      },
    });
    await waitFor(() => expect(refresh).toHaveBeenCalledTimes(2)); // on mount, and after the decision
    vi.restoreAllMocks();
  });

  it('approves with no expires_at when access never ends', async () => {
    const { calls, user } = await setup([req], { approve_request: { ...req, status: 'approved' } });
    await user.click(screen.getByTestId('approve-request'));
    await waitFor(() => expect(callsTo(calls, 'approve_request')).toHaveLength(1));
    expect(callsTo(calls, 'approve_request')[0].args.approval).toEqual({
      permissions: [{ resource_id: '39d382986c2731424ab3cc69128d24aa', resource_scopes: ['owner', 'value'] }],
    });
  });

  it('deny calls deny_request and refreshes', async () => {
    const { calls, refresh, user } = await setup([req], { deny_request: { ...req, status: 'denied' } });
    await user.click(screen.getByTestId('deny-request'));
    await waitFor(() => expect(callsTo(calls, 'deny_request')[0]?.args).toEqual({ id: req.id }));
    expect(callsTo(calls, 'approve_request')).toHaveLength(0);
    await waitFor(() => expect(refresh).toHaveBeenCalledTimes(2));
  });

  it('shows an expired_request rejection on the card even after it leaves the pending list', async () => {
    const calls = mockCommands({
      list_resources: sample('resources'),
      approve_request: () => { throw { kind: 'expired_request', message: 'this request has expired' }; },
    });
    const other = { ...req, id: 'other', client_name: 'Family dashboard' };
    const user = userEvent.setup();
    let rerenderFn: (p: PendingRequest[]) => void = () => {};
    const refresh = vi.fn(async () => rerenderFn([other]));
    const { rerender } = render(<Requests pending={[req, other]} loaded error={null} refresh={refresh} />);
    rerenderFn = (p) => rerender(<Requests pending={p} loaded error={null} refresh={refresh} />);
    const [card] = screen.getAllByTestId('request-card');
    await user.click(within(card).getByTestId('approve-request'));
    await waitFor(() => expect(callsTo(calls, 'approve_request')).toHaveLength(1));
    const expired = await waitFor(() => {
      const c = screen.getAllByTestId('request-card').find((el) => el.getAttribute('data-request-id') === req.id);
      expect(c).toBeDefined();
      return c!;
    });
    expect(within(expired).getByRole('alert')).toHaveTextContent('this request has expired');
    const otherCard = screen.getAllByTestId('request-card').find((el) => el.getAttribute('data-request-id') === 'other')!;
    expect(within(otherCard).queryByRole('alert')).not.toBeInTheDocument();
    expect(refresh).toHaveBeenCalled();
  });

  it('shows the empty state when nothing waits', async () => {
    await setup([], {});
    expect(screen.getByTestId('requests-empty')).toBeInTheDocument();
  });
});
