/**
 * The little DOM the console needs, typed here: adding the DOM library to the project's
 * type check would change Deno's own WebSocket and fetch types. Text only ever goes in as
 * `textContent`, never as HTML, so whatever a device name or item holds is shown, not run.
 */

/** An element, as far as the console uses one. */
export interface El {
  textContent: string | null;
  value: string;
  checked: boolean;
  disabled: boolean;
  hidden: boolean;
  className: string;
  append(...children: (El | string)[]): void;
  replaceChildren(...children: (El | string)[]): void;
  setAttribute(name: string, value: string): void;
  addEventListener(type: string, listener: (event: { preventDefault(): void }) => void): void;
}

interface Doc {
  createElement(tag: string): El;
  getElementById(id: string): El | null;
}

interface Storage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

const globals = globalThis as unknown as {
  document: Doc;
  sessionStorage: Storage;
  localStorage: Storage;
};

/** Session-only storage: gone when the tab closes (tokens live here, never in localStorage). */
export const session = (): Storage => globals.sessionStorage;
/** Persistent storage, for the console's install id only (not a secret). */
export const local = (): Storage => globals.localStorage;

/** The element with `id`; a missing one is a bug in index.html. */
export function byId(id: string): El {
  const el = globals.document.getElementById(id);
  if (!el) throw new Error(`index.html has no #${id}`);
  return el;
}

type Attr = string | number | boolean | undefined | ((event: { preventDefault(): void }) => void);

/**
 * Creates an element: `on<event>` attributes become listeners, `false`/`undefined` ones
 * are left out, strings become text nodes.
 * @example h("button", { class: "danger", onclick: remove }, "Delete")
 */
export function h(tag: string, attrs: Record<string, Attr> = {}, ...children: (El | string)[]): El {
  const el = globals.document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (typeof value === "function") el.addEventListener(name.slice(2), value);
    else if (name === "disabled" || name === "checked") el[name] = value === true;
    else if (value !== undefined && value !== false) el.setAttribute(name, String(value));
  }
  el.append(...children);
  return el;
}
