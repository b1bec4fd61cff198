/** /join: the code (from the link or the QR code, or typed) and a name → POST /api/join → the room's lesson. */
export function initJoinForm(): void {
  const form = document.querySelector<HTMLFormElement>('.join-form');
  if (!form) return;
  const code = form.querySelector<HTMLInputElement>('#join-code')!;
  const name = form.querySelector<HTMLInputElement>('#join-name')!;
  const result = form.querySelector<HTMLElement>('.join-result')!;
  const button = form.querySelector<HTMLButtonElement>('button[type="submit"]')!;
  const fromLink = new URLSearchParams(location.search).get('code');
  if (fromLink) {
    code.value = fromLink.length === 6 ? `${fromLink.slice(0, 3)}-${fromLink.slice(3)}` : fromLink;
    name.focus();
  } else code.focus();
  name.value ||= localStorage.getItem('opslab-name') ?? '';

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (!code.value.trim()) return void ((result.textContent = 'Type the event code first.'), code.focus());
    if (!name.value.trim()) return void ((result.textContent = 'Type your name first.'), name.focus());
    button.disabled = true;
    result.textContent = 'Joining…';
    fetch('/api/join', { method: 'POST', credentials: 'same-origin', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code: code.value, name: name.value }) })
      .then(async (response) => {
        const body = (await response.json().catch(() => ({}))) as { url?: string; title?: string; error?: string };
        if (!response.ok || !body.url) throw new Error(body.error ?? `the server answered ${response.status}`);
        localStorage.setItem('opslab-name', name.value.trim());
        result.textContent = `Joined ${body.title ?? 'the event'}: opening the lesson…`;
        location.assign(body.url);
      })
      .catch((error: Error) => {
        result.textContent = error.message;
        button.disabled = false;
      });
  });
}
