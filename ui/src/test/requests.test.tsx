import { act, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Requests } from '../screens/Requests';
import { callsTo, deferred, mockCommands, sample } from './ipc';
import type { Grant, PendingRequest, PensionPreview, Requester } from '../api';

const ACME_DB = '39d382986c2731424ab3cc69128d24aa';
const NORTHWIND = '2f92bac43580eec5edb21f4b2b529c9e';
const [base] = sample<PendingRequest[]>('pending');

/** Who asks, as the inbox lists it: an app naming itself, for someone nobody knows. */
const unknownApp: Requester = {
  app_name: 'Bob the adviser', app_name_checked: false, app_first_seen_at: 1795821420, earlier_requests: 0,
  purpose: null, person: { kind: 'unknown' }, may_have_no_end: false,
};
const req: PendingRequest = { ...base, requester: unknownApp };

/** What the provider would show for the Acme DB pension, as the wallet's preview answers. */
const preview: PensionPreview[] = [{
  resource_id: ACME_DB,
  scheme: 'Acme Staff Defined Benefit Scheme',
  scopes: [
    { scope: 'owner', title: 'Your pension details', items: [
      { label: 'The scheme\'s name', value: 'Acme Staff Defined Benefit Scheme' },
      { label: 'Your date of birth', value: '1975-04-12' },
      { label: 'Your employers and the dates you worked there', value: 'Acme Manufacturing Ltd (1998-09-01 to 2012-03-31)' },
    ] },
    { scope: 'value', title: 'Your pension\'s value', items: [
      { label: 'Your pension\'s value: income estimates and pot size', value: '£9,450 a year estimated (as at 2026-04-05)' },
    ] },
  ],
}];

async function setup(pending: PendingRequest[], handlers: Record<string, unknown> = {}, onGoto?: (s: 'sharing') => void) {
  const calls = mockCommands({ list_resources: sample('resources'), list_providers: [{ url: 'http://127.0.0.1:38341', name: 'Acme Pensions', added_at: 1 }], request_preview: preview, ...handlers });
  const refresh = vi.fn(async () => {});
  const user = userEvent.setup();
  await act(async () => { render(<Requests pending={pending} loaded error={null} refresh={refresh} onGoto={onGoto} />); });
  return { calls, refresh, user };
}

const card = () => screen.getByTestId('request-card');
const boxes = () => within(card()).getAllByTestId('share-scope') as HTMLInputElement[];
/** The card's words as the owner reads them, without what is folded away under Technical details. */
function plainText(el: HTMLElement): string {
  const copy = el.cloneNode(true) as HTMLElement;
  copy.querySelectorAll('details').forEach((d) => {
    if (d.querySelector('summary')?.textContent?.startsWith('Technical details')) d.remove();
  });
  return copy.textContent ?? '';
}

afterEach(() => { vi.restoreAllMocks(); });

describe('the consent card: what to share', () => {
  it('ticks nothing for the owner, and will not share until something is ticked', async () => {
    const { calls, user } = await setup([req]);
    expect(boxes()).toHaveLength(2);
    for (const b of boxes()) expect(b).not.toBeChecked();
    const share = within(card()).getByTestId('approve-request');
    expect(share).toHaveAttribute('aria-disabled', 'true');
    expect(share).toHaveAccessibleDescription('Tick at least one thing above to share it.');
    expect(within(card()).getByTestId('consent-summary')).toHaveTextContent('Nothing is ticked, so nothing would be shared.');

    // Pressed anyway: the GOV.UK error summary says why, and links to the first box.
    await user.click(share);
    const summary = within(card()).getByTestId('consent-problems');
    expect(summary).toHaveFocus();
    const link = within(summary).getByRole('link');
    expect(link).toHaveTextContent('Tick at least one thing to share, or choose “Don’t share”.');
    expect(link.getAttribute('href')).toBe(`#${boxes()[0].id}`);
    expect(callsTo(calls, 'approve_request')).toHaveLength(0);

    await user.click(within(card()).getByRole('checkbox', { name: 'Your pension details' }));
    expect(share).not.toHaveAttribute('aria-disabled');
    expect(share).toHaveTextContent('Share 1 item for 30 days');
    expect(within(card()).queryByTestId('consent-problems')).not.toBeInTheDocument();
  });

  it('shows each pension by its name, each item by what it holds, and ids only under Technical details', async () => {
    await setup([req]);
    const pension = await within(card()).findByTestId('consent-pension');
    await waitFor(() => expect(within(pension).getAllByTestId('scope-preview')).toHaveLength(2));
    expect(pension.querySelector('legend')).toHaveTextContent(/^Acme Staff Defined Benefit Scheme · Acme Pensions$/);
    const details = within(pension).getByRole('checkbox', { name: 'Your pension details' });
    expect(details).toHaveAccessibleDescription('The scheme\'s name, your date of birth, your employers and the dates you worked there');
    expect(within(pension).getByRole('checkbox', { name: 'Your pension\'s value' })).toHaveAccessibleDescription(/income estimates and pot size/);

    const plain = plainText(card());
    expect(plain).not.toContain('urn:pei');
    expect(plain).not.toContain(ACME_DB);
    expect(plain).not.toMatch(/scope|token|client|resource|credential|\(owner\)|\(value\)/i);
    const technical = within(pension).getByText('Technical details').closest('details')!;
    expect(technical).toHaveTextContent('urn:pei:3f2a6c1e-9b0d-4e57-8a61-0c2d9e7b4a11:a1c0ffee-0001-4000-8000-000000000001');
  });

  it('shows exactly what they would see, read from the provider when the card opens', async () => {
    const answer = deferred<PensionPreview[]>();
    const { calls, user } = await setup([req], { request_preview: () => answer.promise });
    expect(callsTo(calls, 'request_preview')[0].args).toEqual({ id: req.id });
    expect(within(card()).getByTestId('preview-loading')).toHaveAttribute('role', 'status');
    // Until the preview comes, each item is described in words of the wallet's own.
    expect(within(card()).getByRole('checkbox', { name: 'Your pension details' })).toHaveAccessibleDescription(/your date of birth/);
    await act(async () => answer.resolve(preview));
    expect(within(card()).queryByTestId('preview-loading')).not.toBeInTheDocument();

    const [details] = within(card()).getAllByTestId('scope-preview');
    const summary = within(details).getByText('See exactly what they’ll see');
    expect(within(details).getByText('1975-04-12')).not.toBeVisible();
    await user.click(summary);
    expect(within(details).getByText('1975-04-12')).toBeVisible();
    const rows = within(details).getAllByRole('term').map((dt) => [dt.textContent, dt.nextElementSibling?.textContent]);
    expect(rows).toEqual([
      ['The scheme\'s name', 'Acme Staff Defined Benefit Scheme'],
      ['Your date of birth', '1975-04-12'],
      ['Your employers and the dates you worked there', 'Acme Manufacturing Ltd (1998-09-01 to 2012-03-31)'],
    ]);
  });

  it('still lets the owner decide from the titles when the provider cannot be asked', async () => {
    const { calls, user } = await setup([req, { ...req, id: 'r2', permissions: [{ resource_id: NORTHWIND, resource_scopes: ['value'] }] }], {
      request_preview: (a: Record<string, unknown>) => {
        if (a.id === 'r2') throw { kind: 'provider', message: 'unreachable' };
        return [{ resource_id: ACME_DB, scheme: 'Acme Staff Defined Benefit Scheme', error: 'Acme Pensions could not be reached just now.',
          scopes: [{ scope: 'owner', title: 'Your pension details', items: [] }, { scope: 'value', title: 'Your pension\'s value', items: [] }] }];
      },
      approve_request: { ...req, status: 'approved' },
    });
    const [acme, northwind] = screen.getAllByTestId('request-card');
    expect(await within(acme).findByTestId('preview-error')).toHaveTextContent('Acme Pensions could not be reached just now.');
    expect(within(acme).queryByTestId('scope-preview')).not.toBeInTheDocument();
    expect(within(acme).getByRole('checkbox', { name: 'Your pension details' })).toBeInTheDocument();
    expect(await within(northwind).findByTestId('preview-failed')).toHaveTextContent(/You can still decide/);
    await user.click(within(northwind).getByRole('checkbox', { name: 'Your pension\'s value' }));
    await user.click(within(northwind).getByTestId('approve-request'));
    await waitFor(() => expect(callsTo(calls, 'approve_request')).toHaveLength(1));
  });
});

describe('the consent card: how long', () => {
  it('chooses 30 days, and offers no end date only to a person someone checked', async () => {
    const verified: PendingRequest = {
      ...req, id: 'v', requester: { ...unknownApp, may_have_no_end: true, person: { kind: 'verified', name: 'Bob Baker', email: 'bob@adviser.example', vouched_as: 'Authorised financial adviser, Sound Advice LLP', checked_by: 'https://regulator.example' } },
    };
    await setup([req, verified]);
    const [anon, checked] = screen.getAllByTestId('request-card');
    const lengths = (c: HTMLElement) => within(within(c).getByTestId('request-expiry')).getAllByRole('radio');
    expect(lengths(anon).map((r) => r.getAttribute('data-testid'))).toEqual(['expiry-once', 'expiry-30d', 'expiry-90d']);
    expect(within(anon).getByTestId('expiry-30d')).toBeChecked();
    expect(within(anon).getByRole('group', { name: 'How long they can see it' })).toHaveTextContent(/No end date is only offered for a person whose identity has been checked/);
    expect(lengths(checked).map((r) => r.getAttribute('data-testid'))).toEqual(['expiry-once', 'expiry-30d', 'expiry-90d', 'expiry-none']);
    expect(within(checked).getByTestId('expiry-30d')).toBeChecked();
    expect(within(checked).getByRole('radio', { name: /No end date/ })).not.toBeChecked();
  });

  it('approves only the ticked items, for the length chosen', async () => {
    const now = 1_800_000_000_000;
    vi.spyOn(Date, 'now').mockReturnValue(now);
    const { calls, refresh, user } = await setup([req], { approve_request: { ...req, status: 'approved' } });
    await user.click(within(card()).getByRole('checkbox', { name: 'Your pension\'s value' }));
    await user.click(within(card()).getByRole('radio', { name: /^90 days/ }));
    const share = within(card()).getByTestId('approve-request');
    expect(share).toHaveTextContent('Share 1 item for 90 days');
    expect(within(card()).getByTestId('consent-summary')).toHaveTextContent(
      `If you share: “Bob the adviser” will see Acme Staff Defined Benefit Scheme (values) until ${new Date(now + 90 * 86400_000).toLocaleDateString('en-GB', { day: 'numeric', month: 'short', year: 'numeric' })}.`,
    );
    await user.click(share);
    await waitFor(() => expect(callsTo(calls, 'approve_request')).toHaveLength(1));
    expect(callsTo(calls, 'approve_request')[0].args).toEqual({
      id: req.id,
      approval: { permissions: [{ resource_id: ACME_DB, resource_scopes: ['value'] }], expires_at: now / 1000 + 90 * 86400, remember: false },
    });
    await waitFor(() => expect(refresh).toHaveBeenCalledTimes(2)); // on mount, and after the decision
  });

  it('"just this once" ends the next day; "no end date" sends none', async () => {
    const now = 1_800_000_000_000;
    vi.spyOn(Date, 'now').mockReturnValue(now);
    const verified: PendingRequest = { ...req, id: 'v', requester: { ...unknownApp, may_have_no_end: true, person: { kind: 'verified', name: 'Bob Baker', email: null, checked_by: null } } };
    const { calls, user } = await setup([req, verified], { approve_request: { ...req, status: 'approved' } });
    const [once, forever] = screen.getAllByTestId('request-card');
    for (const b of within(once).getAllByTestId('share-scope')) await user.click(b);
    await user.click(within(once).getByTestId('expiry-once'));
    expect(within(once).getByTestId('approve-request')).toHaveTextContent('Share 2 items just this once');
    await user.click(within(once).getByTestId('approve-request'));
    await waitFor(() => expect(callsTo(calls, 'approve_request')).toHaveLength(1));
    expect((callsTo(calls, 'approve_request')[0].args.approval as { expires_at: number }).expires_at).toBe(now / 1000 + 86400);

    await user.click(within(forever).getByRole('checkbox', { name: 'Your pension details' }));
    await user.click(within(forever).getByTestId('expiry-none'));
    expect(within(forever).getByTestId('approve-request')).toHaveTextContent('Share 1 item with no end date');
    await user.click(within(forever).getByTestId('approve-request'));
    await waitFor(() => expect(callsTo(calls, 'approve_request')).toHaveLength(2));
    expect(callsTo(calls, 'approve_request')[1].args.approval).toEqual({ permissions: [{ resource_id: ACME_DB, resource_scopes: ['owner'] }], remember: false });
  });

  it('gives both answers the same weight', async () => {
    await setup([req]);
    const no = within(card()).getByTestId('deny-request');
    const yes = within(card()).getByTestId('approve-request');
    expect(no).toHaveTextContent('Don’t share');
    expect(no.className).toBe(yes.className);
  });
});

describe('the consent card: next time, without asking', () => {
  const checkedPerson: Requester = {
    ...unknownApp, may_have_no_end: true,
    person: { kind: 'verified', name: 'Bob Baker', email: 'bob@adviser.example', vouched_as: null, checked_by: 'https://id.example' },
  };
  const checked: PendingRequest = { ...req, id: 'checked', requester: checkedPerson };
  const remembered = (c: HTMLElement) => within(c).queryByRole('checkbox', { name: /^Next time, let/ });

  it('is never offered for a person nobody checked, nor for a request that came without who is asking', async () => {
    await setup([
      req,
      { ...req, id: 'stated', requester: { ...unknownApp, person: { kind: 'stated', name: 'Eve', email: 'eve@example.org' } } },
      { ...base, id: 'event' },
    ]);
    for (const c of screen.getAllByTestId('request-card')) {
      expect(remembered(c)).not.toBeInTheDocument();
      expect(within(c).queryByTestId('remember-app')).not.toBeInTheDocument();
      expect(c).not.toHaveTextContent(/without asking me/);
    }
  });

  it('is offered, unticked, for a checked person, saying in plain words what it does', async () => {
    await setup([checked]);
    const box = remembered(card())!;
    expect(box).toBeInTheDocument();
    expect(box).toHaveAttribute('data-testid', 'remember-app');
    expect(box).not.toBeChecked();
    expect(box).toHaveAccessibleName('Next time, let “Bob the adviser” see this without asking me');
    expect(box).toHaveAccessibleDescription(
      'Only for the same person using the same app: they would see the same things, for the same length of time, each time they ask. You can stop this at any time in Sharing.',
    );
    const plain = plainText(within(card()).getByTestId('remember'));
    expect(plain).not.toMatch(/scope|token|client|policy|rule|UMA|RPT/i);
  });

  it('sends remember: false when left unticked', async () => {
    const { calls, user } = await setup([checked], { approve_request: { ...checked, status: 'approved' } });
    await user.click(boxes()[0]);
    expect(within(card()).getByTestId('consent-summary')).not.toHaveTextContent(/Next time/);
    await user.click(within(card()).getByTestId('approve-request'));
    await waitFor(() => expect(callsTo(calls, 'approve_request')).toHaveLength(1));
    expect((callsTo(calls, 'approve_request')[0].args.approval as { remember: boolean }).remember).toBe(false);
    const receipt = await screen.findByTestId('request-decided');
    expect(within(receipt).queryByTestId('receipt-remembered')).not.toBeInTheDocument();
  });

  it('sends remember: true only when ticked, says so before sharing, and the receipt says Stop sharing ends it too', async () => {
    const now = 1_800_000_000_000;
    vi.spyOn(Date, 'now').mockReturnValue(now);
    const grants: Grant[] = [{
      active: true, id: 'g-new', resource_id: ACME_DB, scopes: ['value'], client_id: req.client_id, party_key: req.party_key, party: {},
      source: { kind: 'approval', request_id: checked.id }, created_at: 1, expires_at: null, revoked_at: null,
    }];
    const { calls, user } = await setup([checked], {
      approve_request: { ...checked, status: 'approved' }, list_grants: grants, revoke_grant: { ...grants[0], revoked_at: 9 },
    });
    await user.click(within(card()).getByRole('checkbox', { name: 'Your pension\'s value' }));
    await user.click(remembered(card())!);
    expect(remembered(card())).toBeChecked();
    const until = new Date(now + 30 * 86400_000).toLocaleDateString('en-GB', { day: 'numeric', month: 'short', year: 'numeric' });
    expect(within(card()).getByTestId('consent-summary')).toHaveTextContent(
      `If you share: “Bob the adviser” will see Acme Staff Defined Benefit Scheme (values) until ${until}. Next time, they will not need to ask you: they get the same again, for the same length of time.`,
    );
    await user.click(within(card()).getByTestId('approve-request'));
    await waitFor(() => expect(callsTo(calls, 'approve_request')).toHaveLength(1));
    expect(callsTo(calls, 'approve_request')[0].args).toEqual({
      id: checked.id,
      approval: { permissions: [{ resource_id: ACME_DB, resource_scopes: ['value'] }], expires_at: now / 1000 + 30 * 86400, remember: true },
    });
    const receipt = await screen.findByTestId('request-decided');
    expect(receipt).toHaveFocus();
    expect(within(receipt).getByTestId('receipt-remembered')).toHaveTextContent(
      'Next time, they won’t need to ask you: they will see the same again, for the same length of time. Stop sharing ends that too.',
    );
    await user.click(within(receipt).getByTestId('receipt-stop-sharing'));
    await waitFor(() => expect(within(receipt).getByTestId('receipt-stopped')).toHaveTextContent('Next time, they will have to ask you again.'));
  });

  it('unticking it again sends remember: false', async () => {
    const { calls, user } = await setup([checked], { approve_request: { ...checked, status: 'approved' } });
    await user.click(boxes()[0]);
    await user.click(remembered(card())!);
    await user.click(remembered(card())!);
    await user.click(within(card()).getByTestId('approve-request'));
    await waitFor(() => expect(callsTo(calls, 'approve_request')).toHaveLength(1));
    expect((callsTo(calls, 'approve_request')[0].args.approval as { remember: boolean }).remember).toBe(false);
  });
});

describe('the consent card: who is asking and why', () => {
  it('marks a name the app chose itself, and badges one the register vouches for', async () => {
    await setup([
      req,
      { ...req, id: 'listed', registry: { listed: true, name: 'Adviser Platform Ltd', status: 'FCA-authorised financial adviser platform' },
        requester: { ...unknownApp, app_name: 'Adviser Platform Ltd', app_name_checked: true } },
      { ...req, id: 'claims', registry: { listed: false, claims_to_be: 'adviser-platform-ltd' } },
    ]);
    const [own, listed, claims] = screen.getAllByTestId('request-card');
    expect(within(own).getByRole('heading', { level: 2 })).toHaveTextContent('An app calling itself “Bob the adviser” wants to see your pension');
    expect(within(own).getByTestId('name-unverified')).toHaveTextContent(/chose this name itself/);
    expect(within(own).queryByTestId('app-verified')).not.toBeInTheDocument();
    expect(within(listed).getByRole('heading', { level: 2 })).toHaveTextContent('Adviser Platform Ltd wants to see your pension');
    expect(within(listed).getByTestId('app-verified')).toHaveTextContent('✓ Listed in the pensions register FCA-authorised financial adviser platform');
    expect(within(claims).getByTestId('name-unverified')).toHaveTextContent(/says it is “adviser-platform-ltd” on the register, but the register does not vouch for it/);
  });

  it('says whether the app is new or has asked before', async () => {
    await setup([req, { ...req, id: 'again', requester: { ...unknownApp, earlier_requests: 3 } }, { ...req, id: 'once', requester: { ...unknownApp, earlier_requests: 1 } }]);
    const [fresh, again, once] = screen.getAllByTestId('request-card');
    const day = new Date(unknownApp.app_first_seen_at * 1000).toLocaleDateString('en-GB', { day: 'numeric', month: 'short', year: 'numeric' });
    expect(within(fresh).getByTestId('app-history')).toHaveTextContent(`New app · first asked ${day}`);
    expect(within(again).getByTestId('app-history')).toHaveTextContent(`Has asked 3 times before · first seen ${day}`);
    expect(within(once).getByTestId('app-history')).toHaveTextContent('Has asked once before');
  });

  it('warns in amber when nobody can tell who this is', async () => {
    await setup([req]);
    const panel = within(card()).getByTestId('person-unknown');
    expect(panel).toHaveTextContent('We can’t tell who this is. Only continue if you started this yourself just now.');
    expect(panel).toHaveClass('consent-person-warn');
  });

  it('shows a checked person in green with who checked them, and a typed one in amber as not checked', async () => {
    await setup([
      { ...req, id: 'v', requester: { ...unknownApp, may_have_no_end: true, person: { kind: 'verified', name: 'Bob Baker', email: 'bob@adviser.example', vouched_as: 'Authorised financial adviser, Sound Advice LLP', checked_by: 'https://regulator.example/issuer' } } },
      { ...req, id: 's', requester: { ...unknownApp, person: { kind: 'stated', name: 'Eve', email: 'eve@example.org' } } },
    ]);
    const [v, s] = screen.getAllByTestId('request-card');
    const checked = within(v).getByTestId('person-verified');
    expect(checked).toHaveClass('consent-person-ok');
    expect(checked).toHaveTextContent('Bob Baker (bob@adviser.example)');
    expect(checked).toHaveTextContent('Authorised financial adviser, Sound Advice LLP');
    expect(checked).toHaveTextContent('Checked by regulator.example.');
    expect(within(v).queryByTestId('person-unknown')).not.toBeInTheDocument();
    const stated = within(s).getByTestId('person-stated');
    expect(stated).toHaveClass('consent-person-warn');
    expect(stated).toHaveTextContent('The person says they are Eve, eve@example.org.');
    expect(stated).toHaveTextContent('Typed by the requester, not checked.');
  });

  it('treats a request that came without who is asking as unknown and unchecked', async () => {
    await setup([{ ...base, party: { verified: { email: 'bob@adviser.example', issuer: 'https://id.example' } } }]);
    expect(within(card()).getByTestId('person-unknown')).toBeInTheDocument();
    expect(within(card()).getByTestId('name-unverified')).toBeInTheDocument();
    expect(within(card()).queryByTestId('expiry-none')).not.toBeInTheDocument();
    expect(within(card()).queryByTestId('app-history')).not.toBeInTheDocument();
  });

  it('gives the reason as the app stated it, or says it gave none', async () => {
    await setup([{ ...req, id: 'p', requester: { ...unknownApp, purpose: 'Show my family our retirement income' } }, req]);
    const [withPurpose, without] = screen.getAllByTestId('request-card');
    expect(within(withPurpose).getByTestId('request-purpose')).toHaveTextContent('“Show my family our retirement income” (stated by the app)');
    expect(within(without).getByTestId('request-purpose')).toHaveTextContent('The app did not say why.');
  });
});

describe('the consent card: after the decision', () => {
  const grant = (id: string, over: Partial<Grant> = {}): Grant => ({
    active: true, id, resource_id: ACME_DB, scopes: ['owner', 'value'], client_id: req.client_id, party_key: req.party_key, party: {},
    source: { kind: 'approval', request_id: req.id }, created_at: 1, expires_at: null, revoked_at: null, ...over,
  });

  it('moves focus to a receipt, whose Stop sharing revokes only what this yes gave', async () => {
    const now = 1_800_000_000_000;
    vi.spyOn(Date, 'now').mockReturnValue(now);
    const grants = [
      grant('g-new'),
      grant('g-other-app', { client_id: 'someone-else', source: { kind: 'approval', request_id: 'older' } }),
      grant('g-rule', { source: { kind: 'policy', policy_id: 'p1' } }),
      grant('g-gone', { active: false, revoked_at: 5 }),
    ];
    const { calls, user } = await setup([req], {
      approve_request: { ...req, status: 'approved' },
      list_grants: grants,
      revoke_grant: (a: Record<string, unknown>) => ({ ...grants.find((g) => g.id === a.id), revoked_at: 9 }),
    });
    for (const b of boxes()) await user.click(b);
    await user.click(within(card()).getByTestId('approve-request'));
    const receipt = await screen.findByTestId('request-decided');
    const until = new Date(now + 30 * 86400_000).toLocaleDateString('en-GB', { day: 'numeric', month: 'short', year: 'numeric' });
    expect(receipt).toHaveTextContent(`You shared Acme Staff Defined Benefit Scheme (details, values) with “Bob the adviser” until ${until}.`);
    expect(receipt).toHaveTextContent('They may keep a copy of what they have already seen.');
    expect(receipt).toHaveFocus();

    await user.click(within(receipt).getByTestId('receipt-stop-sharing'));
    await waitFor(() => expect(within(receipt).getByTestId('receipt-stopped')).toHaveTextContent(
      'You stopped sharing Acme Staff Defined Benefit Scheme (details, values) with “Bob the adviser”.',
    ));
    expect(callsTo(calls, 'revoke_grant').map((c) => c.args)).toEqual([{ id: 'g-new' }]);
    await waitFor(() => expect(screen.getByTestId('request-decided')).toHaveFocus());
    expect(within(screen.getByTestId('request-decided')).queryByTestId('receipt-stop-sharing')).not.toBeInTheDocument();
  });

  it('finds the access by app, person and pension when the grants do not name the request', async () => {
    const grants = [grant('g-new', { source: { kind: 'approval', request_id: 'x' } }), grant('g-northwind', { resource_id: NORTHWIND, source: { kind: 'approval', request_id: 'x' } })];
    const { calls, user } = await setup([req], { approve_request: { ...req, status: 'approved' }, list_grants: grants, revoke_grant: { id: 'g-new' } });
    await user.click(boxes()[0]);
    await user.click(within(card()).getByTestId('approve-request'));
    await user.click(await screen.findByTestId('receipt-stop-sharing'));
    await waitFor(() => expect(callsTo(calls, 'revoke_grant').map((c) => c.args)).toEqual([{ id: 'g-new' }]));
  });

  it('opens Sharing from the receipt', async () => {
    const onGoto = vi.fn();
    const { user } = await setup([req], { approve_request: { ...req, status: 'approved' } }, onGoto);
    await user.click(boxes()[0]);
    await user.click(within(card()).getByTestId('approve-request'));
    await user.click(await screen.findByTestId('receipt-see-sharing'));
    expect(onGoto).toHaveBeenCalledWith('sharing');
  });

  it('says nothing was shared after "Don’t share"', async () => {
    const { calls, refresh, user } = await setup([req], { deny_request: { ...req, status: 'denied' } });
    await user.click(within(card()).getByTestId('deny-request'));
    await waitFor(() => expect(callsTo(calls, 'deny_request')[0]?.args).toEqual({ id: req.id }));
    expect(callsTo(calls, 'approve_request')).toHaveLength(0);
    const said = await screen.findByTestId('request-decided');
    expect(said).toHaveTextContent('You did not share anything with “Bob the adviser”.');
    expect(said).toHaveFocus();
    await waitFor(() => expect(refresh).toHaveBeenCalledTimes(2));
  });

  it('shows an expired_request rejection on the card even after it leaves the pending list', async () => {
    const calls = mockCommands({
      list_resources: sample('resources'), request_preview: preview,
      approve_request: () => { throw { kind: 'expired_request', message: 'this request has expired' }; },
    });
    const other = { ...req, id: 'other', client_name: 'Family dashboard', requester: { ...unknownApp, app_name: 'Family dashboard' } };
    const user = userEvent.setup();
    let rerenderFn: (p: PendingRequest[]) => void = () => {};
    const refresh = vi.fn(async () => rerenderFn([other]));
    const { rerender } = render(<Requests pending={[req, other]} loaded error={null} refresh={refresh} />);
    rerenderFn = (p) => rerender(<Requests pending={p} loaded error={null} refresh={refresh} />);
    const [first] = screen.getAllByTestId('request-card');
    await user.click(within(first).getAllByTestId('share-scope')[0]);
    await user.click(within(first).getByTestId('approve-request'));
    await waitFor(() => expect(callsTo(calls, 'approve_request')).toHaveLength(1));
    const expired = await waitFor(() => {
      const c = screen.getAllByTestId('request-card').find((el) => el.getAttribute('data-request-id') === req.id);
      expect(c).toBeDefined();
      return c!;
    });
    expect(within(expired).getByTestId('request-error')).toHaveTextContent('this request has expired');
    expect(within(expired).getByText('This request is no longer waiting for an answer.')).toBeInTheDocument();
    const otherCard = screen.getAllByTestId('request-card').find((el) => el.getAttribute('data-request-id') === 'other')!;
    expect(within(otherCard).queryByRole('alert')).not.toBeInTheDocument();
    await user.click(within(expired).getByTestId('request-dismiss'));
    expect(screen.getAllByTestId('request-card')).toHaveLength(1);
  });

  it('shows the empty state when nothing waits', async () => {
    await setup([]);
    expect(screen.getByTestId('requests-empty')).toBeInTheDocument();
  });
});
