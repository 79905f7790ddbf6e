import axe from 'axe-core';
import { expect } from 'vitest';

/**
 * axe-core over the whole document: WCAG 2.x A and AA (2.2 included) and
 * axe's best practices. Colour contrast needs a real layout, which jsdom
 * has not: styles.css carries the measured figures for that.
 */
export async function expectNoViolations() {
  const results = await axe.run(document, {
    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] },
    rules: { 'color-contrast': { enabled: false } },
  });
  const found = results.violations.map((v) => `${v.id} (${v.impact}): ${v.help}\n  ${v.nodes.map((n) => n.target.join(' ')).join('\n  ')}`);
  expect(found).toEqual([]);
}

/** The page's language and title, as index.html has them: axe checks both. */
export function likeIndexHtml() {
  document.documentElement.lang = 'en-GB';
  document.title = 'Pension wallet';
}
