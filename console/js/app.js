// The console's shell: sign-in, navigation by role, and hash routes that
// make every screen (and every quote) a deep link.

import { Client, RpcError, loadSchema } from './grpc.js';
import { h, replace } from './dom.js';
import { t, language, setLanguage } from './i18n.js';
import { signIn } from './views/signin.js';
import { callsView } from './views/calls.js';
import { scorecardView } from './views/scorecard.js';
import { coachingView } from './views/coaching.js';
import { rubricsView } from './views/rubrics.js';
import { queueView } from './views/queue.js';

const KEY_STORAGE = 'callscore.key';

const state = { schema: null, client: null, caller: null, leave: null };

/** What the signed-in key may do (GetCallerKey's permissions). */
export function may(permission) {
  return state.caller?.permissions.includes(permission) ?? false;
}

export function caller() { return state.caller; }
export function client() { return state.client; }

/** A short message in the live region. */
export function toast(text, kind = 'info') {
  const box = document.getElementById('toast');
  replace(box, text);
  box.className = `toast show ${kind}`;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.className = 'toast'; }, 6000);
}

/** An RPC failure as a sentence for people. */
export function describe(error) {
  if (error instanceof RpcError) {
    const known = t(`error.${error.code}`);
    return error.message && error.message !== error.code ? `${known}: ${error.message}` : known;
  }
  return String(error?.message ?? error);
}

async function start() {
  try {
    state.schema = await loadSchema();
  } catch (error) {
    replace(document.getElementById('main'), h('p', { class: 'error' }, t('error.schema'), ' ', String(error)));
    return;
  }
  const saved = sessionStorage.getItem(KEY_STORAGE);
  if (saved && await acceptKey(saved, false)) {
    route();
  } else {
    showSignIn();
  }
  window.addEventListener('hashchange', route);
}

async function acceptKey(key, report) {
  const candidate = new Client(state.schema, key);
  try {
    const answer = await candidate.call('KeyService', 'GetCallerKey', {});
    state.client = candidate;
    state.caller = answer;
    // For this tab only: closing it signs out.
    sessionStorage.setItem(KEY_STORAGE, key);
    return true;
  } catch (error) {
    sessionStorage.removeItem(KEY_STORAGE);
    if (report) throw error;
    return false;
  }
}

function showSignIn() {
  header();
  signIn(document.getElementById('main'), async (key) => {
    await acceptKey(key, true);
    if (!location.hash || location.hash === '#/' || location.hash === '#/signin') location.hash = home();
    else route();
  });
}

function signOut() {
  sessionStorage.removeItem(KEY_STORAGE);
  state.client = null;
  state.caller = null;
  state.leave?.();
  // A new hash renders the sign-in form through `route`; rendering it here
  // as well replaced the field a person (or a test) had started typing in.
  if (location.hash === '#/') showSignIn();
  else location.hash = '#/';
}

function home() {
  if (may('read_calls')) return '#/calls';
  if (may('read_scorecards')) return '#/scorecards';
  if (may('coach')) return '#/coaching';
  return '#/rubrics';
}

function header() {
  const top = document.getElementById('top');
  const links = [];
  if (state.caller) {
    if (may('read_calls') || may('read_scorecards')) links.push(['#/calls', t('nav.calls')]);
    if (may('review_scorecards')) links.push(['#/queue', t('nav.queue')]);
    if (may('coach')) links.push(['#/coaching', t('nav.coaching')]);
    if (may('read_rubrics')) links.push(['#/rubrics', t('nav.rubrics')]);
  }
  const current = location.hash.split('?')[0];
  replace(top,
    h('span', { class: 'brand' }, 'callscore'),
    h('nav', { 'aria-label': t('nav.label') },
      links.map(([href, label]) => h('a', {
        href, 'aria-current': current.startsWith(href) ? 'page' : null,
      }, label))),
    h('span', { class: 'spacer' }),
    h('label', { class: 'language' }, h('span', { class: 'visually-hidden' }, t('nav.language')),
      h('select', {
        'aria-label': t('nav.language'),
        onchange: (event) => { setLanguage(event.target.value); route(); },
      },
      h('option', { value: 'en', selected: language() === 'en' }, 'English'),
      h('option', { value: 'id', selected: language() === 'id' }, 'Bahasa Indonesia'))),
    state.caller ? h('span', { class: 'who', 'data-role': state.caller.key?.role }, `${t(`role.${state.caller.key?.role}`)} · ${state.caller.key?.label || state.caller.key?.key_id}`) : null,
    state.caller ? h('button', { type: 'button', class: 'link', id: 'sign-out', onclick: signOut }, t('nav.signout')) : null,
  );
}

/** `#/path/a/b?x=1` → { parts: ['path','a','b'], query: URLSearchParams }. */
export function currentRoute() {
  const [path, query] = location.hash.replace(/^#\/?/, '').split('?');
  return { parts: path.split('/').filter(Boolean).map(decodeURIComponent), query: new URLSearchParams(query ?? '') };
}

function route() {
  document.documentElement.lang = language();
  if (!state.caller) { showSignIn(); return; }
  state.leave?.();
  state.leave = null;
  header();
  const main = document.getElementById('main');
  const { parts, query } = currentRoute();
  const views = {
    calls: () => (parts[1] ? scorecardView(main, { callId: parts[1], query }) : callsView(main, query)),
    scorecards: () => (parts[1] ? scorecardView(main, { scorecardId: parts[1], query }) : callsView(main, query)),
    queue: () => queueView(main, query),
    coaching: () => coachingView(main, query),
    rubrics: () => rubricsView(main, query),
  };
  const view = views[parts[0]];
  if (!view) { location.hash = home(); return; }
  const leave = view();
  state.leave = typeof leave === 'function' ? leave : null;
  main.focus({ preventScroll: true });
}

start();
