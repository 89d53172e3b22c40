// HTTP queries with the bearer token. The token lives in sessionStorage only: it is gone when
// the tab closes and is never written to the URL or to localStorage.
import { t } from './i18n.js';

const token_key = 'kakehashi.token';

export function token() {
  return sessionStorage.getItem(token_key) ?? '';
}

export function set_token(value) {
  if (value) sessionStorage.setItem(token_key, value);
  else sessionStorage.removeItem(token_key);
}

// An HTTP failure, with a message in words for the user (`message`) and the server's details.
export class api_error extends Error {
  constructor(status, code, server_message) {
    super(describe(status, code, server_message));
    this.status = status;
    this.code = code;
    this.server_message = server_message;
  }
}

function describe(status, code, server_message) {
  if (status === 0) return t('error.network');
  if ([401, 403, 404, 429, 503].includes(status)) {
    const base = t(`error.${status}`);
    return server_message && status !== 401 ? `${base}（${server_message}）` : base;
  }
  if (status >= 500) return t('error.5xx');
  return t('error.generic', { message: server_message || code || status });
}

// Called with the error on a 401, so the app can send the user back to sign-in.
let on_unauthorized = () => {};
export function set_unauthorized_handler(fn) {
  on_unauthorized = fn;
}

// GET path with `params` (undefined/null/'' left out) -> parsed JSON, or throws api_error.
export async function get(path, params = {}) {
  const url = new URL(path, location.origin);
  for (const [key, value] of Object.entries(params))
    if (value !== undefined && value !== null && value !== '') url.searchParams.set(key, value);
  let res;
  try {
    res = await fetch(url, {
      headers: { Authorization: `Bearer ${token()}`, Accept: 'application/json' },
      cache: 'no-store',
    });
  } catch {
    throw new api_error(0, 'network', '');
  }
  let body = null;
  try {
    body = await res.json();
  } catch {
    body = null;
  }
  if (!res.ok) {
    const err = new api_error(res.status, body?.error?.code ?? '', body?.error?.message ?? '');
    if (res.status === 401) on_unauthorized(err);
    throw err;
  }
  return body;
}
