// Coaching: an agent's trend per criterion with its 95 % confidence band and
// call counts, the team beside them, the coaching focus with quotes that
// open the scorecard at the quote, and coaching notes.

import { h, replace, score, clock, dateTime } from '../dom.js';
import { t, language } from '../i18n.js';
import { client, caller, describe, toast } from '../app.js';
import { timestampMs, toTimestamp } from '../proto.js';
import { trendChart } from '../chart.js';

const DAY = 86_400_000;

export function coachingView(main, query) {
  const agentId = query.get('agent') ?? caller().key?.agent_id ?? '';
  const to = query.get('to') ?? new Date(Date.now() + DAY).toISOString().slice(0, 10);
  const from = query.get('from') ?? new Date(Date.now() - 84 * DAY).toISOString().slice(0, 10);
  const bucket = query.get('bucket') ?? 'TREND_BUCKET_WEEK';
  const series = query.get('criterion') ?? '';

  const form = h('form', {
    class: 'filters', role: 'search', 'aria-label': t('coach.filters'),
    onsubmit: (event) => {
      event.preventDefault();
      const params = new URLSearchParams();
      for (const [name, value] of new FormData(form).entries()) if (value) params.set(name, value);
      location.hash = `#/coaching?${params}`;
    },
  },
  h('label', {}, h('span', {}, t('calls.agent')), h('input', { name: 'agent', value: agentId, required: true, id: 'coach-agent' })),
  h('label', {}, h('span', {}, t('calls.from')), h('input', { name: 'from', type: 'date', value: from })),
  h('label', {}, h('span', {}, t('calls.to')), h('input', { name: 'to', type: 'date', value: to })),
  h('label', {}, h('span', {}, t('coach.bucket')), h('select', { name: 'bucket' },
    ['TREND_BUCKET_DAY', 'TREND_BUCKET_WEEK', 'TREND_BUCKET_MONTH'].map((value) => h('option', { value, selected: value === bucket }, t(`bucket.${value}`))))),
  h('button', { type: 'submit' }, t('coach.show')));

  const chartBox = h('section', { class: 'card', 'aria-label': t('coach.trend') });
  const teamBox = h('section', { class: 'card', 'aria-label': t('coach.team') });
  const focusBox = h('section', { class: 'card', 'aria-label': t('coach.focus') });
  const notesBox = h('section', { class: 'card', 'aria-label': t('coach.notes') });
  replace(main, h('h1', {}, t('coach.title')), form, chartBox, teamBox, focusBox, notesBox);
  if (!agentId) { replace(chartBox, h('p', { class: 'muted' }, t('coach.pick_agent'))); return undefined; }

  const range = {
    start: toTimestamp(Date.parse(`${from}T00:00:00Z`)),
    end: toTimestamp(Date.parse(`${to}T00:00:00Z`)),
  };

  async function trend() {
    try {
      const answer = await client().call('InsightService', 'GetAgentTrend', { agent_id: agentId, range, bucket });
      const criteria = [...new Set(answer.points.flatMap((point) => point.criteria.map((c) => c.criterion_id)))];
      const points = answer.points.map((point) => {
        const mean = series ? point.criteria.find((c) => c.criterion_id === series)?.score : point.overall;
        return mean && mean.call_count > 0 ? {
          at: timestampMs(point.bucket_start), mean: mean.mean, low: mean.ci95_low, high: mean.ci95_high, count: mean.call_count,
        } : null;
      }).filter(Boolean);
      const select = h('select', {
        id: 'trend-series', 'aria-label': t('coach.series'),
        onchange: (event) => {
          const params = new URLSearchParams(query);
          params.set('agent', agentId);
          if (event.target.value) params.set('criterion', event.target.value); else params.delete('criterion');
          location.hash = `#/coaching?${params}`;
        },
      }, h('option', { value: '' }, t('coach.overall')),
      criteria.map((id) => h('option', { value: id, selected: id === series }, id)));
      replace(chartBox, h('h2', {}, t('coach.trend'), ' ', select),
        points.length
          ? trendChart(points, {
            label: t('coach.chart_label', { agent: agentId, series: series || t('coach.overall') }),
            dateLabel: (ms) => new Date(ms).toLocaleDateString(language() === 'id' ? 'id-ID' : 'en-GB', { month: 'short', day: 'numeric' }),
          })
          : h('p', { class: 'muted' }, t('coach.no_calls')),
        h('p', { class: 'help' }, t('coach.band_help')));
    } catch (error) {
      replace(chartBox, h('p', { class: 'error' }, describe(error)));
    }
  }

  async function focusAndTeam() {
    try {
      const focus = await client().call('InsightService', 'GetCoachingFocus', { agent_id: agentId, range, max_criteria: 3 });
      replace(focusBox, h('h2', {}, t('coach.focus')),
        focus.areas.length ? h('ol', { class: 'focus', id: 'focus-areas' }, focus.areas.map((area) => h('li', {},
          h('strong', {}, area.criterion_id), ' ',
          t('coach.gap', { agent: score(area.agent_mean), team: score(area.team_mean), gap: score(area.gap) }),
          h('ul', { class: 'examples' }, area.examples.map((example) => h('li', {},
            h('a', {
              href: `#/scorecards/${encodeURIComponent(example.scorecard_id)}?check=${encodeURIComponent(`${area.criterion_id}/${example.check_id}`)}&at=${example.evidence?.start_ms ?? 0}`,
            }, h('span', { class: 'time' }, clock(example.evidence?.start_ms ?? 0)), ' ', h('q', {}, example.evidence?.quote ?? example.reason)))))))) : h('p', { class: 'muted' }, t('coach.no_focus')));
      if (focus.team_id) {
        const team = await client().call('InsightService', 'GetTeamSummary', { team_id: focus.team_id, range });
        const criteria = [...new Set(team.agents.flatMap((agent) => agent.criteria.map((c) => c.criterion_id)))];
        replace(teamBox, h('h2', {}, t('coach.team'), ` ${focus.team_id}`),
          h('table', { class: 'list', id: 'team-table' },
            h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('calls.agent')), h('th', { scope: 'col' }, t('coach.overall')),
              h('th', { scope: 'col' }, t('coach.calls')), criteria.map((id) => h('th', { scope: 'col' }, id)))),
            h('tbody', {}, team.agents.map((agent) => h('tr', { class: agent.agent_id === agentId ? 'me' : null },
              h('th', { scope: 'row' }, agent.agent_id),
              h('td', { class: 'number' }, score(agent.overall?.mean)),
              h('td', { class: 'number' }, agent.overall?.call_count ?? 0),
              criteria.map((id) => h('td', { class: 'number' }, score(agent.criteria.find((c) => c.criterion_id === id)?.score?.mean))))),
            h('tr', { class: 'team-row' }, h('th', { scope: 'row' }, t('coach.team_mean')),
              h('td', { class: 'number' }, score(team.overall?.mean)), h('td', { class: 'number' }, team.overall?.call_count ?? 0),
              criteria.map(() => h('td', {}, ''))))));
      }
    } catch (error) {
      replace(focusBox, h('p', { class: 'error' }, describe(error)));
    }
  }

  async function notes() {
    try {
      const answer = await client().call('ReviewService', 'ListCoachingNotes', { agent_id: agentId });
      const text = h('textarea', { rows: 2, required: true, 'aria-label': t('coach.note_text'), id: 'note-text' });
      replace(notesBox, h('h2', {}, t('coach.notes')),
        h('ol', { class: 'notes' }, answer.notes.map((note) => h('li', {},
          h('span', { class: 'when' }, dateTime(timestampMs(note.created_at), language())), ' ',
          h('span', { class: 'actor' }, note.author), ': ', note.text))),
        h('form', {
          class: 'note-form',
          onsubmit: async (event) => {
            event.preventDefault();
            try {
              await client().call('ReviewService', 'AddCoachingNote', { agent_id: agentId, text: text.value.trim() });
              toast(t('coach.note_saved'));
              notes();
            } catch (error) { toast(describe(error), 'error'); }
          },
        }, h('label', { for: 'note-text' }, t('coach.note_text')), text, h('button', { type: 'submit' }, t('coach.add_note'))));
    } catch (error) {
      replace(notesBox, h('p', { class: 'error' }, describe(error)));
    }
  }

  trend();
  focusAndTeam();
  notes();
  return undefined;
}
