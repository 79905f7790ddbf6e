/** The owner's choice of text size: kept on this computer, applied to the
 * root font size so that everything sized in rem grows with it. */
export type TextSize = 'normal' | 'large' | 'larger';

export const TEXT_SIZES: { value: TextSize; label: string; percent: number }[] = [
  { value: 'normal', label: 'Normal', percent: 100 },
  { value: 'large', label: 'Large', percent: 125 },
  { value: 'larger', label: 'Larger', percent: 150 },
];

const KEY = 'pension-wallet.text-size';

export function storedTextSize(): TextSize {
  try {
    const v = localStorage.getItem(KEY);
    return TEXT_SIZES.find((s) => s.value === v)?.value ?? 'normal';
  } catch {
    // Storage can be unavailable (a locked-down profile): the text stays normal.
    return 'normal';
  }
}

export function applyTextSize(size: TextSize) {
  const percent = TEXT_SIZES.find((s) => s.value === size)?.percent ?? 100;
  // Normal leaves the stylesheet's size in force.
  document.documentElement.style.fontSize = percent === 100 ? '' : `${percent}%`;
}

export function saveTextSize(size: TextSize) {
  try {
    localStorage.setItem(KEY, size);
  } catch {
    // Not kept for next time, but still applied now.
  }
  applyTextSize(size);
}
