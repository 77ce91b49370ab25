// The reviewer's queue: review tasks sampled by the service (ListReviewTasks),
// claimed, opened and completed from here.

import { h, replace, dateTime } from '../dom.js';
import { t, language } from '../i18n.js';
import { client, describe, toast } from '../app.js';
import { timestampMs } from '../proto.js';

export function queueView(main, query) {
  const mine = query.get('mine') === '1';
  const state = query.get('state') ?? (mine ? 'REVIEW_TASK_STATE_IN_REVIEW' : 'REVIEW_TASK_STATE_TO_REVIEW');
  const body = h('tbody');
  const notice = h('p', { class: 'notice', role: 'status' });
  replace(main, h('h1', {}, t('queue.title')),
    h('nav', { class: 'tabs', 'aria-label': t('queue.title') },
      h('a', { href: '#/queue', 'aria-current': !mine ? 'page' : null }, t('queue.to_review')),
      h('a', { href: '#/queue?mine=1', 'aria-current': mine ? 'page' : null }, t('queue.mine'))),
    notice,
    h('table', { class: 'list', id: 'queue-table' },
      h('thead', {}, h('tr', {}, [t('calls.started'), t('calls.agent'), t('calls.team'), t('queue.reasons'), t('queue.state'), ''].map((label) => h('th', { scope: 'col' }, label)))),
      body));

  async function load() {
    try {
      const { tasks } = await client().call('ReviewService', 'ListReviewTasks', { state, mine, page_size: 50 });
      replace(body, tasks.length ? tasks.map(row) : h('tr', {}, h('td', { colspan: 6, class: 'empty' }, t('queue.empty'))));
    } catch (error) {
      replace(notice, describe(error));
    }
  }

  function row(task) {
    const open = h('a', { href: `#/scorecards/${encodeURIComponent(task.scorecard_id)}` }, t('calls.open'));
    const action = task.state === 'REVIEW_TASK_STATE_TO_REVIEW'
      ? h('button', {
        type: 'button',
        onclick: async () => {
          try {
            await client().call('ReviewService', 'ClaimReviewTask', { task_id: task.task_id });
            location.hash = `#/scorecards/${encodeURIComponent(task.scorecard_id)}`;
          } catch (error) { toast(describe(error), 'error'); load(); }
        },
      }, t('queue.claim'))
      : task.state === 'REVIEW_TASK_STATE_IN_REVIEW'
        ? h('button', {
          type: 'button',
          onclick: async () => {
            try {
              await client().call('ReviewService', 'CompleteReviewTask', { task_id: task.task_id });
              toast(t('queue.completed'));
              load();
            } catch (error) { toast(describe(error), 'error'); }
          },
        }, t('queue.complete'))
        : null;
    return h('tr', { 'data-task-id': task.task_id },
      h('td', {}, dateTime(timestampMs(task.call_started_at), language())),
      h('td', {}, task.agent_id || '—'),
      h('td', {}, task.team_id || '—'),
      h('td', {}, task.reasons.join(', ')),
      h('td', {}, t(`task.${task.state}`), task.assignee ? ` · ${task.assignee}` : ''),
      h('td', {}, open, ' ', action));
  }

  load();
  return undefined;
}
