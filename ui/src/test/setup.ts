import '@testing-library/jest-dom/vitest';
import { cleanup } from '@testing-library/react';
import { clearMocks } from '@tauri-apps/api/mocks';
import { afterEach } from 'vitest';
import { webcrypto } from 'node:crypto';

// jsdom may lack crypto.getRandomValues, which Tauri's callback registry uses.
if (!globalThis.crypto || typeof globalThis.crypto.getRandomValues !== 'function') {
  Object.defineProperty(globalThis, 'crypto', { value: webcrypto, configurable: true });
}
if (typeof window !== 'undefined' && (!window.crypto || typeof window.crypto.getRandomValues !== 'function')) {
  Object.defineProperty(window, 'crypto', { value: webcrypto, configurable: true });
}

afterEach(() => {
  cleanup();
  clearMocks();
  // The text size is kept in storage and on the root element: each test starts at normal.
  localStorage.clear();
  document.documentElement.style.fontSize = '';
});
