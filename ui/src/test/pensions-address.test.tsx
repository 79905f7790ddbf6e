import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { Pensions } from '../screens/Pensions';
import { callsTo, deferred, mockCommands, sample } from './ipc';
import { expectNoViolations, likeIndexHtml } from './axe';
import type { AddressReport, AddressStatus, MyPensions, ReaddressedPension } from '../api';

const NOW = 'https://wallet.example.org';
const WAS = 'http://127.0.0.1:7420';
const acme: ReaddressedPension = {
  provider: 'http://127.0.0.1:38341', provider_name: 'Acme Pensions', pei: 'urn:pei:x:a1', scheme: 'Acme Staff Defined Benefit Scheme', was: WAS, error: null,
};
const northwind: ReaddressedPension = {
  provider: 'http://127.0.0.1:44935', provider_name: 'Northwind Pensions', pei: 'urn:pei:y:b2', scheme: 'Northwind Savings Plan', was: WAS, error: null,
};

function wallet(address: () => AddressStatus, follow?: () => AddressReport | Promise<AddressReport>) {
  return mockCommands({
    my_pensions: sample<MyPensions>('pensions'),
    list_grants: sample('grants'),
    list_clients: sample('clients'),
    get_identity: sample('identity'),
    list_providers: [],
    address_status: () => address(),
    ...(follow ? { follow_address: () => follow() } : {}),
  });
}

describe('pensions: the wallet\'s web address changed', () => {
  it('says nothing when every provider names the address now', async () => {
    wallet(() => ({ address: NOW, waiting: [], last: null }));
    render(<Pensions onGoto={vi.fn()} />);
    await screen.findAllByTestId('pension-card');
    expect(screen.queryByTestId('address-change')).toBeNull();
  });

  it('says which providers were told, which could not be, and tells them again on request', async () => {
    const failed = { ...northwind, error: 'Northwind Pensions did not answer' };
    let told = false;
    const telling = deferred<void>();
    const calls = wallet(
      () => told
        ? { address: NOW, waiting: [], last: { address: NOW, at: 2, updated: [acme, northwind], failed: [] } }
        : { address: NOW, waiting: [northwind], last: { address: NOW, at: 1, updated: [acme], failed: [failed] } },
      async () => { await telling.promise; told = true; return { address: NOW, at: 2, updated: [northwind], failed: [] }; },
    );
    likeIndexHtml();
    render(<Pensions onGoto={vi.fn()} />);
    const banner = await screen.findByTestId('address-change');
    expect(banner).toHaveTextContent(/Your wallet’s web address has changed/);
    expect(banner).toHaveTextContent(/send people who ask for Acme Staff Defined Benefit Scheme \(Acme Pensions\) to the new address/);
    expect(banner).toHaveTextContent(/Northwind Savings Plan \(Northwind Pensions\) still send people to the old address/);
    expect(screen.getByTestId('address-failed')).toHaveTextContent('Northwind Pensions could not be told this time. You can try again');
    // The provider's own words, which may hold addresses, only in the disclosure.
    expect(screen.getByTestId('address-failed')).not.toHaveTextContent('did not answer');
    expect(banner.querySelector('details')).toHaveTextContent('Northwind Pensions did not answer');
    // Plain words outside the disclosure; the addresses only inside it.
    const plain = banner.textContent!.replace(banner.querySelector('details')!.textContent!, '');
    expect(plain).not.toMatch(/issuer|UMA|http/i);
    await expectNoViolations();

    // A second press while the first is telling them tells them nothing more.
    const user = userEvent.setup();
    await user.click(screen.getByTestId('address-follow'));
    await user.click(screen.getByTestId('address-follow'));
    expect(callsTo(calls, 'follow_address')).toHaveLength(1);
    telling.resolve();
    const after = await screen.findByText(/Northwind Savings Plan \(Northwind Pensions\) to the new address/);
    expect(after).toBeTruthy();
    expect(screen.queryByTestId('address-follow')).toBeNull();
  });
});
