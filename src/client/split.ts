/** The resizable split between lesson text and terminals: drag or arrow keys; remembered per browser. */
const KEY = 'opslab-split';

export function initSplit(page: HTMLElement, gutter: HTMLElement, onResize: () => void): void {
  const apply = (percent: number) => {
    const clamped = Math.min(75, Math.max(25, percent));
    page.style.setProperty('--text-width', `${clamped}%`);
    gutter.setAttribute('aria-valuenow', String(Math.round(clamped)));
    onResize();
    return clamped;
  };
  const saved = Number(localStorage.getItem(KEY));
  if (saved) apply(saved);
  gutter.addEventListener('pointerdown', (down) => {
    gutter.setPointerCapture(down.pointerId);
    const rect = page.getBoundingClientRect();
    const move = (event: PointerEvent) => localStorage.setItem(KEY, String(apply(((event.clientX - rect.left) / rect.width) * 100)));
    const up = () => {
      gutter.removeEventListener('pointermove', move);
      gutter.removeEventListener('pointerup', up);
    };
    gutter.addEventListener('pointermove', move);
    gutter.addEventListener('pointerup', up);
  });
  gutter.addEventListener('keydown', (event) => {
    if (event.key !== 'ArrowLeft' && event.key !== 'ArrowRight') return;
    const current = Number(gutter.getAttribute('aria-valuenow') ?? 50);
    localStorage.setItem(KEY, String(apply(current + (event.key === 'ArrowLeft' ? -5 : 5))));
  });
}
