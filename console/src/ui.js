// The console's small UI kit: DOM building, forms with per-field errors,
// busy buttons, a confirm dialog for destructive actions, toasts, empty
// states, tables and a copy button. Plain DOM: no framework, no innerHTML
// (text always goes in as text, so API data cannot inject markup).
import { ApiError } from "./api.js";

// h("button", { class: "primary", onclick }, "Save") → <button>.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k === "dataset") Object.assign(el.dataset, v);
    // `selected` and `checked` are the markup's attributes: the default a
    // form's reset() goes back to, not only the current state.
    else if ((k === "selected" || k === "checked") && v === true) el.setAttribute(k, "");
    else if (k in el && typeof v !== "string") el[k] = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
}

let uid = 0;
const nextId = (p) => `${p}-${++uid}`;

// A screen's frame: its heading (focused on arrival, for keyboard and screen
// reader users), an optional lead paragraph and the content.
export function screen(title, ...content) {
  document.title = `${title} · Latchkey`;
  return h("section", { class: "screen" }, h("h1", { tabindex: "-1" }, title), ...content);
}

export function section(title, ...content) {
  return h("section", { class: "card" }, h("h2", {}, title), ...content);
}

// A status line for a section (role=status: read out when it changes).
export function statusLine() {
  return h("p", { class: "status", role: "status" });
}

// form({ fields, submit, onSubmit, labelledBy? }) → <form>; `labelledBy` is
// the id of the heading that names it (a page with two forms, e.g. sign up
// and sign in, tells them apart by name). Fields:
//   { name, label, type? (text, select, checkbox, textarea, …), required?, options?: [[value, text]], value?, hint?,
//     autocomplete?, placeholder?, min?, max?, pattern?, inputmode?, checked? }
// onSubmit(values, form) may throw ApiError: its field errors appear under
// their fields (aria-invalid + aria-describedby), anything else above the
// button (role=alert). The button is disabled and says so while it runs.
// Every field's `value`/`checked` is its default: reset() keeps it.
/**
 * @param {{ fields: any[], submit: string, onSubmit: (values: any, form: any) => any, id?: string,
 *   labelledBy?: string, secondary?: any, danger?: boolean, extra?: any }} spec
 */
export function form({ fields, submit, onSubmit, id, labelledBy, secondary, danger, extra }) {
  const errors = {};
  const general = h("p", { class: "form-error", role: "alert", hidden: true });
  const button = h("button", { type: "submit", class: danger ? "danger" : "primary" }, submit);
  const el = h("form", { id, "aria-labelledby": labelledBy, novalidate: false }, fields.map((f) => field(f, errors)), extra, general, h("div", { class: "actions" }, button, secondary));
  el.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearErrors(el, errors, general);
    const values = {};
    for (const f of fields) {
      const input = el.elements[f.name];
      if (!input) continue;
      values[f.name] = f.type === "checkbox" ? input.checked : input.value;
    }
    await busy(button, () => onSubmit(values, el)).catch((e) => showError(e, el, errors, general));
  });
  el.fieldError = (name, message) => setFieldError(el, errors, name, message);
  el.showError = (e) => showError(e, el, errors, general);
  return el;
}

function field(f, errors) {
  const id = nextId(f.name);
  const errorId = `${id}-error`;
  const hintId = f.hint ? `${id}-hint` : null;
  const describedBy = [hintId, errorId].filter(Boolean).join(" ");
  const common = { id, name: f.name, required: f.required, "aria-describedby": describedBy, autocomplete: f.autocomplete };
  let control;
  if (f.type === "select") {
    control = h("select", common, f.options.map(([v, t]) => h("option", { value: v, selected: v === f.value }, t)));
  } else if (f.type === "checkbox") {
    control = h("input", { ...common, type: "checkbox", checked: !!f.checked });
  } else if (f.type === "textarea") {
    control = h("textarea", { ...common, rows: f.rows || 3, placeholder: f.placeholder, spellcheck: "false" });
    if (f.value !== undefined && f.value !== null) control.defaultValue = String(f.value);
  } else {
    control = h("input", {
      ...common,
      type: f.type || "text",
      value: f.value === undefined || f.value === null ? null : String(f.value),
      placeholder: f.placeholder,
      minlength: f.minlength,
      maxlength: f.maxlength,
      min: f.min,
      max: f.max,
      pattern: f.pattern,
      inputmode: f.inputmode,
      spellcheck: f.type === "email" || f.type === "password" ? "false" : null,
    });
  }
  const error = h("p", { id: errorId, class: "field-error", hidden: true });
  errors[f.name] = { control, error };
  if (f.type === "checkbox") {
    return h("div", { class: "field check" }, control, h("label", { for: id }, f.label), f.hint && h("p", { id: hintId, class: "hint" }, f.hint), error);
  }
  return h("div", { class: "field" }, h("label", { for: id }, f.label), f.hint && h("p", { id: hintId, class: "hint" }, f.hint), control, error);
}

function setFieldError(el, errors, name, message) {
  const slot = errors[name];
  if (!slot) return false;
  slot.error.textContent = message;
  slot.error.hidden = false;
  slot.control.setAttribute("aria-invalid", "true");
  return true;
}

function clearErrors(el, errors, general) {
  for (const { control, error } of Object.values(errors)) {
    error.hidden = true;
    error.textContent = "";
    control.removeAttribute("aria-invalid");
  }
  general.hidden = true;
  general.textContent = "";
}

function showError(e, el, errors, general) {
  let placed = false;
  let first = null;
  if (e instanceof ApiError) {
    for (const [name, message] of Object.entries(e.fields)) {
      if (setFieldError(el, errors, name, message)) {
        placed = true;
        first ??= errors[name].control;
      }
    }
  }
  if (!placed) {
    general.textContent = e instanceof Error ? e.message : String(e);
    general.hidden = false;
  }
  if (first) first.focus();
}

// Runs `work` with `button` disabled and marked busy; resolves to its result.
export async function busy(button, work) {
  const label = button.textContent;
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  button.classList.add("busy");
  try {
    return await work();
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
    button.classList.remove("busy");
    button.textContent = label;
  }
}

// A button whose click runs an async action, busy meanwhile, errors to a toast.
export function action(label, run, attrs = {}) {
  const b = h("button", { type: "button", class: "secondary", ...attrs }, label);
  b.addEventListener("click", () => busy(b, run).catch((e) => toast(e.message, "error")));
  return b;
}

// A destructive action's button: asks first (confirm), then runs.
export function dangerAction(label, question, run, attrs = {}) {
  const b = h("button", { type: "button", class: "danger", ...attrs }, label);
  b.addEventListener("click", async () => {
    if (!(await confirm(question))) return;
    await busy(b, run).catch((e) => toast(e.message, "error"));
  });
  return b;
}

// confirm({ title, body, confirm, typed }) → Promise<boolean>, in a modal
// <dialog> (focus moves in, Escape cancels, focus returns). With `typed`,
// the confirm button stays disabled until that text is typed.
export function confirm({ title, body, confirm: yes = "Confirm", typed = null }) {
  return new Promise((resolve) => {
    const back = document.activeElement;
    const ok = h("button", { type: "button", class: "danger", disabled: !!typed }, yes);
    const cancel = h("button", { type: "button", class: "secondary" }, "Cancel");
    const titleId = nextId("dialog-title");
    let typedField = null;
    let typedInput = null;
    if (typed) {
      const inputId = nextId("typed");
      typedInput = h("input", { id: inputId, autocomplete: "off", spellcheck: "false" });
      typedInput.addEventListener("input", () => (ok.disabled = typedInput.value !== typed));
      typedField = h("div", { class: "field" }, h("label", { for: inputId }, `Type ${typed} to confirm`), typedInput);
    }
    const dialog = h("dialog", { "aria-labelledby": titleId, class: "confirm" },
      h("h2", { id: titleId }, title), body && h("p", {}, body), typedField, h("div", { class: "actions" }, ok, cancel));
    const done = (answer) => {
      dialog.close();
      dialog.remove();
      if (back instanceof HTMLElement) back.focus();
      resolve(answer);
    };
    ok.addEventListener("click", () => done(true));
    cancel.addEventListener("click", () => done(false));
    dialog.addEventListener("cancel", (ev) => {
      ev.preventDefault();
      done(false);
    });
    document.body.append(dialog);
    dialog.showModal();
    (typedInput || cancel).focus();
  });
}

// A short message in the corner (the region is role=status, aria-live=polite).
export function toast(text, kind = "ok") {
  const box = document.getElementById("toasts");
  const t = h("div", { class: `toast ${kind}` }, text);
  box.append(t);
  setTimeout(() => t.remove(), kind === "error" ? 8000 : 4000);
}

// An empty list's message: what it is and what to do next.
export function empty(text, next) {
  return h("div", { class: "empty" }, h("p", {}, text), next);
}

// table(["Name", "Role", ""], rows) where rows are arrays of cells (text or nodes).
export function table(caption, heads, rows) {
  // Focusable when it scrolls sideways (a phone), so keyboards can scroll it.
  return h("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": caption },
    h("table", {},
      h("caption", { class: "visually-hidden" }, caption),
      h("thead", {}, h("tr", {}, heads.map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, rows.map((r) => h("tr", {}, r.map((c) => h("td", {}, c)))))));
}

// A button that copies `text` to the clipboard.
export function copyButton(text, label = "Copy") {
  const b = h("button", { type: "button", class: "secondary" }, label);
  b.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(text);
      toast("Copied to the clipboard");
    } catch {
      toast("Copying was refused by the browser: select the text and copy it.", "error");
    }
  });
  return b;
}

// Placeholder while a screen loads.
export function loading(what = "Loading…") {
  return h("p", { class: "loading", role: "status" }, what);
}

export function when(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  return isNaN(d.getTime()) ? iso : d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

export function badge(text, kind = "") {
  return h("span", { class: `badge ${kind}` }, text);
}
