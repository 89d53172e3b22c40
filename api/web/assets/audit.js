// The auditor's page: the hash-chain verification (GET /v1/audit/verify) and the headline
// figures at the point chosen with the "as of" control in the toolbar (or live without one).
import * as api from './api.js';
import { h, clear, loading, error_box, debounce } from './dom.js';
import { t, has, format_number } from './i18n.js';
import { headline_tiles } from './metrics.js';

// The verify answer's shape is the server's; show its verdict and every field it gives.
function verdict(result) {
  const ok = result.ok ?? result.intact ?? result.valid ?? (result.first_bad_position ? false : undefined);
  return ok;
}

function verify_el(result) {
  const ok = verdict(result);
  return h('div', { class: ['verify', ok === true && 'ok', ok === false && 'broken'], id: 'verify-result', dataset: { ok: String(ok) } },
    h('p', { class: 'verify-verdict', role: 'status' },
      ok === true ? `✔ ${t('audit.verify.ok')}` : ok === false ? `✖ ${t('audit.verify.broken')}` : ''),
    h('dl', { class: 'facts' }, Object.entries(result)
      .filter(([k, v]) => k !== 'ok' && v !== '' && v !== null && typeof v !== 'object')
      .filter(([k, v]) => !(k === 'first_bad_position' && v === 0))
      .map(([k, v]) => [h('dt', {}, has(`verify.${k}`) ? t(`verify.${k}`) : k),
        h('dd', {}, typeof v === 'number' ? format_number(v) : String(v))])));
}

export function mount(root, ctx) {
  const verify_box = h('div', {}, loading());
  const run = h('button', { type: 'button', id: 'verify-run' }, t('audit.verify.run'));
  const tiles = h('div', { class: 'headline-wrap' }, loading());
  const when = h('p', { class: 'meta', id: 'audit-when' });
  root.append(
    h('div', { class: 'view-head' }, h('h1', {}, t('audit.title'))),
    h('section', { class: 'panel', 'aria-labelledby': 'asof-title' },
      h('h2', { id: 'asof-title' }, t('audit.as_of_title')),
      h('p', { class: 'hint' }, t('audit.as_of_hint')),
      when, tiles),
    h('section', { class: 'panel', 'aria-labelledby': 'verify-title' },
      h('h2', { id: 'verify-title' }, t('audit.verify'), ' ', run), verify_box));
  let cancelled = false;

  const verify = () => {
    clear(verify_box).append(loading());
    run.disabled = true;
    api.get('/v1/audit/verify')
      .then((r) => { if (!cancelled) clear(verify_box).append(verify_el(r)); })
      .catch((err) => { if (!cancelled) clear(verify_box).append(error_box(err.message, verify)); })
      .finally(() => { run.disabled = false; });
  };
  run.addEventListener('click', verify);
  verify();

  let seq = 0;
  const load = (min_position) => {
    const mine = ++seq;
    api.get('/v1/metrics/headline', { as_of: ctx.as_of, min_position })
      .then((v) => {
        if (cancelled || mine !== seq) return;
        when.textContent = ctx.as_of ? t('as_of.banner', { when: ctx.as_of }) : `${t('live')} ・ ${t('position')} ${v.position ?? ''}`;
        clear(tiles).append(headline_tiles(v));
      })
      .catch((err) => { if (!cancelled && mine === seq) clear(tiles).append(error_box(err.message, () => load())); });
  };
  load();
  if (ctx.as_of) return () => { cancelled = true; };
  let latest = 0;
  const refresh = debounce(() => load(latest), 400);
  const on_event = (e) => {
    latest = Math.max(latest, Number(e.detail.position) || 0);
    refresh();
  };
  ctx.bus.addEventListener('event', on_event);
  return () => {
    cancelled = true;
    refresh.cancel();
    ctx.bus.removeEventListener('event', on_event);
  };
}
