import { useState } from 'react';

/**
 * A web address the owner may want to open: shown as text with a Copy
 * button, never as a link. The app's window has no way to hand a link to
 * the web browser, and following one inside the window would leave the
 * wallet with no way back.
 */
export function WebAddress({ url, what, testId }: { url: string; what: string; testId?: string }) {
  const [copied, setCopied] = useState<'yes' | 'failed' | null>(null);
  async function copy() {
    try {
      await navigator.clipboard.writeText(url);
      setCopied('yes');
    } catch {
      setCopied('failed');
    }
  }
  return (
    <span className="web-address" data-testid={testId}>
      <span className="web-address-text">{url}</span>{' '}
      <button type="button" className="web-address-copy" onClick={copy} aria-label={`Copy the address of ${what}`}>Copy</button>
      {/* Said politely: the button the owner pressed keeps focus. */}
      <span role="status" className="web-address-said">
        {copied === 'yes' ? 'Copied. Paste it into your web browser.' : copied === 'failed' ? 'Could not copy: select the address and copy it yourself.' : ''}
      </span>
    </span>
  );
}
