import { render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { Sharing, threeMonthsOn } from '../screens/Sharing';
import { callsTo, mockCommands, sample } from './ipc';
import type { Client, Grant, Policy } from '../api';

const ACME = 'http://127.0.0.1:38341';
const NORTHWIND = 'http://127.0.0.1:44935';
const ACME_DB = '39d382986c2731424ab3cc69128d24aa';
const FAMILY_DASHBOARD = '723062ad34a2320bc54bfbd2bf01833e';

/** Unix seconds at local midnight of a day (month from 1), as the form computes it. */
const midnight = (y: number, m: number, d: number) => new Date(y, m - 1, d).getTime() / 1000;

/** The apps as the wallet lists them now: never its own (the owner's access is hers, not an app's). */
const APPS = sample<Client[]>('clients').filter((c) => c.client_name !== 'This wallet (the owner)');

const providers = [
  { url: ACME, name: 'Acme Pensions', added_at: 1 },
  { url: NORTHWIND, name: 'Northwind Trust', added_at: 1 },
];

/** Renders Sharing and opens the new-rule form of the Acme DB pension. */
async function openForm(extra: Record<string, unknown> = {}) {
  const calls = mockCommands({
    list_resources: sample('resources'), list_policies: [], list_grants: [], list_clients: APPS, list_receipts: [],
    list_providers: providers,
    add_policy: (a: Record<string, unknown>) => ({ id: 'p-new', created_at: 1, ...(a.policy as object) }),
    ...extra,
  });
  const user = userEvent.setup();
  render(<Sharing />);
  const sections = await screen.findAllByTestId('sharing-pension');
  const section = sections.find((s) => s.textContent!.includes('Acme Staff Defined Benefit Scheme'))!;
  await user.click(within(section).getByTestId('add-policy-open'));
  const form = within(section).getByRole('form', { name: 'New rule for Acme Staff Defined Benefit Scheme' });
  return { calls, user, section, form: within(form) };
}

async function saved(calls: ReturnType<typeof mockCommands>) {
  await waitFor(() => expect(callsTo(calls, 'add_policy')).toHaveLength(1));
  return callsTo(calls, 'add_policy')[0].args;
}

describe('sharing rules: what a new rule covers', () => {
  it('covers every pension from one provider, named as the owner named it', async () => {
    const { calls, user, form } = await openForm();
    expect(form.queryByTestId('rule-provider')).not.toBeInTheDocument();
    await user.selectOptions(form.getByTestId('rule-target-kind'), 'resource_server');
    const provider = form.getByTestId('rule-provider');
    // This pension's provider first; every provider by its name, never its address.
    expect(provider).toHaveValue(ACME);
    expect(within(provider).getAllByRole('option').map((o) => o.textContent)).toEqual(['Acme Pensions', 'Northwind Trust']);
    await user.selectOptions(provider, 'Northwind Trust');
    await user.type(form.getByLabelText('Email'), 'sam@example.org');
    await user.selectOptions(form.getByTestId('rule-outcome'), 'ask');
    await user.click(form.getByRole('button', { name: 'Save rule' }));
    expect(await saved(calls)).toEqual({
      policy: {
        target: { kind: 'resource_server', id: NORTHWIND },
        scopes: ['owner', 'value'],
        outcome: 'ask',
        party: { email: 'sam@example.org', verified_only: true },
      },
    });
  });
});

describe('sharing rules: who', () => {
  it('names a person by their sign-in service and their account there', async () => {
    const { calls, user, form } = await openForm();
    await user.click(form.getByLabelText(/by the sign-in service they use/));
    await user.type(form.getByTestId('rule-issuer'), ' https://accounts.example.com ');
    await user.type(form.getByLabelText('Their account number there'), '248289761001');
    // The sign-in service always checks who they are: nothing to tick.
    expect(form.queryByTestId('rule-verified-only')).not.toBeInTheDocument();
    await user.selectOptions(form.getByTestId('rule-days'), '1 year');
    await user.click(form.getByTestId('rule-save'));
    expect(await saved(calls)).toEqual({
      policy: {
        target: { kind: 'resource', id: ACME_DB },
        scopes: ['owner', 'value'],
        outcome: 'permit',
        party: { issuer: 'https://accounts.example.com', subject: '248289761001', verified_only: true },
        grant_lifetime: 365 * 86400,
      },
    });
  });

  it('refuses a sign-in rule without a proper address or account, saving nothing', async () => {
    const { calls, user, form } = await openForm();
    await user.click(form.getByLabelText(/by the sign-in service they use/));
    await user.type(form.getByTestId('rule-subject'), '42');
    await user.click(form.getByTestId('rule-save'));
    expect(form.getByRole('alert')).toHaveTextContent('Enter the address of the sign-in service they use');
    expect(form.getByTestId('rule-issuer')).toHaveAttribute('aria-invalid', 'true');
    await user.type(form.getByTestId('rule-issuer'), 'https://id.example');
    await user.clear(form.getByTestId('rule-subject'));
    await user.click(form.getByTestId('rule-save'));
    expect(form.getByRole('alert')).toHaveTextContent('Enter their account number');
    expect(callsTo(calls, 'add_policy')).toHaveLength(0);
  });

  it('names one app, chosen by its name among apps only, and may ask for a checked identity', async () => {
    const { calls, user, form } = await openForm();
    await user.click(form.getByLabelText('An app'));
    const apps = form.getByTestId('rule-client');
    const offered = within(apps).getAllByRole('option').map((o) => o.textContent);
    expect(offered).toEqual(['Choose…', 'Family dashboard', 'Bob the adviser']);
    expect(offered.join(' ')).not.toContain('127.0.0.1'); // the providers are not apps
    const verified = form.getByTestId('rule-verified-only');
    expect(verified).not.toBeChecked();
    await user.selectOptions(apps, 'Family dashboard');
    await user.click(verified);
    await user.selectOptions(form.getByTestId('rule-outcome'), 'deny');
    // How long access lasts means nothing for a refusal.
    expect(form.queryByTestId('rule-days')).not.toBeInTheDocument();
    await user.click(form.getByTestId('rule-save'));
    expect(await saved(calls)).toEqual({
      policy: {
        target: { kind: 'resource', id: ACME_DB },
        scopes: ['owner', 'value'],
        outcome: 'deny',
        party: { client_id: FAMILY_DASHBOARD, verified_only: true },
      },
    });
  });

  it('asks for an app before saving an app rule', async () => {
    const { calls, user, form } = await openForm();
    await user.click(form.getByLabelText('An app'));
    await user.click(form.getByTestId('rule-save'));
    expect(form.getByRole('alert')).toHaveTextContent('Choose an app.');
    expect(callsTo(calls, 'add_policy')).toHaveLength(0);
  });

  it('lets in any authorised adviser for as long as the rule stands, with a note and with delegate ticked', async () => {
    const { calls, user, form } = await openForm();
    await user.click(form.getByLabelText(/Any authorised financial adviser/));
    await user.click(form.getByLabelText(/Acting for you with the provider/));
    await user.selectOptions(form.getByLabelText('Access lasts'), 'As long as this rule stands');
    await user.type(form.getByLabelText('Note (optional)'), 'My adviser, for the yearly review');
    await user.click(form.getByTestId('rule-save'));
    expect(await saved(calls)).toEqual({
      policy: {
        target: { kind: 'resource', id: ACME_DB },
        scopes: ['owner', 'value', 'delegate'],
        outcome: 'permit',
        party: { credential_type: 'AdviserCredential', verified_only: true },
        description: 'My adviser, for the yearly review',
      },
    });
  });

  it('lets a person by email in whether or not their email was checked, when the owner unticks the check', async () => {
    const { calls, user, form } = await openForm();
    const verified = form.getByTestId('rule-verified-only');
    expect(verified).toBeChecked();
    expect(form.getByLabelText('Only if a trusted service has checked who they are')).toBe(verified);
    await user.click(verified);
    await user.type(form.getByTestId('rule-email'), 'sam@example.org');
    await user.selectOptions(form.getByTestId('rule-days'), '1 week');
    await user.click(form.getByTestId('rule-save'));
    expect(await saved(calls)).toEqual({
      policy: {
        target: { kind: 'resource', id: ACME_DB },
        scopes: ['owner', 'value'],
        outcome: 'permit',
        party: { email: 'sam@example.org', verified_only: false },
        grant_lifetime: 7 * 86400,
      },
    });
  });
});

describe('sharing rules: from and until', () => {
  it('sends local midnight of each day as unix seconds', async () => {
    const { calls, user, form } = await openForm();
    await user.type(form.getByTestId('rule-email'), 'sam@example.org');
    // Day, Month and Year boxes under each legend, as GOV.UK asks for dates.
    const fromDate = within(form.getByRole('group', { name: 'From' }));
    await user.type(fromDate.getByLabelText('Day'), '1');
    await user.type(fromDate.getByLabelText('Month'), '1');
    await user.type(fromDate.getByLabelText('Year'), '2027');
    const untilDate = within(form.getByRole('group', { name: 'Until' }));
    await user.type(untilDate.getByLabelText('Day'), '30');
    await user.type(untilDate.getByLabelText('Month'), '6');
    await user.type(untilDate.getByLabelText('Year'), '2027');
    await user.click(form.getByTestId('rule-save'));
    expect(await saved(calls)).toEqual({
      policy: {
        target: { kind: 'resource', id: ACME_DB },
        scopes: ['owner', 'value'],
        outcome: 'permit',
        party: { email: 'sam@example.org', verified_only: true },
        valid_from: midnight(2027, 1, 1),
        valid_until: midnight(2027, 6, 30),
        grant_lifetime: 30 * 86400,
      },
    });
  });

  it('sends only the date given', async () => {
    const { calls, user, form } = await openForm();
    await user.type(form.getByTestId('rule-email'), 'sam@example.org');
    await user.type(form.getByTestId('rule-valid-until'), '2028-02-29');
    await user.click(form.getByTestId('rule-save'));
    const { policy } = await saved(calls) as { policy: Record<string, unknown> };
    expect(policy.valid_until).toBe(midnight(2028, 2, 29));
    expect(policy).not.toHaveProperty('valid_from');
  });

  it('refuses an end date on or before the start date, and saves once it is after', async () => {
    const { calls, user, form } = await openForm();
    await user.type(form.getByTestId('rule-email'), 'sam@example.org');
    await user.type(form.getByTestId('rule-valid-from'), '2027-06-30');
    await user.type(form.getByTestId('rule-valid-until'), '2027-01-01');
    await user.click(form.getByTestId('rule-save'));
    expect(form.getByRole('alert')).toHaveTextContent('The end date must be after the start date.');
    expect(form.getByTestId('rule-valid-until')).toHaveAttribute('aria-invalid', 'true');

    await user.clear(form.getByTestId('rule-valid-until'));
    await user.type(form.getByTestId('rule-valid-until'), '2027-06-30');
    await user.click(form.getByTestId('rule-save'));
    expect(form.getByRole('alert')).toHaveTextContent('The end date must be after the start date.');
    expect(callsTo(calls, 'add_policy')).toHaveLength(0);

    await user.clear(form.getByTestId('rule-valid-until'));
    await user.type(form.getByTestId('rule-valid-until'), '2027-07-01');
    await user.click(form.getByTestId('rule-save'));
    const { policy } = await saved(calls) as { policy: Record<string, unknown> };
    expect(policy.valid_from).toBe(midnight(2027, 6, 30));
    expect(policy.valid_until).toBe(midnight(2027, 7, 1));
  });
});

describe('sharing rules: the list in plain words', () => {
  const clients = APPS;
  const rules: Policy[] = [
    {
      id: 'r-email', created_at: 1, outcome: 'permit', target: { kind: 'resource_server', id: ACME }, scopes: ['owner', 'value'],
      party: { email: 'sam@example.org', verified_only: true },
      valid_from: midnight(2027, 1, 1), valid_until: midnight(2027, 6, 30), grant_lifetime: 30 * 86400,
      description: 'My daughter',
    },
    {
      id: 'r-signin', created_at: 1, outcome: 'ask', target: { kind: 'resource', id: ACME_DB }, scopes: ['value'],
      party: { issuer: 'https://accounts.example.com', subject: '248289761001', verified_only: true },
    },
    {
      id: 'r-app', created_at: 1, outcome: 'deny', target: { kind: 'resource', id: ACME_DB }, scopes: [],
      party: { client_id: FAMILY_DASHBOARD, verified_only: false },
    },
    {
      id: 'r-adviser', created_at: 1, outcome: 'permit', target: { kind: 'resource', id: ACME_DB }, scopes: ['owner'],
      party: { credential_type: 'AdviserCredential', verified_only: true },
    },
  ];

  async function list() {
    const calls = mockCommands({
      list_resources: sample('resources'), list_policies: rules, list_grants: [], list_clients: clients, list_receipts: [],
      list_providers: providers, remove_policy: (a: Record<string, unknown>) => rules.find((r) => r.id === a.id),
    });
    render(<Sharing />);
    const sections = await screen.findAllByTestId('sharing-pension');
    const section = sections.find((s) => s.textContent!.includes('Acme Staff Defined Benefit Scheme'))!;
    const rows = within(section).getAllByTestId('policy-row');
    const row = (id: string) => rows.find((r) => r.getAttribute('data-policy-id') === id)!;
    const facts = (id: string) => within(row(id)).getByTestId('rule-facts');
    return { calls, section, sections, rows, row, facts };
  }

  it('says who, which pensions, what, when, the check and how long, for each rule', async () => {
    const { rows, row, facts } = await list();
    expect(rows).toHaveLength(4);

    const email = facts('r-email');
    expect(row('r-email')).toHaveTextContent('Let them in without asking me — the person with the email sam@example.org');
    expect(email).toHaveTextContent('WhoThe person with the email sam@example.org');
    expect(email).toHaveTextContent('Which pensionsEvery pension from Acme Pensions');
    expect(email).toHaveTextContent('WhatYour pension details, your pension\'s value');
    expect(email).toHaveTextContent('WhenFrom 1 January 2027 until 30 June 2027');
    expect(email).toHaveTextContent('Identity checkOnly if a trusted service has checked who they are');
    expect(email).toHaveTextContent('Access lasts30 days once given');
    expect(email).toHaveTextContent('NoteMy daughter');

    const signin = facts('r-signin');
    expect(row('r-signin')).toHaveTextContent('Ask me first — the person with the account 248289761001 at the sign-in service accounts.example.com');
    expect(signin).toHaveTextContent('Which pensionsThis pension only');
    expect(signin).toHaveTextContent('WhatYour pension\'s value');
    expect(signin).toHaveTextContent('WhenAny time, with no start or end date');
    expect(signin).not.toHaveTextContent('Access lasts'); // only a rule that lets them in gives access

    const app = facts('r-app');
    expect(row('r-app')).toHaveTextContent('Refuse — the app “Family dashboard”');
    expect(app).toHaveTextContent('WhatEverything');
    expect(app).toHaveTextContent('Identity checkNot required');
    // The app's id is behind Technical details only.
    expect(app).not.toHaveTextContent(FAMILY_DASHBOARD);
    expect(within(row('r-app')).getByText('Technical details')).toBeInTheDocument();

    expect(row('r-adviser')).toHaveTextContent('Let them in without asking me — any authorised financial adviser');
    expect(facts('r-adviser')).toHaveTextContent('Access lastsAs long as this rule stands');

    // No protocol words in the plain text of the rules.
    for (const r of rows) {
      const plain = within(r).getByTestId('rule-facts').textContent!;
      expect(plain).not.toMatch(/issuer|subject|client|scope|resource|verified_only|policy/i);
    }
  });

  it('shows a whole-provider rule with every pension of that provider, and only theirs', async () => {
    const { sections } = await list();
    const by = (name: string) => sections.find((s) => s.textContent!.includes(name))!;
    expect(within(by('Acme Group Personal Pension')).getAllByTestId('policy-row').map((r) => r.getAttribute('data-policy-id'))).toEqual(['r-email']);
    expect(within(by('Northwind Master Trust')).queryAllByTestId('policy-row')).toHaveLength(0);
  });

  it('removes a rule only once the owner confirms', async () => {
    const { calls, row } = await list();
    const user = userEvent.setup();
    const target = row('r-app');
    await user.click(within(target).getByTestId('rule-remove'));
    expect(callsTo(calls, 'remove_policy')).toHaveLength(0);
    await user.click(within(target).getByRole('button', { name: 'Keep it' }));
    expect(within(target).queryByTestId('rule-remove-confirm')).not.toBeInTheDocument();
    await user.click(within(target).getByTestId('rule-remove'));
    await user.click(within(target).getByTestId('rule-remove-confirm'));
    await waitFor(() => expect(callsTo(calls, 'remove_policy')).toHaveLength(1));
    expect(callsTo(calls, 'remove_policy')[0].args).toEqual({ id: 'r-app' });
  });

  it('lists a new rule in words once saved', async () => {
    let saved: Policy[] = [];
    mockCommands({
      list_resources: sample('resources'), list_policies: () => saved, list_grants: [], list_clients: clients, list_receipts: [],
      list_providers: providers,
      add_policy: (a: Record<string, unknown>) => {
        const p = { id: 'p-new', created_at: 1, ...(a.policy as object) } as Policy;
        saved = [p];
        return p;
      },
    });
    const user = userEvent.setup();
    render(<Sharing />);
    const sections = await screen.findAllByTestId('sharing-pension');
    const section = sections.find((s) => s.textContent!.includes('Acme Staff Defined Benefit Scheme'))!;
    await user.click(within(section).getByTestId('add-policy-open'));
    await user.click(within(section).getByLabelText(/Any authorised financial adviser/));
    await user.click(within(section).getByRole('button', { name: 'Save rule' }));
    const row = await within(section).findByTestId('policy-row');
    expect(row).toHaveTextContent('any authorised financial adviser');
    expect(row).toHaveTextContent('Access lasts30 days once given');
  });
});

describe('sharing: who can see each pension', () => {
  const BOB = '5f1e2d3c4b5a69788796a5b4c3d2e1f0';
  const grant = (id: string, over: Partial<Grant>): Grant => ({
    active: true, id, resource_id: ACME_DB, scopes: ['owner', 'value'], client_id: FAMILY_DASHBOARD, party_key: 'anonymous', party: {},
    source: { kind: 'approval', request_id: 'r1' }, created_at: 1795821419, expires_at: null, revoked_at: null, ...over,
  });
  const grants: Grant[] = [
    grant('g-family', {}),
    grant('g-adviser', {
      client_id: BOB, party_key: 'oidc:https://regulator.example#bob', scopes: ['value'], source: { kind: 'policy', policy_id: 'p1' },
      party: { verified: { name: 'Bob Baker', organisation: 'Sound Advice LLP', issuer: 'https://regulator.example', credential_type: 'AdviserCredential' } },
    }),
    grant('g-oidc', { party_key: 'oidc:https://id.example#248289761001', party: { verified: { name: 'Bob Smith', email: 'bob@example.org', issuer: 'https://id.example' } } }),
    grant('g-stated', { party_key: 'stated-email:alice@example.org', party: { self_asserted: { email: 'alice@example.org' } }, expires_at: 1798413419 }),
  ];
  const clients: Client[] = [...APPS, { ...APPS[0], client_id: BOB, client_name: 'Sound Advice', registry: { listed: true, name: 'Sound Advice' } }];

  async function shown(extra: Record<string, unknown> = {}) {
    const calls = mockCommands({
      list_resources: sample('resources'), list_policies: [], list_grants: grants, list_clients: clients, list_receipts: [], list_providers: providers,
      revoke_grant: (a: Record<string, unknown>) => ({ ...grants.find((g) => g.id === a.id), revoked_at: 2 }),
      ...extra,
    });
    render(<Sharing />);
    const sections = await screen.findAllByTestId('sharing-pension');
    const acme = sections.find((s) => s.textContent!.includes('Acme Staff Defined Benefit Scheme'))!;
    return { calls, sections, acme };
  }

  it('starts every pension with the owner herself, always, with nothing to revoke', async () => {
    const { sections } = await shown();
    expect(sections).toHaveLength(3);
    for (const s of sections) {
      const own = within(s).getByTestId('own-access');
      expect(own).toHaveTextContent(/^You: always \(this is your wallet\)$/);
      expect(within(own).queryByRole('button')).not.toBeInTheDocument();
      // The first line of who can see it.
      expect(within(s).getByTestId('access-list').firstElementChild).toBe(own);
    }
    const northwind = sections.find((s) => s.textContent!.includes('Northwind Master Trust'))!;
    expect(within(northwind).getByTestId('nobody-else')).toHaveTextContent('Nobody else can see this pension.');
    expect(within(northwind).queryAllByTestId('revoke-grant')).toHaveLength(0);
  });

  it('says who each party is in words, with raw keys and ids only under Technical details', async () => {
    const { acme } = await shown();
    const rows = within(acme).getAllByTestId('grant-row');
    const row = (id: string) => rows.find((r) => r.getAttribute('data-grant-id') === id)!;
    const who = (id: string) => row(id).querySelector('.grant-who')!.textContent;
    expect(who('g-family')).toBe('Anyone using “Family dashboard”');
    expect(who('g-adviser')).toBe('Bob Baker of Sound Advice LLP, checked by regulator.example, using Sound Advice');
    expect(who('g-oidc')).toBe('Bob Smith, email checked by id.example, using “Family dashboard”');
    expect(who('g-stated')).toBe('Someone who typed alice@example.org (not checked), using “Family dashboard”');
    expect(row('g-family')).toHaveTextContent('Can see: Your pension details, your pension\'s value');
    expect(row('g-adviser')).toHaveTextContent('Can see: Your pension\'s value');
    expect(row('g-adviser')).toHaveTextContent('let in by one of your rules');
    expect(row('g-family')).toHaveTextContent('you said yes');

    for (const r of rows) {
      const plain = r.cloneNode(true) as HTMLElement;
      plain.querySelectorAll('details').forEach((d) => d.remove());
      expect(plain.textContent).not.toMatch(/oidc:|stated-email:|\(owner\)|\(value\)|scope|client|token/i);
      expect(plain.textContent).not.toContain(FAMILY_DASHBOARD);
    }
    expect(within(row('g-stated')).getByText('Technical details').closest('details')).toHaveTextContent('stated-email:alice@example.org');
    expect(within(row('g-family')).getByText('Technical details').closest('details')).toHaveTextContent(FAMILY_DASHBOARD);
  });

  it('stops one party seeing a pension, and says so', async () => {
    const { calls, acme } = await shown();
    const user = userEvent.setup();
    const family = within(acme).getAllByTestId('grant-row').find((r) => r.getAttribute('data-grant-id') === 'g-family')!;
    const stop = within(family).getByTestId('revoke-grant');
    expect(stop).toHaveTextContent('Stop sharing');
    expect(stop).toHaveAccessibleDescription('Anyone using “Family dashboard”');
    await user.click(stop);
    await waitFor(() => expect(callsTo(calls, 'revoke_grant')[0]?.args).toEqual({ id: 'g-family' }));
    expect(await within(acme).findByTestId('sharing-done')).toHaveTextContent('You stopped “Family dashboard” seeing Acme Staff Defined Benefit Scheme.');
  });
});

describe('sharing rules: templates', () => {
  it('counts three months on to the same day, or to the last day of a shorter month', () => {
    const day = (d: Date) => [d.getFullYear(), d.getMonth() + 1, d.getDate()];
    expect(day(threeMonthsOn(new Date(2026, 10, 30)))).toEqual([2027, 2, 28]);
    expect(day(threeMonthsOn(new Date(2027, 10, 30)))).toEqual([2028, 2, 29]);
    expect(day(threeMonthsOn(new Date(2026, 0, 15)))).toEqual([2026, 4, 15]);
  });

  it('"Let my adviser see values for 3 months" fills in an adviser, values only, ending in three months', async () => {
    const { calls, user, form } = await openForm();
    await user.click(form.getByTestId('rule-template-adviser'));
    const end = threeMonthsOn(new Date());
    expect(form.getByTestId('rule-template-note')).toHaveTextContent(/any authorised financial adviser may see your pension's value without asking you, until/);
    expect(form.getByLabelText(/Any authorised financial adviser/)).toBeChecked();
    expect(form.getByLabelText(/^Your pension's value/)).toBeChecked();
    expect(form.getByLabelText(/^Your pension details/)).not.toBeChecked();
    expect(form.getByTestId('rule-valid-until-year')).toHaveValue(String(end.getFullYear()));
    await user.click(form.getByTestId('rule-save'));
    expect(await saved(calls)).toEqual({
      policy: {
        target: { kind: 'resource', id: ACME_DB },
        scopes: ['value'],
        outcome: 'permit',
        party: { credential_type: 'AdviserCredential', verified_only: true },
        valid_until: midnight(end.getFullYear(), end.getMonth() + 1, end.getDate()),
        grant_lifetime: 90 * 86400,
        description: 'My adviser, for 3 months',
      },
    });
  });

  it('"Refuse apps I don\'t know" refuses the app the owner picks, on every pension from this provider', async () => {
    const { calls, user, form } = await openForm();
    await user.click(form.getByTestId('rule-template-refuse-apps'));
    expect(form.getByTestId('rule-template-note')).toHaveTextContent(/refuse an app on every pension from Acme Pensions\. Choose the app below/);
    await waitFor(() => expect(form.getByTestId('rule-client')).toHaveFocus());
    expect(form.getByTestId('rule-outcome')).toHaveValue('deny');
    await user.selectOptions(form.getByTestId('rule-client'), 'Bob the adviser');
    await user.click(form.getByTestId('rule-save'));
    expect(await saved(calls)).toEqual({
      policy: {
        target: { kind: 'resource_server', id: ACME },
        scopes: ['owner', 'value', 'delegate'],
        outcome: 'deny',
        party: { client_id: 'a790cddf0450675d1fc8ac8837bdd42c', verified_only: false },
        description: 'An app I don’t know',
      },
    });
  });

  it('names what a rule covers as the consent card does', async () => {
    const { form } = await openForm();
    const what = form.getByRole('group', { name: 'What' });
    expect(within(what).getAllByRole('checkbox').map((b) => b.nextElementSibling!.firstChild!.textContent)).toEqual([
      'Your pension details', 'Your pension\'s value', 'Acting for you with the provider',
    ]);
    expect(what.textContent).not.toMatch(/\(owner\)|\(value\)|\(delegate\)/);
  });
});

describe('sharing rules: turning away apps the official register doesn’t list', () => {
  const SOUND_ADVICE = '5f1e2d3c4b5a69788796a5b4c3d2e1f0';
  const ACME_GPP = '94b384a5a57692a402e27cbc4a521861';
  const NORTHWIND_MT = '2f92bac43580eec5edb21f4b2b529c9e';
  const clients: Client[] = [...APPS, { ...APPS[0], client_id: SOUND_ADVICE, client_name: 'sound-advice', registry: { listed: true, name: 'Sound Advice' } }];
  const grant = (id: string, over: Partial<Grant>): Grant => ({
    active: true, id, resource_id: ACME_DB, scopes: ['owner', 'value'], client_id: FAMILY_DASHBOARD, party_key: 'anonymous', party: {},
    source: { kind: 'approval', request_id: 'r1' }, created_at: 1795821419, expires_at: null, revoked_at: null, ...over,
  });
  const grants: Grant[] = [
    grant('g-family', {}),
    grant('g-family-again', { scopes: ['value'] }),
    grant('g-bob-gpp', { client_id: 'a790cddf0450675d1fc8ac8837bdd42c', resource_id: ACME_GPP }),
    // Not stopped: an app the register lists, another provider's pension, access already ended.
    grant('g-listed', { client_id: SOUND_ADVICE }),
    grant('g-northwind', { resource_id: NORTHWIND_MT }),
    grant('g-revoked', { client_id: 'a790cddf0450675d1fc8ac8837bdd42c', active: false, revoked_at: 2 }),
  ];

  it('fills in a refusal of every app the register doesn’t list, on every pension from this provider, and saves it', async () => {
    const { calls, user, form } = await openForm({ list_clients: clients });
    await user.click(form.getByRole('button', { name: 'Turn away apps the official register doesn’t list' }));
    expect(form.getByTestId('rule-template-note')).toHaveTextContent(
      'Filled in: turn away every app the official register doesn’t list, on every pension from Acme Pensions. Read what it does below, then press Save rule.',
    );
    expect(form.getByLabelText('Any app the official register doesn’t list')).toBeChecked();
    expect(form.getByTestId('rule-target-kind')).toHaveValue('resource_server');
    expect(form.getByTestId('rule-provider')).toHaveValue(ACME);
    expect(form.getByTestId('rule-outcome')).toHaveValue('deny');
    // Such a rule can never let anyone in.
    expect(within(form.getByTestId('rule-outcome')).queryByRole('option', { name: 'Let them in without asking me' })).not.toBeInTheDocument();
    expect(form.queryByTestId('rule-verified-only')).not.toBeInTheDocument();

    const effect = form.getByTestId('rule-unlisted-effect');
    expect(effect).toHaveTextContent(
      'This rule turns away, without asking you, every app the official register doesn’t list when it asks to see any of your pensions from Acme Pensions. Apps the register lists are not affected, and nor is your own access through this wallet.',
    );
    expect(effect).toHaveTextContent('Your pensions from Northwind Trust are not covered: add the same rule on one of them to cover them too.');
    // Nothing is shared with such an app now: nothing said about stopping it.
    expect(form.queryByTestId('rule-unlisted-stops')).not.toBeInTheDocument();
    expect(effect.textContent).not.toMatch(/scope|token|client|policy|UMA|RPT|unlisted_apps/i);

    await user.click(form.getByTestId('rule-save'));
    expect(await saved(calls)).toEqual({
      policy: {
        target: { kind: 'resource_server', id: ACME },
        scopes: ['owner', 'value', 'delegate'],
        outcome: 'deny',
        party: { unlisted_apps: true, verified_only: false },
      },
    });
  });

  it('says how many apps it stops sharing with now, for what the rule covers', async () => {
    const { user, form } = await openForm({ list_clients: clients, list_grants: grants });
    await user.click(form.getByTestId('rule-template-unlisted-apps'));
    expect(form.getByTestId('rule-unlisted-stops')).toHaveTextContent(
      'It also stops what you share now with 2 apps the register doesn’t list: “Family dashboard” and “Bob the adviser”. They may keep a copy of what they have already seen.',
    );
    await user.selectOptions(form.getByTestId('rule-target-kind'), 'resource');
    expect(form.getByTestId('rule-unlisted-effect')).toHaveTextContent('when it asks to see Acme Staff Defined Benefit Scheme.');
    expect(form.getByTestId('rule-unlisted-stops')).toHaveTextContent('It also stops what you share now with 1 app the register doesn’t list: “Family dashboard”.');
    // Asking first stops nothing.
    await user.selectOptions(form.getByTestId('rule-outcome'), 'ask');
    expect(form.queryByTestId('rule-unlisted-stops')).not.toBeInTheDocument();
    expect(form.getByTestId('rule-unlisted-effect')).toHaveTextContent(
      'Every app the official register doesn’t list that asks to see Acme Staff Defined Benefit Scheme waits for your answer in Requests, unless another of your rules lets it in.',
    );
  });

  it('chosen by hand, turns a rule that lets in into one that refuses, and may ask instead', async () => {
    const { calls, user, form } = await openForm({ list_clients: clients });
    expect(form.getByTestId('rule-outcome')).toHaveValue('permit');
    await user.click(form.getByTestId('rule-who-unlisted'));
    expect(form.getByTestId('rule-outcome')).toHaveValue('deny');
    expect(form.queryByTestId('rule-days')).not.toBeInTheDocument();
    await user.selectOptions(form.getByTestId('rule-outcome'), 'ask');
    await user.click(form.getByTestId('rule-save'));
    expect(await saved(calls)).toEqual({
      policy: {
        target: { kind: 'resource', id: ACME_DB },
        scopes: ['owner', 'value'],
        outcome: 'ask',
        party: { unlisted_apps: true, verified_only: false },
      },
    });
  });

  it('reads in plain words in the list of rules, and is removed like any other', async () => {
    const rule: Policy = {
      id: 'r-unlisted', created_at: 1, outcome: 'deny', target: { kind: 'resource_server', id: ACME }, scopes: [],
      party: { unlisted_apps: true, verified_only: false },
    };
    const calls = mockCommands({
      list_resources: sample('resources'), list_policies: [rule], list_grants: [], list_clients: clients, list_receipts: [],
      list_providers: providers, remove_policy: rule,
    });
    const user = userEvent.setup();
    render(<Sharing />);
    const sections = await screen.findAllByTestId('sharing-pension');
    const section = sections.find((s) => s.textContent!.includes('Acme Staff Defined Benefit Scheme'))!;
    const row = within(section).getByTestId('policy-row');
    expect(row.querySelector('p')).toHaveTextContent(/^Apps the official register doesn’t list are turned away without asking you$/);
    const facts = within(row).getByTestId('rule-facts');
    expect(facts).toHaveTextContent('WhoAny app the official register doesn’t list');
    expect(facts).toHaveTextContent('Which pensionsEvery pension from Acme Pensions');
    expect(facts).not.toHaveTextContent('Identity check');
    expect(facts.textContent).not.toMatch(/unlisted_apps|client|scope|policy|verified_only/i);
    // Every pension from that provider shows it; another provider's does not.
    const northwind = sections.find((s) => s.textContent!.includes('Northwind Master Trust'))!;
    expect(within(northwind).queryAllByTestId('policy-row')).toHaveLength(0);

    const remove = within(row).getByTestId('rule-remove');
    expect(remove).toHaveAccessibleName('Remove rule: Apps the official register doesn’t list are turned away without asking you');
    await user.click(remove);
    expect(within(row).getByTestId('rule-remove-confirm-box')).toHaveTextContent('From now on, apps the official register doesn’t list will be treated by your other rules');
    await user.click(within(row).getByTestId('rule-remove-confirm'));
    await waitFor(() => expect(callsTo(calls, 'remove_policy').map((c) => c.args)).toEqual([{ id: 'r-unlisted' }]));
    expect(await within(section).findByTestId('sharing-done')).toHaveTextContent(
      'You removed the rule “Apps the official register doesn’t list are turned away without asking you”.',
    );
  });
});
