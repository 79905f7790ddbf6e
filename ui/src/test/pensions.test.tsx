import { act, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { Pensions } from '../screens/Pensions';
import { buildSeries, chartSpan } from '../IncomeChart';
import { ageAt, todayIso } from '../format';
import { callsTo, deferred, mockCommands, sample, type Handler } from './ipc';
import type { Credential, MyPensions, Pension, PensionOk } from '../api';

const ACME_DB = 'Acme Staff Defined Benefit Scheme';
/** Noon on 3 Nov 2026, UTC: the same day in any time zone the tests run in. */
const NOV_3 = Date.UTC(2026, 10, 3, 12) / 1000;

/** The captured pensions, with what providers now also send for the Acme DB one. */
function enriched(): MyPensions {
  const mine = sample<MyPensions>('pensions');
  const db = mine.pensions.find((p) => p.scheme === ACME_DB)!;
  Object.assign(db, {
    provider_name: 'Acme Pensions',
    figures_as_at: '2026-04-05',
    built_up_annual_amount: 7210,
    administrator: { name: 'Acme Pensions Administration', email: 'pensions@acme.example', phone: '0800 123 4567' },
    documents: [
      { url: 'https://acme.example/sip.pdf', informationType: 'SIP' },
      { url: 'https://acme.example/annual-report.pdf', informationType: 'ANR' },
      { url: 'https://acme.example/charges.pdf', informationType: 'C_AND_C' },
      { url: 'https://acme.example/leaflet.pdf', informationType: 'OTHER' },
    ],
  } satisfies Partial<Pension>);
  return mine;
}

/** Acme Pensions is down: the DB pension comes with its last known figures and is left out of the totals. */
function withAcmeDbDown(): MyPensions {
  const mine = enriched();
  const db = mine.pensions.find((p) => p.scheme === ACME_DB)!;
  Object.assign(db, {
    error: 'Acme Pensions could not be reached just now.',
    error_detail: 'error sending request for url (http://127.0.0.1:38341/pensions/a1c0ffee)',
    last_read_at: NOV_3,
  });
  mine.totals = { estimated_annual_income: 16750 - 9450, dc_pots: 176200 };
  return mine;
}

function withPensions(pensions: MyPensions | Handler, credentials: Credential[] | Handler = sample<Credential[]>('credentials')) {
  return mockCommands({
    my_pensions: pensions,
    list_credentials: credentials,
    list_grants: sample('grants'),
    list_clients: sample('clients'),
    get_identity: sample('identity'),
    list_providers: [{ url: 'http://127.0.0.1:38341', name: 'Acme Pensions', added_at: 1 }, { url: 'http://127.0.0.1:44935', name: null, added_at: 1 }],
  });
}

const card = async (scheme: string) => (await screen.findAllByTestId('pension-card')).find((c) => c.textContent!.includes(scheme))!;

describe('pensions: the retirement picture', () => {
  it('says how much, from what age, and what the figure is and is not', async () => {
    withPensions(enriched());
    render(<Pensions onGoto={vi.fn()} />);
    const total = await screen.findByTestId('pensions-total');
    // Two pensions start at 65 and one at 67: the whole amount is paid by 67.
    expect(within(total).getByTestId('totals-sentence')).toHaveTextContent(
      '£16,750 a year by age 67 (your pensions start from age 65 to 67) — estimate in today’s money, before tax, not including your State Pension.',
    );
    expect(total).toHaveTextContent('£176,200');
    expect(within(total).getByTestId('state-pension-note')).toHaveTextContent('Check your State Pension forecast on GOV.UK, at www.gov.uk/check-state-pension');
    // Shown as text with a Copy button: a link would take the window away from the wallet.
    expect(within(total).queryByRole('link')).not.toBeInTheDocument();
    expect(within(total).getByRole('button', { name: 'Copy the address of the State Pension forecast' })).toBeInTheDocument();
  });

  it('says "from age 65" when every pension starts at the same age', async () => {
    const mine = enriched();
    mine.pensions = mine.pensions.filter((p) => p.scheme !== 'Acme Group Personal Pension');
    mine.totals = { estimated_annual_income: 10630, dc_pots: 27900 };
    withPensions(mine);
    render(<Pensions onGoto={vi.fn()} />);
    expect(await screen.findByTestId('totals-sentence')).toHaveTextContent(
      /^£10,630 a year from age 65 — estimate in today’s money, before tax, not including your State Pension\.$/,
    );
  });

  it('names each pension by scheme, employer and years, with its kind in words and its figures dated', async () => {
    withPensions(enriched());
    render(<Pensions onGoto={vi.fn()} />);
    const db = await card(ACME_DB);
    expect(within(db).getByRole('heading', { level: 3 })).toHaveTextContent(ACME_DB);
    expect(within(db).getByTestId('pension-employment')).toHaveTextContent('Acme Manufacturing Ltd, 1998–2012');
    expect(db).toHaveTextContent('Defined benefit (final salary)');
    expect(db).toHaveTextContent('£9,450 a year from age 65');
    expect(within(db).getByTestId('pension-built-up')).toHaveTextContent('Built up so far £7,210 a year');
    expect(within(db).getByTestId('pension-as-at')).toHaveTextContent('Estimate as at 5 Apr 2026');
    expect(db).toHaveTextContent('12 Apr 2040');

    const dc = await card('Acme Group Personal Pension');
    expect(dc).toHaveTextContent('Defined contribution (pension pot)');
    expect(within(dc).getByTestId('pension-employment')).toHaveTextContent('Acme Manufacturing Ltd, since 2012');
    expect(dc).toHaveTextContent('Pot value £148,300');

    // Identifiers and addresses only inside the closed technical details.
    for (const raw of ['urn:pei:', 'http://127.0.0.1:38341', 'a1c0ffee-0001-4000-8000-000000000001']) {
      const at = within(db).getAllByText((_, el) => el?.children.length === 0 && !!el.textContent?.includes(raw));
      for (const el of at) expect(el.closest('details')).not.toBeNull();
    }
    expect(within(db).getByText('Technical details').closest('details')).not.toHaveAttribute('open');
  });

  it('does not show how a pension matched: every pension here is already protected', async () => {
    const mine = enriched();
    mine.pensions[0].match_status = 'match-possible';
    mine.pensions[1].match_status = 'match-yes';
    withPensions(mine);
    render(<Pensions onGoto={vi.fn()} />);
    await screen.findAllByTestId('pension-card');
    expect(screen.queryByText('Matches you')).not.toBeInTheDocument();
    expect(screen.queryByText('Possible match')).not.toBeInTheDocument();
  });

  it('gives each card a colour chip of its pension\'s colour in the chart', async () => {
    withPensions(enriched());
    render(<Pensions onGoto={vi.fn()} />);
    await screen.findByTestId('income-chart');
    const legend = Object.fromEntries(screen.getAllByTestId('chart-legend-item').map((l) => [l.textContent!.trim(), l.getAttribute('data-colour')]));
    for (const c of screen.getAllByTestId('pension-card')) {
      const scheme = within(c).getByRole('heading', { level: 3 }).textContent!;
      expect(within(c).getByTestId('pension-colour')).toHaveAttribute('data-colour', legend[scheme]);
    }
  });

  it('shows who runs each pension, how to reach them, and the provider\'s documents by kind', async () => {
    withPensions(enriched());
    render(<Pensions onGoto={vi.fn()} />);
    const db = await card(ACME_DB);
    const contact = within(db).getByTestId('pension-contact');
    expect(within(contact).getByRole('heading', { level: 4 })).toHaveTextContent('Contact Acme Pensions Administration');
    expect(contact).toHaveTextContent('Phone: 0800 123 4567');
    expect(contact).toHaveTextContent('Email: pensions@acme.example');
    const docs = within(db).getAllByTestId('pension-document');
    expect(docs.map((d) => d.querySelector('.document-kind')!.textContent)).toEqual([
      'Statement of investment principles', 'Annual report', 'Costs and charges', 'More information',
    ]);
    expect(docs[1]).toHaveTextContent('https://acme.example/annual-report.pdf');
    expect(within(docs[1]).getByRole('button', { name: 'Copy the address of the annual report' })).toBeInTheDocument();
    // A pension whose provider sent none has neither block.
    const nw = await card('Northwind Master Trust');
    expect(within(nw).queryByTestId('pension-contact')).not.toBeInTheDocument();
    expect(within(nw).queryByTestId('pension-documents')).not.toBeInTheDocument();
  });

  it('groups pensions by provider, named in words, with who else can see each', async () => {
    withPensions(enriched());
    render(<Pensions onGoto={vi.fn()} />);
    const groups = await screen.findAllByTestId('provider-group');
    expect(groups).toHaveLength(2);
    const acme = groups.find((g) => within(g).queryByRole('heading', { level: 2, name: 'Acme Pensions' }))!;
    expect(within(acme).getAllByTestId('pension-card')).toHaveLength(2);
    // A provider with no name is not named by its address.
    const northwind = groups.find((g) => g !== acme)!;
    expect(within(northwind).getByRole('heading', { level: 2 })).toHaveTextContent('Your pension provider');
    const access = within(await card(ACME_DB)).getByTestId('pension-access');
    expect(access).toHaveTextContent('Family dashboard: pension details');
  });

  it('points to Find pensions when there are none yet', async () => {
    withPensions({ pensions: [], totals: { estimated_annual_income: 0, dc_pots: 0 } });
    const goto = vi.fn();
    const user = userEvent.setup();
    render(<Pensions onGoto={goto} />);
    expect(await screen.findByTestId('pensions-empty')).toHaveTextContent('No pensions here yet.');
    await user.click(screen.getByRole('button', { name: 'Find my pensions' }));
    expect(goto).toHaveBeenCalledWith('offers');
  });
});

describe('pensions: a provider is down', () => {
  it('says which pension the totals leave out, keeps its last known figures with their date, and offers Try again', async () => {
    let answer = withAcmeDbDown();
    const calls = withPensions(() => answer);
    const user = userEvent.setup();
    render(<Pensions onGoto={vi.fn()} />);
    const banner = await screen.findByTestId('pensions-stale');
    expect(banner).toHaveTextContent(`1 pension couldn’t be updated. The totals leave out ${ACME_DB}.`);
    expect(within(banner).getByRole('status')).toBeInTheDocument();
    expect(screen.getByTestId('totals-sentence')).toHaveTextContent('£7,300 a year');
    expect(screen.getByTestId('pensions-total')).toHaveTextContent(`This leaves out ${ACME_DB}, which couldn’t be updated.`);

    const db = await card(ACME_DB);
    const problem = within(db).getByTestId('pension-error');
    expect(problem).toHaveTextContent('Acme Pensions could not be reached just now.');
    expect(within(problem).getByTestId('pension-last-updated')).toHaveTextContent('Last updated 3 Nov 2026');
    expect(problem).toHaveTextContent('If this goes on, contact Acme Pensions Administration');
    // The last known figures, and how to reach the administrator, stay on the card.
    expect(db).toHaveTextContent('£9,450 a year from age 65');
    expect(within(db).getByTestId('pension-contact')).toHaveTextContent('0800 123 4567');
    // The transport's own words only under technical details.
    const detail = within(db).getByTestId('pension-error-detail');
    expect(detail).toHaveTextContent('error sending request for url');
    expect(detail.closest('details')).not.toBeNull();
    expect(problem).not.toHaveTextContent('error sending request');
    // Left out of the chart, as of the totals.
    const series = within(screen.getByTestId('income-chart') as unknown as HTMLElement).getAllByTestId('chart-series');
    expect(series.map((s) => s.getAttribute('data-series'))).not.toContain(ACME_DB);

    // Try again: the figures stay while the providers are asked, then all are up to date.
    const next = deferred<MyPensions>();
    answer = enriched();
    withPensions(() => next.promise);
    await user.click(within(banner).getByTestId('pensions-retry'));
    expect(await screen.findByTestId('pensions-updating')).toHaveTextContent(/^Updating…/);
    expect(screen.getAllByTestId('pension-card')).toHaveLength(3);
    await act(async () => next.resolve(answer));
    await waitFor(() => expect(screen.queryByTestId('pensions-stale')).not.toBeInTheDocument());
    expect(await screen.findByTestId('pensions-updated')).toHaveFocus();
    expect(screen.getByTestId('totals-sentence')).toHaveTextContent('£16,750 a year');
    expect(callsTo(calls, 'my_pensions')).toHaveLength(1);
  });

  it('Refresh keeps the pensions on screen and says it is updating', async () => {
    const calls = withPensions(enriched());
    const user = userEvent.setup();
    render(<Pensions onGoto={vi.fn()} />);
    await screen.findAllByTestId('pension-card');
    const next = deferred<MyPensions>();
    withPensions(() => next.promise);
    await user.click(screen.getByTestId('pensions-refresh'));
    expect(screen.getByTestId('pensions-updating')).toHaveTextContent(/^Updating…/);
    expect(screen.getAllByTestId('pension-card')).toHaveLength(3);
    expect(screen.getByTestId('pensions-total')).toHaveTextContent('£16,750');
    await act(async () => next.resolve(enriched()));
    await waitFor(() => expect(screen.getByTestId('pensions-updating')).toBeEmptyDOMElement());
    expect(callsTo(calls, 'my_pensions')).toHaveLength(1);
  });

  it('keeps the figures on screen when a refresh fails as a whole, and says so', async () => {
    withPensions(enriched());
    const user = userEvent.setup();
    render(<Pensions onGoto={vi.fn()} />);
    await screen.findAllByTestId('pension-card');
    withPensions(() => { throw { kind: 'unknown', message: 'The wallet is busy.' }; });
    await user.click(screen.getByTestId('pensions-refresh'));
    expect(await screen.findByTestId('pensions-update-error')).toHaveTextContent('could not be updated just now, so these are the figures from before. The wallet is busy.');
    expect(screen.getAllByTestId('pension-card')).toHaveLength(3);
  });
});

describe('the income chart', () => {
  it('stacks income from each payable age onward', () => {
    const series = buildSeries(sample<MyPensions>('pensions').pensions as PensionOk[], '1975-04-12');
    const byName = Object.fromEntries(series.map((s) => [s.label, s.steps]));
    expect(byName['Northwind Master Trust']).toEqual([{ age: 65, amount: 1180 }]);
    expect(byName['Acme Group Personal Pension']).toEqual([{ age: 67, amount: 6120 }]);
    // a birthday one day later: not yet 65 on the payable date
    expect(buildSeries(sample<MyPensions>('pensions').pensions as PensionOk[], '1975-04-13')[0].steps[0].age).toBe(64);
  });

  it('starts at the owner\'s age now, and marks it and the State Pension age', async () => {
    withPensions(enriched());
    render(<Pensions onGoto={vi.fn()} />);
    const chart = await screen.findByTestId('income-chart');
    const now = ageAt('1975-04-12', todayIso())!;
    expect(within(chart as unknown as HTMLElement).getByTestId('chart-marker-now')).toHaveTextContent(`You now: ${now}`);
    expect(within(chart as unknown as HTMLElement).getByTestId('chart-marker-state-pension')).toHaveTextContent('State Pension age: 67');
    expect(chart).toHaveAccessibleName(new RegExp(`You are ${now} now\\. The State Pension is not included; it usually starts at 67\\.`));
    expect(screen.getByTestId('chart-notes')).toHaveTextContent(`You are ${now} now.`);
  });

  it('starts at the first income when today is decades before it, and never before it when already past it', () => {
    expect(chartSpan([65, 67], 51)).toEqual({ firstAge: 51, lastAge: 70, now: 51 });
    expect(chartSpan([65, 67], 30)).toEqual({ firstAge: 65, lastAge: 70, now: null });
    expect(chartSpan([60], 62)).toEqual({ firstAge: 60, lastAge: 70, now: 62 });
  });
});

describe('pensions: proof that each is protected', () => {
  const day = (unix: number) => new Date(unix * 1000).toLocaleDateString('en-GB', { day: 'numeric', month: 'short', year: 'numeric' });
  const RECEIVED = 1795821417;

  it('says on each card, in one line, that its proof was checked and when', async () => {
    const calls = withPensions(enriched());
    render(<Pensions onGoto={vi.fn()} />);
    const cards = await screen.findAllByTestId('pension-card');
    expect(cards).toHaveLength(3);
    for (const c of cards) {
      const line = within(c).getByTestId('pension-proof');
      expect(line).toHaveTextContent(`Proof this pension is protected: ✓ checked ${day(RECEIVED)}`);
      expect(line).toHaveAttribute('data-proof', 'checked');
      // Plain words only: no protocol terms or identifiers.
      expect(line.textContent).not.toMatch(/credential|issuer|did:|token|scope|pei|urn:/i);
    }
    expect(callsTo(calls, 'list_credentials')).toHaveLength(1);
  });

  it('matches a proof to its pension by the pension\'s identifier, and takes the newest current one', async () => {
    const list = sample<Credential[]>('credentials');
    const acmeDb = list.find((c) => c.scheme === ACME_DB)!;
    // An older, replaced proof of the same pension, and a newer current one; and a proof of a pension not in this wallet.
    list.push({ ...acmeDb, id: 'old', status: 'superseded', received_at: NOV_3 - 86400 * 400 });
    list.push({ ...acmeDb, id: 'newer', received_at: NOV_3 + 86400 * 30 });
    list.push({ ...acmeDb, id: 'elsewhere', pei: 'urn:pei:somewhere-else:1', scheme: 'Somewhere Else', received_at: NOV_3 });
    withPensions(enriched(), list);
    render(<Pensions onGoto={vi.fn()} />);
    expect(within(await card(ACME_DB)).getByTestId('pension-proof')).toHaveTextContent(`✓ checked ${day(NOV_3 + 86400 * 30)}`);
    expect(within(await card('Northwind Master Trust')).getByTestId('pension-proof')).toHaveTextContent(`✓ checked ${day(RECEIVED)}`);
  });

  it('says plainly when the wallet holds no proof of a pension, and what that means', async () => {
    const list = sample<Credential[]>('credentials').filter((c) => c.scheme !== 'Northwind Master Trust');
    withPensions(enriched(), list);
    render(<Pensions onGoto={vi.fn()} />);
    const line = within(await card('Northwind Master Trust')).getByTestId('pension-proof');
    expect(line).toHaveAttribute('data-proof', 'none');
    expect(line).toHaveTextContent(
      'Your wallet has no proof yet that this pension is protected. Your wallet still protects it: the proof is only a signed record from your pension provider that you could show someone else. If you need one, ask your pension provider.',
    );
    expect(line).not.toHaveTextContent('✓');
    // The others still have theirs.
    expect(within(await card(ACME_DB)).getByTestId('pension-proof')).toHaveAttribute('data-proof', 'checked');
  });

  it('says so when the only proof of a pension has been replaced and is no longer current', async () => {
    const list = sample<Credential[]>('credentials').map((c) => (c.scheme === ACME_DB ? { ...c, status: 'superseded' } : c));
    withPensions(enriched(), list);
    render(<Pensions onGoto={vi.fn()} />);
    const line = within(await card(ACME_DB)).getByTestId('pension-proof');
    expect(line).toHaveAttribute('data-proof', 'old');
    expect(line).toHaveTextContent('The proof your wallet holds that this pension is protected is out of date. Your wallet still protects it');
    expect(line).toHaveTextContent('If you need one, ask Acme Pensions.');
    expect(line).not.toHaveTextContent('✓');
  });

  it('says nothing of proof on the cards when the wallet could not read its records just now', async () => {
    withPensions(enriched(), () => { throw { kind: 'store', message: 'the wallet is busy' }; });
    render(<Pensions onGoto={vi.fn()} />);
    expect(await screen.findAllByTestId('pension-card')).toHaveLength(3);
    expect(screen.queryAllByTestId('pension-proof')).toHaveLength(0);
    expect(screen.queryByText(/no proof/)).not.toBeInTheDocument();
  });

  it('keeps the proof line on a pension whose provider is down', async () => {
    withPensions(withAcmeDbDown());
    render(<Pensions onGoto={vi.fn()} />);
    const db = await card(ACME_DB);
    expect(within(db).getByTestId('pension-error')).toBeInTheDocument();
    expect(within(db).getByTestId('pension-proof')).toHaveTextContent(`✓ checked ${day(RECEIVED)}`);
  });
});
