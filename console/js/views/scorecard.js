// A scorecard beside its transcript and recording. Every check shows its
// evidence; clicking a quote scrolls the transcript to it, highlights the
// quoted words and plays the recording from that moment. Reviewers override
// a check with a reason; the machine's answer stays beside theirs.

import { h, replace, clock, dateTime, score } from '../dom.js';
import { t, language } from '../i18n.js';
import { client, may, describe, toast } from '../app.js';
import { RpcError } from '../grpc.js';
import { timestampMs } from '../proto.js';
import { fetchWav, player } from '../audio.js';

const OUTCOMES = ['CHECK_OUTCOME_PASS', 'CHECK_OUTCOME_FAIL', 'CHECK_OUTCOME_NOT_APPLICABLE'];
const REDACTION = /(\[[A-Z][A-Z_]*\])/;

export function scorecardView(main, { callId, scorecardId, query }) {
  const page = { player: null, segments: [], card: null, call: null, transcript: null };
  const transcriptPane = h('section', { class: 'transcript', id: 'transcript', 'aria-label': t('card.transcript') });
  const criteriaPane = h('section', { class: 'criteria', id: 'criteria', 'aria-label': t('card.criteria') });
  const playerSlot = h('div', { class: 'player-slot' });
  const summary = h('div', { class: 'summary' });
  const audit = h('section', { class: 'audit', id: 'audit', 'aria-label': t('card.audit') });
  replace(main,
    h('p', {}, h('a', { href: '#/calls' }, `← ${t('nav.calls')}`)),
    summary, playerSlot,
    h('div', { class: 'split' }, transcriptPane, criteriaPane),
    audit);

  async function load() {
    try {
      let id = scorecardId;
      if (!id) {
        const { call } = await client().call('CallService', 'GetCall', { call_id: callId });
        id = call.latest_scorecard_id;
        if (!id) { replace(summary, h('p', {}, t('card.not_scored'))); return; }
      }
      const { scorecard } = await client().call('ScorecardService', 'GetScorecard', { scorecard_id: id });
      page.card = scorecard;
      if (may('read_calls')) {
        const answer = await client().call('CallService', 'GetCall', { call_id: scorecard.call_id });
        page.call = answer.call;
        page.transcript = answer.transcript;
      }
      render();
      loadAudio();
      loadAudit();
      const check = query.get('check');
      if (check) focusEvidence(check, Number(query.get('ev') ?? 0), query.get('at'));
    } catch (error) {
      replace(summary, h('p', { class: 'error', role: 'alert' }, describe(error)));
    }
  }

  function render() {
    const card = page.card;
    const result = card.reviewed_result ?? card.machine_result;
    const machine = card.machine_result;
    replace(summary,
      h('h1', {}, t('card.title'), ' ', h('span', { class: 'overall', id: 'overall-score' }, score(result.overall_score))),
      h('dl', { class: 'facts' },
        fact(t('calls.agent'), card.agent_id || '—'),
        fact(t('calls.team'), card.team_id || '—'),
        fact(t('calls.started'), dateTime(timestampMs(card.call_started_at), language())),
        fact(t('card.rubric'), `${card.rubric_id} v${card.rubric_version}`),
        fact(t('card.machine_score'), score(machine.overall_score)),
        fact(t('card.model'), card.model_id || '—'),
        result.critical_failures.length
          ? fact(t('card.critical'), result.critical_failures.map((ref) => `${ref.criterion_id}/${ref.check_id}`).join(', '))
          : null),
      h('p', {}, h('a', { href: `#/scorecards/${encodeURIComponent(card.scorecard_id)}`, class: 'permalink' }, t('card.permalink'))));
    renderTranscript();
    renderAttribution();
    replace(criteriaPane, result.criteria.map((criterion) => criterionBlock(criterion, machine)));
  }

  /** How a mono recording's voices were told apart; a warning when the
   * speakers look swapped, with the quotes that say so. */
  function renderAttribution() {
    const voices = page.transcript?.attribution?.voices;
    if (voices?.reason) {
      summary.appendChild(h('div', { class: 'note', role: 'note', id: 'voices-note' },
        h('strong', {}, t('card.voices')), ' ', voices.reason));
    }
    const warning = page.transcript?.attribution?.warning;
    if (!warning) return;
    summary.appendChild(h('div', { class: 'warning', role: 'note', id: 'attribution-warning' },
      h('strong', {}, t('card.swapped')), ' ', warning,
      h('ul', {}, page.transcript.attribution.cues.map((cue) => h('li', {},
        h('button', {
          type: 'button', class: 'quote', 'aria-label': t('card.play_from', { time: clock(cue.start_ms) }),
          onclick: () => page.player?.playFrom(cue.start_ms),
        }, h('span', { class: 'time' }, clock(cue.start_ms)), ' ',
        t(`speaker.${cue.speaker}`), ': ', h('q', {}, cue.quote)))))));
  }

  function fact(term, value) { return h('div', {}, h('dt', {}, term), h('dd', {}, value)); }

  function renderTranscript() {
    const transcript = page.transcript;
    if (!transcript) {
      replace(transcriptPane, h('h2', {}, t('card.transcript')), h('p', { class: 'muted' }, t('card.no_transcript')));
      return;
    }
    if (page.call?.transcript_purged_at) {
      replace(transcriptPane, h('h2', {}, t('card.transcript')), h('p', { class: 'muted' }, t('card.transcript_deleted')));
      return;
    }
    page.segments = transcript.segments;
    replace(transcriptPane, h('h2', {}, t('card.transcript')),
      h('ol', { class: 'segments' }, transcript.segments.map((segment, index) => h('li', {
        class: `segment ${segment.speaker}`, id: `segment-${index}`,
        'data-start-ms': segment.start_ms, 'data-end-ms': segment.end_ms,
      },
      h('button', {
        type: 'button', class: 'time', 'aria-label': t('card.play_from', { time: clock(segment.start_ms) }),
        onclick: () => page.player?.playFrom(segment.start_ms),
      }, clock(segment.start_ms)),
      h('span', { class: 'speaker' }, t(`speaker.${segment.speaker}`),
        segment.voice ? ` · ${t('speaker.voice', { n: segment.voice })}` : ''),
      segment.language ? h('span', { class: 'lang' }, segment.language) : null,
      h('span', { class: 'text' }, segmentText(segment))))));
  }

  function segmentText(segment) {
    if (segment.words?.length) {
      return segment.words.map((word) => [h('span', {
        class: REDACTION.test(word.text) ? 'word redacted' : 'word',
        'data-start-ms': word.start_ms, 'data-end-ms': word.end_ms,
      }, word.text.trim()), ' ']);
    }
    return segment.text.split(REDACTION).map((part) => (REDACTION.test(part)
      ? h('span', { class: 'redacted', title: t('card.redacted') }, part)
      : part));
  }

  function criterionBlock(criterion, machine) {
    const machineCriterion = machine.criteria.find((c) => c.criterion_id === criterion.criterion_id);
    return h('article', { class: 'criterion', 'data-criterion': criterion.criterion_id },
      h('h2', {}, criterion.name || criterion.criterion_id, ' ',
        h('span', { class: 'score' }, score(criterion.score))),
      h('ul', { class: 'checks' }, criterion.checks.map((check) => {
        const machineCheck = machineCriterion?.checks.find((c) => c.check_id === check.check_id);
        return checkBlock(criterion, check, machineCheck);
      })));
  }

  function checkBlock(criterion, check, machineCheck) {
    const key = `${criterion.criterion_id}/${check.check_id}`;
    const outcome = check.outcome.replace('CHECK_OUTCOME_', '');
    const item = h('li', { class: `check ${outcome}`, id: `check-${key}`, 'data-check': key },
      h('div', { class: 'check-head' },
        h('span', { class: `badge ${outcome}` }, t(`outcome.${outcome}`)),
        check.critical ? h('span', { class: 'badge critical' }, t('card.critical_check')) : null,
        h('span', { class: 'description' }, check.description || check.check_id),
        h('span', { class: 'points' }, `${Number(check.earned_points).toFixed(1)} / ${Number(check.possible_points).toFixed(1)}`),
        check.fraction !== undefined ? h('span', { class: 'fraction' }, `${Math.round(check.fraction * 100)} %`) : null),
      check.reason ? h('p', { class: 'reason' }, check.reason) : null,
      check.review ? h('p', { class: 'reviewed' },
        t('card.machine_said', { outcome: t(`outcome.${(machineCheck?.outcome ?? '').replace('CHECK_OUTCOME_', '')}`) }),
        machineCheck?.fraction !== undefined ? ` (${Math.round(machineCheck.fraction * 100)} %)` : '',
        ' · ', t('card.reviewed_by', { reviewer: check.review.reviewer, time: dateTime(timestampMs(check.review.at), language()) }),
        ': ', h('q', {}, check.review.reason)) : null,
      check.evidence.length ? h('ol', { class: 'evidence' }, check.evidence.map((evidence, index) => h('li', {},
        h('button', {
          type: 'button', class: 'quote', 'data-evidence': `${key}#${index}`,
          'aria-label': t('card.hear_quote', { time: clock(evidence.start_ms) }),
          onclick: () => focusEvidence(key, index),
        }, h('span', { class: 'time' }, clock(evidence.start_ms)), ' ', h('q', {}, evidence.quote)),
        evidence.markers.length ? h('ul', { class: 'markers' }, evidence.markers.map((marker) => h('li', {},
          h('span', { class: 'marker-kind' }, marker.kind), ' ',
          h('span', { class: marker.weight < 0 ? 'weight negative' : 'weight' }, Number(marker.weight).toFixed(2)), ' ',
          h('q', {}, marker.quote)))) : null))) : null,
      may('review_scorecards') ? reviewControls(criterion, check) : null);
    return item;
  }

  function reviewControls(criterion, check) {
    const box = h('div', { class: 'review' });
    const open = h('button', {
      type: 'button', class: 'review-open', 'aria-expanded': 'false',
      onclick: () => {
        open.setAttribute('aria-expanded', 'true');
        replace(box, overrideForm(criterion, check, () => { replace(box, open); open.setAttribute('aria-expanded', 'false'); }));
      },
    }, t('review.override'));
    box.appendChild(open);
    return box;
  }

  function overrideForm(criterion, check, close) {
    const name = `outcome-${criterion.criterion_id}-${check.check_id}`;
    const error = h('p', { class: 'error', role: 'alert' });
    const reason = h('textarea', { name: 'reason', required: true, rows: 2, 'aria-label': t('review.reason') });
    const graded = check.fraction !== undefined;
    const fraction = graded ? h('input', {
      type: 'number', name: 'fraction', min: 0, max: 100, step: 1, 'aria-label': t('review.fraction'),
    }) : null;
    const form = h('form', {
      class: 'override',
      onsubmit: async (event) => {
        event.preventDefault();
        replace(error);
        const chosen = form.querySelector(`input[name="${name}"]:checked`)?.value;
        if (!reason.value.trim()) { replace(error, t('review.reason_required')); reason.focus(); return; }
        const share = fraction && fraction.value !== '' ? Number(fraction.value) / 100 : undefined;
        if (!chosen && share === undefined) { replace(error, t('review.outcome_required')); return; }
        try {
          const answer = await client().call('ReviewService', 'OverrideCheck', {
            scorecard_id: page.card.scorecard_id,
            criterion_id: criterion.criterion_id,
            check_id: check.check_id,
            new_outcome: chosen,
            new_fraction: share,
            reason: reason.value.trim(),
            expected_review_revision: page.card.review_revision,
          });
          page.card = answer.scorecard;
          render();
          loadAudit();
          toast(t('review.saved'));
        } catch (failure) {
          if (failure instanceof RpcError && failure.code === 'ABORTED') {
            replace(error, t('review.aborted'), ' ',
              h('button', { type: 'button', class: 'link', onclick: () => load() }, t('review.reload')));
          } else {
            replace(error, describe(failure));
          }
        }
      },
    },
    h('fieldset', {},
      h('legend', {}, t('review.new_outcome')),
      OUTCOMES.map((value) => h('label', { class: 'check' },
        h('input', { type: 'radio', name, value }),
        h('span', {}, t(`outcome.${value.replace('CHECK_OUTCOME_', '')}`))))),
    graded ? h('label', {}, h('span', {}, t('review.fraction')), fraction) : null,
    h('label', {}, h('span', {}, t('review.reason')), reason),
    h('div', { class: 'actions' },
      h('button', { type: 'submit', class: 'primary' }, t('review.save')),
      h('button', { type: 'button', onclick: close }, t('review.cancel'))),
    error);
    return form;
  }

  async function loadAudio() {
    if (!page.call) return;
    if (!may('listen_to_calls')) return;
    if (!Number(page.call.audio_bytes) && !page.call.audio_purged_at) {
      replace(playerSlot, h('p', { class: 'muted', id: 'no-audio' }, t('card.no_audio')));
      return;
    }
    if (page.call.audio_purged_at) {
      replace(playerSlot, h('p', { class: 'muted', id: 'audio-deleted' },
        t('card.audio_deleted', { time: dateTime(timestampMs(page.call.audio_purged_at), language()) })));
      return;
    }
    replace(playerSlot, h('p', { class: 'muted' }, t('card.audio_loading')));
    try {
      const wav = await fetchWav(client(), page.call.call_id);
      const segments = page.transcript?.segments ?? [];
      const lastEnd = segments.reduce((end, segment) => Math.max(end, Number(segment.end_ms)), 0);
      page.player = player({
        wav,
        durationMs: Number(page.call.metadata?.audio_duration_ms) || lastEnd,
        segments,
        labels: {
          audio: t('card.recording'), waveform: t('card.waveform'), player: t('card.player'),
          agent: t('speaker.SPEAKER_AGENT'), customer: t('speaker.SPEAKER_CUSTOMER'),
        },
      });
      if (page.pendingStartMs !== undefined) page.player.audio.currentTime = page.pendingStartMs / 1000;
      replace(playerSlot, page.player.element,
        page.call.audio_redacted_at ? h('p', { class: 'muted' }, t('card.audio_redacted')) : null);
    } catch (error) {
      replace(playerSlot, h('p', { class: 'error' }, describe(error)));
    }
  }

  async function loadAudit() {
    if (!may('review_scorecards')) { replace(audit); return; }
    try {
      const { events } = await client().call('ReviewService', 'ListAuditEvents', { scorecard_id: page.card.scorecard_id });
      replace(audit, h('h2', {}, t('card.audit')),
        h('ol', { class: 'audit-events', id: 'audit-events' }, events.map((event) => h('li', { 'data-action': event.action },
          h('span', { class: 'when' }, dateTime(timestampMs(event.at), language())), ' ',
          h('strong', {}, t(`audit.${event.action.replace('AUDIT_ACTION_', '')}`)), ' ',
          event.check_id ? `${event.criterion_id}/${event.check_id} ` : '',
          event.old_outcome !== 'CHECK_OUTCOME_UNSPECIFIED' || event.new_outcome !== 'CHECK_OUTCOME_UNSPECIFIED'
            ? `${t(`outcome.${event.old_outcome.replace('CHECK_OUTCOME_', '')}`)} → ${t(`outcome.${event.new_outcome.replace('CHECK_OUTCOME_', '')}`)} `
            : '',
          h('span', { class: 'actor' }, event.actor), ' ',
          event.reason ? h('q', {}, event.reason) : null))));
    } catch (error) {
      replace(audit, h('p', { class: 'error' }, describe(error)));
    }
  }

  /** Scrolls to, highlights and plays the quote `index` of check `key`. */
  function focusEvidence(key, index, atMs) {
    const [criterionId, checkId] = key.split('/');
    const result = page.card.reviewed_result ?? page.card.machine_result;
    const check = result.criteria.find((c) => c.criterion_id === criterionId)?.checks.find((c) => c.check_id === checkId);
    const evidence = check?.evidence[index];
    const start = atMs !== null && atMs !== undefined ? Number(atMs) : Number(evidence?.start_ms ?? 0);
    const end = evidence ? Number(evidence.end_ms) : start;
    document.querySelectorAll('.highlight').forEach((node) => node.classList.remove('highlight'));
    document.getElementById(`check-${key}`)?.classList.add('highlight-check');
    const segmentIndex = evidence ? evidence.segment_index : page.segments.findIndex((s) => Number(s.end_ms) >= start);
    const segment = document.getElementById(`segment-${segmentIndex}`);
    if (segment) {
      const words = [...segment.querySelectorAll('.word')].filter((word) => Number(word.dataset.endMs) > start && Number(word.dataset.startMs) < end);
      (words.length ? words : [segment]).forEach((node) => node.classList.add('highlight'));
      segment.scrollIntoView({ block: 'center' });
    }
    history.replaceState(null, '', `#/scorecards/${encodeURIComponent(page.card.scorecard_id)}?check=${encodeURIComponent(key)}&ev=${index}`);
    if (page.player) page.player.playFrom(start);
    else page.pendingStartMs = start;
  }

  load();
  return () => page.player?.dispose();
}
