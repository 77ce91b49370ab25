// Rubrics: versions side by side, and for admins a draft validated with its
// errors at their lines, published as a new version, set as the default.

import { h, replace } from '../dom.js';
import { t } from '../i18n.js';
import { client, may, describe, toast } from '../app.js';

export function rubricsView(main, query) {
  const list = h('section', { class: 'card', 'aria-label': t('rubrics.list') });
  const compare = h('section', { class: 'card', 'aria-label': t('rubrics.compare') });
  const editor = h('section', { class: 'card', 'aria-label': t('rubrics.draft') });
  replace(main, h('h1', {}, t('rubrics.title')), list, compare, editor);
  const selected = query.get('rubric');

  async function load() {
    try {
      const { rubrics } = await client().call('RubricService', 'ListRubrics', { page_size: 200 });
      replace(list, h('h2', {}, t('rubrics.list')), h('table', { class: 'list', id: 'rubrics-table' },
        h('thead', {}, h('tr', {}, [t('rubrics.id'), t('rubrics.name'), t('rubrics.latest'), t('rubrics.default'), ''].map((label) => h('th', { scope: 'col' }, label)))),
        h('tbody', {}, rubrics.map((rubric) => h('tr', { class: rubric.rubric_id === selected ? 'me' : null },
          h('th', { scope: 'row' }, h('a', { href: `#/rubrics?rubric=${encodeURIComponent(rubric.rubric_id)}` }, rubric.rubric_id)),
          h('td', {}, rubric.name),
          h('td', {}, rubric.latest_version),
          h('td', {}, rubric.is_default ? t('rubrics.is_default') : ''),
          h('td', {}, may('manage_rubrics') && !rubric.is_default ? h('button', {
            type: 'button',
            onclick: async () => {
              try {
                await client().call('RubricService', 'SetDefaultRubric', { rubric_id: rubric.rubric_id });
                toast(t('rubrics.default_set', { rubric: rubric.rubric_id }));
                load();
              } catch (error) { toast(describe(error), 'error'); }
            },
          }, t('rubrics.make_default')) : null))))));
      const rubric = rubrics.find((r) => r.rubric_id === selected) ?? rubrics.find((r) => r.is_default) ?? rubrics[0];
      if (rubric) await showVersions(rubric);
      if (may('manage_rubrics')) draft(rubric);
    } catch (error) {
      replace(list, h('p', { class: 'error' }, describe(error)));
    }
  }

  async function showVersions(rubric) {
    const versions = rubric.versions.length ? rubric.versions : [rubric.latest_version];
    const left = query.get('left') ?? versions[Math.max(0, versions.length - 2)];
    const right = query.get('right') ?? versions[versions.length - 1];
    const picker = (name, value) => h('select', {
      name, 'aria-label': t(`rubrics.${name}`),
      onchange: (event) => {
        const params = new URLSearchParams({ rubric: rubric.rubric_id, left, right });
        params.set(name, event.target.value);
        location.hash = `#/rubrics?${params}`;
      },
    }, versions.map((version) => h('option', { value: version, selected: version === value }, `v${version}`)));
    const [a, b] = await Promise.all([left, right].map((version) => client().call('RubricService', 'GetRubric', { rubric_id: rubric.rubric_id, version })));
    const linesA = a.version.document.split('\n');
    const linesB = b.version.document.split('\n');
    const column = (lines, other) => h('pre', { class: 'document' }, lines.map((line, index) => h('span', {
      class: other[index] === line ? 'line' : 'line changed',
    }, h('span', { class: 'number', 'aria-hidden': 'true' }, String(index + 1).padStart(4)), ` ${line}\n`)));
    replace(compare, h('h2', {}, t('rubrics.compare'), ` ${rubric.rubric_id} `, picker('left', left), ' ↔ ', picker('right', right)),
      h('div', { class: 'side-by-side' },
        h('div', {}, h('h3', {}, `v${a.version.version}`, h('span', { class: 'hash' }, ` ${a.version.content_hash.slice(0, 12)}`)), column(linesA, linesB)),
        h('div', {}, h('h3', {}, `v${b.version.version}`, h('span', { class: 'hash' }, ` ${b.version.content_hash.slice(0, 12)}`)), column(linesB, linesA))));
    compare.dataset.latest = b.version.document;
  }

  function draft(rubric) {
    const text = h('textarea', { id: 'rubric-draft', rows: 18, spellcheck: 'false', 'aria-label': t('rubrics.draft') });
    text.value = compare.dataset.latest ?? '';
    const errors = h('div', { id: 'rubric-errors', role: 'status', 'aria-live': 'polite' });
    const goTo = (line, columnNumber) => {
      const lines = text.value.split('\n');
      const offset = lines.slice(0, Math.max(0, line - 1)).reduce((sum, l) => sum + l.length + 1, 0) + Math.max(0, columnNumber - 1);
      text.focus();
      text.setSelectionRange(offset, offset);
    };
    const validate = async () => {
      const answer = await client().call('RubricService', 'ValidateRubric', { document: text.value });
      if (answer.valid) {
        replace(errors, h('p', { class: 'ok' }, t('rubrics.valid', { rubric: answer.rubric_id, version: answer.version })));
      } else {
        replace(errors, h('ul', { class: 'errors' }, answer.errors.map((error) => h('li', {},
          h('button', { type: 'button', class: 'link', onclick: () => goTo(error.line, error.column) },
            t('rubrics.at_line', { line: error.line, column: error.column })),
          ` ${error.path ? `${error.path}: ` : ''}${error.message}`))));
      }
      return answer;
    };
    replace(editor, h('h2', {}, t('rubrics.draft')), text,
      h('div', { class: 'actions' },
        h('button', { type: 'button', id: 'rubric-validate', onclick: () => validate().catch((e) => toast(describe(e), 'error')) }, t('rubrics.validate')),
        h('button', {
          type: 'button', class: 'primary', id: 'rubric-publish',
          onclick: async () => {
            try {
              const checked = await validate();
              if (!checked.valid) return;
              const exists = rubric && checked.rubric_id === rubric.rubric_id;
              const answer = exists
                ? await client().call('RubricService', 'PublishRubricVersion', { rubric_id: rubric.rubric_id, document: text.value })
                : await client().call('RubricService', 'CreateRubric', { document: text.value });
              toast(t('rubrics.published', { rubric: answer.rubric.rubric_id, version: answer.version.version }));
              location.hash = `#/rubrics?rubric=${encodeURIComponent(answer.rubric.rubric_id)}&right=${answer.version.version}`;
            } catch (error) { replace(errors, h('p', { class: 'error' }, describe(error))); }
          },
        }, t('rubrics.publish'))),
      errors);
  }

  load();
  return undefined;
}
