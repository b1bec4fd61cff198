/** Light/dark theme: follows the system until the attendee picks one; terminals listen for changes. */
export type Theme = 'light' | 'dark';
export const THEME_EVENT = 'opslab:theme';

export function currentTheme(): Theme {
  return document.documentElement.dataset.theme === 'dark' ? 'dark' : 'light';
}

export function initThemeToggle(): void {
  document.querySelector('.theme-toggle')?.addEventListener('click', () => {
    const next: Theme = currentTheme() === 'dark' ? 'light' : 'dark';
    document.documentElement.dataset.theme = next;
    localStorage.setItem('opslab-theme', next);
    window.dispatchEvent(new CustomEvent(THEME_EVENT, { detail: next }));
  });
}
