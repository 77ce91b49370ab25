// Calls: the tenant's calls with filters and paging, their status kept live
// by one WatchCalls stream for the whole list. With a score filter the list
// is of scorecards (ListScorecards), which is where scores can be filtered.

import { h, replace, dateTime, score, clock } from '../dom.js';
import { t, language } from '../i18n.js';
import { client, may, caller, describe } from '../app.js';
import { timestampMs, toTimestamp } from '../proto.js';

const PAGE_SIZE = 25;
const STATUSES = ['', 'CALL_STATUS_QUEUED', 'CALL_STATUS_PROCESSING', 'CALL_STATUS_SCORED', 'CALL_STATUS_FAILED'];

export function callsView(main, query) {
  const filters = Object.fromEntries(query.entries());
  const scoreMode = Boolean(filters.min_score || filters.max_score || filters.failed || filters.critical)
    || !may('read_calls');
  const abort = new AbortController();
  const rows = new Map();
  const tbody = h('tbody');
  const notice = h('p', { class: 'notice', role: 'status', 'aria-live': 'polite' });
  const pager = h('div', { class: 'pager' });

  const field = (name, label, attributes = {}) => h('label', {},
    h('span', {}, label),
    h('input', { name, value: filters[name] ?? '', ...attributes }));
  const statusSelect = h('select', { name: 'status', disabled: scoreMode },
    STATUSES.map((status) => h('option', { value: status, selected: (filters.status ?? '') === status },
      status ? t(`status.${status}`) : t('calls.any'))));
  const form = h('form', {
    class: 'filters', role: 'search', 'aria-label': t('calls.filters'),
    onsubmit: (event) => {
      event.preventDefault();
      const params = new URLSearchParams();
      for (const [name, value] of new FormData(form).entries()) if (value) params.set(name, value);
      location.hash = `#/calls?${params}`;
    },
  },
  field('agent', t('calls.agent'), { disabled: Boolean(caller().key?.agent_id) }),
  field('team', t('calls.team'), { disabled: Boolean(caller().key?.team_id) }),
  field('from', t('calls.from'), { type: 'date' }),
  field('to', t('calls.to'), { type: 'date' }),
  h('label', {}, h('span', {}, t('calls.status')), statusSelect),
  field('min_score', t('calls.min_score'), { type: 'number', min: 0, max: 100, step: 'any' }),
  field('max_score', t('calls.max_score'), { type: 'number', min: 0, max: 100, step: 'any' }),
  field('failed', t('calls.failed_criterion')),
  h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'critical', value: '1', checked: filters.critical === '1' }), h('span', {}, t('calls.critical'))),
  h('button', { type: 'submit' }, t('calls.apply')));

  const head = scoreMode
    ? [t('calls.started'), t('calls.agent'), t('calls.team'), t('calls.score'), t('calls.critical_short'), '']
    : [t('calls.started'), t('calls.agent'), t('calls.team'), t('calls.duration'), t('calls.status'), t('calls.score'), ''];
  replace(main,
    h('h1', {}, scoreMode ? t('calls.title_scored') : t('calls.title')),
    form,
    notice,
    h('table', { class: 'list', id: 'calls-table' },
      h('thead', {}, h('tr', {}, head.map((label) => h('th', { scope: 'col' }, label)))),
      tbody),
    pager);

  const range = () => {
    const start = filters.from ? toTimestamp(Date.parse(`${filters.from}T00:00:00`)) : undefined;
    const end = filters.to ? toTimestamp(Date.parse(`${filters.to}T00:00:00`) + 86_400_000) : undefined;
    return start || end ? { start, end } : undefined;
  };

  async function load(pageToken) {
    replace(tbody);
    rows.clear();
    try {
      let items;
      let next;
      if (scoreMode) {
        const answer = await client().call('ScorecardService', 'ListScorecards', {
          page_size: PAGE_SIZE, page_token: pageToken, agent_id: filters.agent, team_id: filters.team,
          call_started: range(),
          min_score: filters.min_score ? Number(filters.min_score) : undefined,
          max_score: filters.max_score ? Number(filters.max_score) : undefined,
          failed_criterion_id: filters.failed,
          has_critical_failure: filters.critical === '1' ? true : undefined,
        });
        items = answer.scorecards.map(scorecardRow);
        next = answer.next_page_token;
      } else {
        const answer = await client().call('CallService', 'ListCalls', {
          page_size: PAGE_SIZE, page_token: pageToken, agent_id: filters.agent, team_id: filters.team,
          status: filters.status || undefined, call_started: range(),
        });
        items = answer.calls.map(callRow);
        next = answer.next_page_token;
      }
      if (items.length === 0) tbody.appendChild(h('tr', {}, h('td', { colspan: 7, class: 'empty' }, t('calls.none'))));
      replace(pager,
        pageToken ? h('button', { type: 'button', onclick: () => load('') }, t('calls.first')) : null,
        next ? h('button', { type: 'button', id: 'next-page', onclick: () => load(next) }, t('calls.next')) : null);
    } catch (error) {
      replace(notice, describe(error));
    }
  }

  function callRow(call) {
    const status = h('td', { class: 'status' });
    const overall = h('td', { class: 'number' });
    const length = h('td', {}, call.metadata?.audio_duration_ms ? clock(call.metadata.audio_duration_ms) : '—');
    const open = h('td');
    const row = h('tr', { 'data-call-id': call.call_id },
      h('td', {}, dateTime(timestampMs(call.metadata?.call_started_at) ?? timestampMs(call.created_at), language())),
      h('td', {}, call.metadata?.agent_id || '—'),
      h('td', {}, call.metadata?.team_id || '—'),
      length,
      status, overall, open);
    let shownScorecard = '';
    const update = (stage, progress, scorecardId, message) => {
      replace(status, h('span', { class: `badge ${stage}` }, t(`stage.${stage}`)),
        progress > 0 && progress < 1 ? ` ${Math.round(progress * 100)} %` : null,
        message ? h('span', { class: 'reason' }, ` ${message}`) : null);
      replace(open, scorecardId
        ? h('a', { href: `#/scorecards/${encodeURIComponent(scorecardId)}` }, t('calls.open'))
        : null);
      if (scorecardId && scorecardId !== shownScorecard && may('read_scorecards')) {
        shownScorecard = scorecardId;
        client().call('ScorecardService', 'GetScorecard', { scorecard_id: scorecardId }, abort.signal)
          .then(({ scorecard }) => {
            const result = scorecard.reviewed_result ?? scorecard.machine_result;
            if (scorecard.metrics?.duration_ms) replace(length, clock(scorecard.metrics.duration_ms));
            replace(overall, score(result?.overall_score),
              result?.critical_failures?.length ? h('span', { class: 'badge FAILED', title: t('calls.critical') }, '!') : null);
          })
          .catch(() => replace(overall, '—'));
      }
    };
    update(stageOf(call.status), 0, call.latest_scorecard_id, call.failure_reason);
    rows.set(call.call_id, update);
    tbody.appendChild(row);
    return row;
  }

  function scorecardRow(card) {
    const result = card.reviewed_result ?? card.machine_result;
    const row = h('tr', { 'data-scorecard-id': card.scorecard_id },
      h('td', {}, dateTime(timestampMs(card.call_started_at), language())),
      h('td', {}, card.agent_id || '—'),
      h('td', {}, card.team_id || '—'),
      h('td', { class: 'number' }, score(result?.overall_score)),
      h('td', {}, result?.critical_failures?.length ? h('span', { class: 'badge FAILED' }, t('calls.critical_short')) : ''),
      h('td', {}, h('a', { href: `#/scorecards/${encodeURIComponent(card.scorecard_id)}` }, t('calls.open'))));
    tbody.appendChild(row);
    return row;
  }

  async function watch() {
    if (!may('read_calls')) return;
    let newCalls = 0;
    try {
      for await (const change of client().stream('CallService', 'WatchCalls', {
        agent_id: filters.agent, team_id: filters.team,
      }, abort.signal)) {
        if (change.kind === 'watch.resync') { load(''); continue; }
        if (!change.call_id) continue;
        const update = rows.get(change.call_id);
        if (update) {
          update(stageName(change.stage), change.progress, change.scorecard_id, change.message);
        } else if (change.kind === 'call.queued') {
          newCalls += 1;
          replace(notice, t('calls.new', { count: newCalls }), ' ',
            h('button', { type: 'button', class: 'link', onclick: () => { newCalls = 0; replace(notice); load(''); } }, t('calls.refresh')));
        }
      }
    } catch (error) {
      if (error.name !== 'AbortError') replace(notice, t('calls.live_lost'), ' ', describe(error));
    }
  }

  load(filters.page ?? '');
  if (!scoreMode) watch();
  return () => abort.abort();
}

function stageOf(status) {
  return {
    CALL_STATUS_QUEUED: 'QUEUED', CALL_STATUS_PROCESSING: 'PROCESSING',
    CALL_STATUS_SCORED: 'DONE', CALL_STATUS_FAILED: 'FAILED',
  }[status] ?? 'QUEUED';
}

function stageName(stage) {
  return String(stage).replace('CALL_STAGE_', '') || 'QUEUED';
}
