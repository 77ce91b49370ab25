// Sign-in: an API key, checked with GetCallerKey and kept for this tab only
// (sessionStorage), never in a cookie or local storage.

import { h, replace } from '../dom.js';
import { t } from '../i18n.js';
import { describe } from '../app.js';

export function signIn(main, accept) {
  const error = h('p', { class: 'error', role: 'alert', id: 'signin-error' });
  const key = h('input', {
    id: 'api-key', name: 'api-key', type: 'password', autocomplete: 'off', required: true,
    spellcheck: 'false', 'aria-describedby': 'signin-help signin-error',
  });
  const form = h('form', {
    class: 'signin card',
    onsubmit: async (event) => {
      event.preventDefault();
      replace(error);
      try {
        await accept(key.value.trim());
      } catch (failure) {
        replace(error, describe(failure));
        key.focus();
      }
    },
  },
  h('h1', {}, t('signin.title')),
  h('label', { for: 'api-key' }, t('signin.key')),
  key,
  h('p', { class: 'help', id: 'signin-help' }, t('signin.help')),
  h('button', { type: 'submit', id: 'signin-submit' }, t('signin.submit')),
  error);
  replace(main, form);
  key.focus();
}
