import { render, screen, within } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import { Pensions } from '../screens/Pensions';
import { buildSeries } from '../IncomeChart';
import { mockCommands, sample } from './ipc';
import type { MyPensions, PensionOk } from '../api';

function withPensions(pensions: MyPensions) {
  return mockCommands({
    my_pensions: pensions,
    list_grants: sample('grants'),
    list_clients: sample('clients'),
    get_identity: sample('identity'),
    list_resources: sample('resources'),
    list_providers: [{ url: 'http://127.0.0.1:38341', name: 'Acme Pensions', added_at: 1 }, { url: 'http://127.0.0.1:44935', name: null, added_at: 1 }],
  });
}

describe('pensions', () => {
  it('shows how each pension matched the owner, as the provider said', async () => {
    const mine = sample<MyPensions>('pensions');
    const [first, second] = mine.pensions as PensionOk[];
    first.match_status = 'match-possible';
    second.match_status = 'match-yes';
    withPensions(mine);
    render(<Pensions onGoto={vi.fn()} />);
    const labels = (await screen.findAllByTestId('pension-match')).map((l) => l.textContent);
    expect(labels.sort()).toEqual(['Matches you', 'Possible match']);
  });

  it('shows totals and groups pensions by provider with who has access', async () => {
    withPensions(sample<MyPensions>('pensions'));
    render(<Pensions onGoto={vi.fn()} />);
    const total = await screen.findByTestId('pensions-total');
    expect(total).toHaveTextContent('£16,750');
    expect(total).toHaveTextContent('£176,200');
    expect(screen.getAllByTestId('pension-card')).toHaveLength(3);

    const groups = screen.getAllByTestId('provider-group');
    expect(groups).toHaveLength(2);
    const acme = groups.find((g) => within(g).queryByRole('heading', { name: 'Acme Pensions' }))!;
    expect(within(acme).getAllByTestId('pension-card')).toHaveLength(2);
    const northwind = groups.find((g) => g !== acme)!;
    expect(within(northwind).getByRole('heading', { level: 2 })).toHaveTextContent('http://127.0.0.1:44935');
    expect(within(northwind).getByTestId('pension-card')).toHaveTextContent('Northwind Master Trust');

    const db = within(acme).getAllByTestId('pension-card').find((c) => c.textContent!.includes('Acme Staff Defined Benefit Scheme'))!;
    expect(db).toHaveTextContent('£9,450');
    expect(db).toHaveTextContent('12 Apr 2040');
    expect(db).toHaveTextContent(/Acme Manufacturing Ltd: 1 Sept? 1998 to 31 Mar 2012/);
    const access = within(db).getByTestId('pension-access');
    expect(access).toHaveTextContent('Family dashboard');
    expect(access).toHaveTextContent('This wallet (the owner)');
  });

  it('shows a per-pension error on that card only', async () => {
    const data = sample<MyPensions>('pensions');
    data.pensions[0] = { resource_id: 'x', provider: 'http://127.0.0.1:44935', provider_resource_id: 'broken', pei: 'urn:pei:broken', match_status: null, error: 'provider unreachable' };
    withPensions(data);
    render(<Pensions onGoto={vi.fn()} />);
    const cards = await screen.findAllByTestId('pension-card');
    const broken = cards.filter((c) => within(c).queryByRole('alert'));
    expect(broken).toHaveLength(1);
    expect(broken[0]).toHaveTextContent('provider unreachable');
    expect(broken[0]).toHaveTextContent('urn:pei:broken');
  });

  it('draws one chart series per pension', async () => {
    withPensions(sample<MyPensions>('pensions'));
    render(<Pensions onGoto={vi.fn()} />);
    const chart = await screen.findByTestId('income-chart');
    const series = within(chart as unknown as HTMLElement).getAllByTestId('chart-series');
    expect(series.map((s) => s.getAttribute('data-series')).sort()).toEqual(
      ['Acme Group Personal Pension', 'Acme Staff Defined Benefit Scheme', 'Northwind Master Trust'],
    );
  });

  it('stacks income from each payable age onward', () => {
    const series = buildSeries(sample<MyPensions>('pensions').pensions as PensionOk[], '1975-04-12');
    const byName = Object.fromEntries(series.map((s) => [s.label, s.steps]));
    expect(byName['Northwind Master Trust']).toEqual([{ age: 65, amount: 1180 }]);
    expect(byName['Acme Group Personal Pension']).toEqual([{ age: 67, amount: 6120 }]);
    // a birthday one day later: not yet 65 on the payable date
    expect(buildSeries(sample<MyPensions>('pensions').pensions as PensionOk[], '1975-04-13')[0].steps[0].age).toBe(64);
  });

  it('shows the empty state pointing to Offers', async () => {
    withPensions({ pensions: [], totals: { estimated_annual_income: 0, dc_pots: 0 } });
    render(<Pensions onGoto={vi.fn()} />);
    expect(await screen.findByText('No pensions yet — go to Offers to find them.')).toBeInTheDocument();
  });
});
