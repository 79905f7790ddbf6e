import { mockIPC } from '@tauri-apps/api/mocks';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

import type { AppState } from '../api';

export type Handler = (args: Record<string, unknown>) => unknown;

/** An open wallet with its server running, as `app_state` answers. */
export const unlockedState: AppState = {
  wallet_exists: true, unlocked: true, data_dir: '/home/a/.wallet',
  settings: { listen: '127.0.0.1:8471', public_issuer: null, backups: { daily: false, keep: 7 }, start_at_login: true, unlock_at_login: false },
  server: { issuer: 'http://127.0.0.1:8471', owner_api: 'http://127.0.0.1:8471/owner', listen: '127.0.0.1:8471', pid: 7, notifies_owner: false },
};

export interface Call {
  cmd: string;
  args: Record<string, unknown>;
}

/** Install an IPC mock answering from `handlers`; unknown commands reject with
 * `{kind: 'not_mocked'}`. Returns the list of calls, in order. */
export function mockCommands(handlers: Record<string, Handler | unknown>): Call[] {
  const calls: Call[] = [];
  mockIPC(async (cmd, payload) => {
    const args = (payload ?? {}) as Record<string, unknown>;
    calls.push({ cmd, args });
    if (!(cmd in handlers)) throw { kind: 'not_mocked', message: `no mock for ${cmd}` };
    const h = handlers[cmd];
    return typeof h === 'function' ? await (h as Handler)(args) : structuredClone(h);
  });
  return calls;
}

export const callsTo = (calls: Call[], cmd: string) => calls.filter((c) => c.cmd === cmd);

const here = dirname(fileURLToPath(import.meta.url));

/** Real answers captured from the running wallet. */
export function sample<T = unknown>(name: string): T {
  return JSON.parse(readFileSync(join(here, 'fixtures', `${name}.json`), 'utf8')) as T;
}

/** A promise whose resolution the test controls. */
export function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => { resolve = res; reject = rej; });
  return { promise, resolve, reject };
}
