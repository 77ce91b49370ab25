// Building the page without markup strings: every text a caller controls
// (transcripts, reasons, ids) goes in as a text node, so nothing is parsed
// as HTML. The Content-Security-Policy forbids inline script and style.

/** An element: h('button', { class: 'x', onclick: f, 'aria-label': '…' }, 'text', child). */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') {
      element.addEventListener(name.slice(2), value);
    } else if (name === 'class') {
      element.className = value;
    } else if (name === 'value') {
      element.value = value;
    } else if (name === 'checked' || name === 'disabled' || name === 'selected' || name === 'hidden') {
      element[name] = Boolean(value);
    } else {
      element.setAttribute(name, value === true ? '' : String(value));
    }
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(element, child);
    else if (child instanceof Node) element.appendChild(child);
    else element.appendChild(document.createTextNode(String(child)));
  }
}

/** An SVG element (charts). */
export function svg(tag, attributes = {}, ...children) {
  const element = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== undefined && value !== null) element.setAttribute(name, String(value));
  }
  for (const child of children.flat()) {
    if (child instanceof Node) element.appendChild(child);
    else if (child !== null && child !== undefined) element.appendChild(document.createTextNode(String(child)));
  }
  return element;
}

/** Replaces a node's children. */
export function replace(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

/** 83_500 → "1:23". */
export function clock(ms) {
  const seconds = Math.max(0, Math.floor(Number(ms) / 1000));
  const minutes = Math.floor(seconds / 60);
  return `${minutes}:${String(seconds % 60).padStart(2, '0')}`;
}

/** Milliseconds since the epoch as a local date and time. */
export function dateTime(ms, language) {
  if (ms === null || ms === undefined) return '—';
  return new Date(ms).toLocaleString(language === 'id' ? 'id-ID' : 'en-GB', {
    year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit',
  });
}

/** A score 0–100 with one decimal, or a dash. */
export function score(value) {
  return value === undefined || value === null ? '—' : Number(value).toFixed(1);
}
