/** Building and finding elements. */

/** The element `sel` finds; the page is broken without it, so its absence throws, naming it. */
export function $<T extends Element = HTMLElement>(sel: string, root: ParentNode = document): T {
  const e = root.querySelector<T>(sel);
  if (!e) throw new Error(`the page has no element ${sel}`);
  return e;
}

/** The element `sel` finds, or null. */
export function $maybe<T extends Element = HTMLElement>(sel: string, root: ParentNode = document): T | null {
  return root.querySelector<T>(sel);
}

type Listener = (e: never) => void;
export type Attrs = Record<string, string | number | boolean | null | undefined | Listener>;
export type Child = Node | string | number | null | undefined | false | Child[];

/**
 * An element: `class`, `text`, `on<event>` handlers, other attributes (true: present; null,
 * undefined, false: left out), then its children (nested arrays flattened, empty ones skipped).
 */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (typeof v === 'function') e.addEventListener(k.slice(2), v as unknown as EventListener);
    else if (k === 'class') e.className = String(v);
    else if (k === 'text') e.textContent = String(v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  const add = (c: Child): void => {
    if (c === undefined || c === null || c === false) return;
    if (Array.isArray(c)) for (const x of c) add(x);
    else e.append(c instanceof Node ? c : String(c));
  };
  for (const c of children) add(c);
  return e;
}

/**
 * Makes `parent`'s children equal `fresh`, replacing only those whose markup differs: an element
 * that did not change stays the same node, so the tooltip under the pointer, the focus and a
 * click on its way keep their target. `update(old, fresh)` may bring an old child up to date in
 * place instead (true: done); `keep(old)` leaves a child that something else fills (a ticking clock).
 */
export function syncChildren(
  parent: Element,
  fresh: readonly Element[],
  opts: { update?: (old: Element, fresh: Element) => boolean; keep?: (old: Element, fresh: Element) => boolean } = {},
): void {
  fresh.forEach((f, i) => {
    const old = parent.children[i];
    if (!old) parent.append(f);
    else if (old.tagName !== f.tagName) old.replaceWith(f);
    else if (opts.keep?.(old, f)) return;
    else if (opts.update?.(old, f)) return;
    else if (old.outerHTML !== f.outerHTML) old.replaceWith(f);
  });
  while (parent.children.length > fresh.length) parent.lastElementChild?.remove();
}

/** Gives `old` the attributes of `fresh` (set, changed and removed), nothing else. */
export function syncAttributes(old: Element, fresh: Element): void {
  for (const a of [...old.attributes]) if (!fresh.hasAttribute(a.name)) old.removeAttribute(a.name);
  for (const a of fresh.attributes) if (old.getAttribute(a.name) !== a.value) old.setAttribute(a.name, a.value);
}
