// Sign-in: paste a bearer token. It is checked against GET /v1/whoami by the shell; a refused
// token comes back here with the reason in words.
import { h } from './dom.js';
import { t } from './i18n.js';

export function mount(root, { message, submit }) {
  const input = h('input', {
    id: 'token', name: 'token', type: 'password', autocomplete: 'off', spellcheck: 'false',
    required: true, 'aria-describedby': 'signin-lead signin-error',
  });
  const error = h('p', { id: 'signin-error', class: 'error-text', role: 'alert' }, message || '');
  const button = h('button', { type: 'submit', class: 'primary' }, t('signin.submit'));
  const form = h('form', { class: 'signin card-panel', 'aria-labelledby': 'signin-title' },
    h('h1', { id: 'signin-title' }, t('signin.title')),
    h('p', { id: 'signin-lead' }, t('signin.lead')),
    h('label', { for: 'token' }, t('signin.token')),
    input,
    error,
    button,
    h('p', { class: 'hint' }, h('code', {}, t('signin.hint'))));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const token = input.value.trim();
    if (!token) return;
    button.disabled = true;
    button.textContent = t('signin.checking');
    submit(token);
  });
  root.append(form);
  input.focus();
}
