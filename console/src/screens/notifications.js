// Organization Settings → Notification channels: Add channel asks for the
// kind first (Webhook, Slack, Discord or Email) and then shows that kind's
// fields (a URL, or addresses one per line or comma-separated), with the
// description and event types from the API's own list; a webhook's signing
// secret shown once after creating and after Rotate secret (webhooks only:
// the other kinds are not signed). The list shows each channel's kind, its
// URL (Slack and Discord ones masked by the API) or its addresses with their
// confirmation state, with Enable/Disable, Send test event and Delete; and a
// channel's deliveries (status, status code, last error, next attempt) with,
// under each, its attempts (time, status code, latency, error, the answer's
// first bytes), and Retry on failed ones. Reading channels needs
// notifications:write, so only admins and owners see this screen; a 403 from
// the API says so too.
import { api, all, enc } from "../api.js";
import { can } from "../state.js";
import { h, screen, section, form, toast, dangerAction, action, table, empty, when, copyButton, busy, badge, confirm } from "../ui.js";

const ADMINS_ONLY = "Only admins and owners manage notification channels. Ask one of them to add a channel for you.";
const DAY = 86400;
const KINDS = [["webhook", "Webhook"], ["slack", "Slack"], ["discord", "Discord"], ["email", "Email"]];
const KIND_NAMES = Object.fromEntries(KINDS);
const URL_HELP = {
  webhook: { label: "URL", placeholder: "https://example.com/webhooks/latchkey", hint: "Where events are posted, signed: https, a public host name." },
  slack: { label: "Slack webhook URL", placeholder: "https://hooks.slack.com/services/…", hint: "An incoming webhook of your Slack workspace (on hooks.slack.com). Each event arrives as a short message." },
  discord: { label: "Discord webhook URL", placeholder: "https://discord.com/api/webhooks/…", hint: "A channel's webhook (Server Settings → Integrations → Webhooks). Each event arrives as a short message." },
};

// How a channel is named in buttons and headings: its URL (a Slack or
// Discord one as the API masks it), or its addresses.
const name = (c) => c.url || (c.emails || []).map((a) => a.email).join(", ");

// Where a channel sends: its URL, or each address with its confirmation state.
function destination(c) {
  if (c.kind !== "email") return h("code", { class: "url" }, c.url);
  return h("ul", { class: "addresses", "aria-label": `Addresses of ${name(c)}` }, (c.emails || []).map((a) => h("li", {},
    h("span", {}, a.email), " ",
    a.confirmed ? badge("Confirmed", "ok") : badge("Awaiting confirmation", "warn"))));
}

export async function channels({ org: id }) {
  const org = await api("GET", `/v1/orgs/${enc(id)}`);
  if (!can(org, "notifications:write")) return screen("Notification channels", empty(ADMINS_ONLY));
  /** @type {import("../api.js").Path<"/v1/orgs/{org_id}/notification-channels">} */
  const base = `/v1/orgs/${enc(id)}/notification-channels`;
  let types;
  try {
    types = (await api("GET", "/v1/notification-event-types")).data;
  } catch (e) {
    if (e.status === 403) return screen("Notification channels", empty(ADMINS_ONLY));
    throw e;
  }
  const reveal = h("div", { id: "secret-reveal" });
  const list = h("div", { id: "channel-list" });
  const deliveries = h("div", { id: "deliveries" });
  let shown = null; // the channel whose deliveries are open

  function showSecret(ch, title) {
    reveal.replaceChildren(h("div", { class: "card reveal", role: "region", "aria-label": title },
      h("h2", { tabindex: "-1" }, title),
      h("p", {}, "Copy the signing secret now: it is shown only once. Your receiver verifies each delivery's webhook-signature header with it."),
      h("div", { class: "secret-row" }, h("code", { id: "new-secret" }, ch.secret), copyButton(ch.secret, "Copy secret")),
      ch.previous_secret_expires_at ? h("p", {}, `Until ${when(ch.previous_secret_expires_at)} deliveries are signed with the old secret too.`) : null,
      h("p", {}, h("button", { type: "button", class: "secondary", onclick: () => reveal.replaceChildren() }, "Done"))));
    reveal.querySelector("h2").focus();
  }

  const boxes = types.map((t) => {
    const cid = `event-${t.name.replace(/[^a-z_]/g, "-")}`;
    const input = h("input", { type: "checkbox", id: cid, value: t.name, name: "event" });
    return { t, input, node: h("div", { class: "check" }, input, h("label", { for: cid }, h("code", {}, t.name), ` ${t.description}`)) };
  });
  const eventsError = h("p", { id: "events-error", class: "field-error", hidden: true });
  // The kind first: it decides which fields follow.
  const kindInputs = KINDS.map(([value, label]) => {
    const input = h("input", { type: "radio", name: "kind", id: `kind-${value}`, value, checked: value === "webhook" });
    input.addEventListener("change", () => showKind());
    return { value, input, node: h("div", { class: "check" }, input, h("label", { for: `kind-${value}` }, label)) };
  });
  const kindSet = h("fieldset", { class: "kinds", id: "channel-kind" }, h("legend", {}, "Kind"), kindInputs.map((k) => k.node));
  const createForm = form({
    id: "create-channel",
    fields: [
      { name: "url", label: "URL", type: "url", required: true, placeholder: URL_HELP.webhook.placeholder, hint: URL_HELP.webhook.hint },
      { name: "emails", label: "Email addresses", type: "textarea", rows: 3, placeholder: "oncall@example.com\ncto@example.com", hint: "One per line or separated by commas, up to 10. Each address is sent a link and receives nothing until it is confirmed." },
      { name: "description", label: "Description (optional)", maxlength: 200 },
    ],
    extra: h("fieldset", { class: "scopes", "aria-describedby": "events-error" }, h("legend", {}, "Events"), boxes.map((b) => b.node), eventsError),
    submit: "Add channel",
    onSubmit: async (v) => {
      eventsError.hidden = true;
      const kind = chosenKind();
      const event_types = boxes.filter((b) => b.input.checked).map((b) => b.t.name);
      if (!event_types.length) {
        eventsError.textContent = "Pick at least one event.";
        eventsError.hidden = false;
        boxes[0]?.input.focus();
        return;
      }
      /** @type {import("../api.js").Schemas["CreateChannelBody"]} */
      const body = { kind: /** @type {import("../api.js").Schemas["CreateChannelBody"]["kind"]} */ (kind), event_types };
      if (kind === "email") {
        body.emails = v.emails.split(/[\s,;]+/).map((e) => e.trim()).filter(Boolean);
        if (!body.emails.length) {
          createForm.fieldError("emails", "Enter at least one address.");
          createForm.elements.emails.focus();
          return;
        }
      } else body.url = v.url.trim();
      if (v.description.trim()) body.description = v.description.trim();
      let created;
      try {
        created = await api("POST", base, body);
      } catch (e) {
        if (e.code === "invalid_webhook_url" && createForm.fieldError("url", e.message)) return;
        if (e.fields && e.fields.event_types) {
          eventsError.textContent = e.fields.event_types;
          eventsError.hidden = false;
          return;
        }
        throw e;
      }
      createForm.reset();
      choose(kind);
      if (created.secret) showSecret(created, `The signing secret of ${created.url}`);
      else if (kind === "email") toast(`Email channel added: a confirmation link was sent to ${created.emails.map((a) => a.email).join(", ")}`);
      else toast(`${KIND_NAMES[kind]} channel added`);
      await draw();
    },
  });
  createForm.prepend(kindSet);
  const urlInput = createForm.elements.url;
  const emailsInput = createForm.elements.emails;
  const chosenKind = () => kindInputs.find((k) => k.input.checked)?.value || "webhook";
  const choose = (kind) => {
    for (const k of kindInputs) k.input.checked = k.value === kind;
    showKind();
  };
  // Shows the chosen kind's fields only (a hidden field is never required).
  function showKind() {
    const kind = chosenKind();
    const email = kind === "email";
    urlInput.closest(".field").hidden = email;
    urlInput.required = !email;
    emailsInput.closest(".field").hidden = !email;
    emailsInput.required = email;
    if (!email) {
      const help = URL_HELP[kind];
      createForm.querySelector(`label[for="${urlInput.id}"]`).textContent = help.label;
      createForm.querySelector(`[id="${urlInput.id}-hint"]`).textContent = help.hint;
      urlInput.placeholder = help.placeholder;
    }
  }
  showKind();

  async function draw() {
    let rows;
    try {
      rows = await all(base);
    } catch (e) {
      if (e.status === 403) {
        list.replaceChildren(empty(ADMINS_ONLY));
        return;
      }
      throw e;
    }
    list.replaceChildren(section("Channels", rows.length
      ? table("Notification channels", ["Kind", "Sends to", "Description", "Events", "Status", "Created", "Actions"], rows.map((c) => [
          KIND_NAMES[c.kind] || c.kind,
          destination(c),
          c.description || "—",
          h("span", { class: "scopes-list" }, c.event_types.join(", ")),
          c.enabled ? badge("Enabled", "ok") : badge(c.disabled_reason && c.disabled_reason !== "manual" ? `Disabled (${c.disabled_reason})` : "Disabled"),
          when(c.created_at),
          h("div", { class: "row-actions" },
            action(c.enabled ? "Disable" : "Enable", async () => {
              await api("PATCH", `${base}/${enc(c.id)}`, { enabled: !c.enabled });
              toast(`${name(c)} ${c.enabled ? "disabled" : "enabled"}`);
              await draw();
            }, { "aria-label": `${c.enabled ? "Disable" : "Enable"} ${name(c)}` }),
            action("Send test event", async () => {
              await api("POST", `${base}/${enc(c.id)}/test`);
              toast("Test event queued");
              await openDeliveries(c);
            }, { "aria-label": `Send test event to ${name(c)}`, disabled: !c.enabled }),
            action("Deliveries", () => openDeliveries(c), { "aria-label": `Deliveries to ${name(c)}` }),
            // Only a webhook is signed: the other kinds have no secret to rotate.
            c.kind === "webhook" ? rotateControl(c) : null,
            dangerAction("Delete", { title: `Delete the channel to ${name(c)}?`, body: "No more events are sent to it; its pending deliveries are dropped.", confirm: "Delete" }, async () => {
              await api("DELETE", `${base}/${enc(c.id)}`);
              toast(`${name(c)} deleted`);
              if (shown && shown.id === c.id) {
                shown = null;
                deliveries.replaceChildren();
              }
              await draw();
            }, { "aria-label": `Delete ${name(c)}` })),
        ]))
      : empty("No notification channels yet. Add channel above sends this organization's events to a URL of yours, a Slack or Discord channel, or email addresses.")));
  }

  function rotateControl(c) {
    const gid = `grace-${c.id}`;
    const grace = h("input", { type: "number", id: gid, min: "0", max: String(DAY), step: "1", value: String(DAY), inputmode: "numeric", class: "grace" });
    const b = h("button", { type: "button", class: "secondary", "aria-label": `Rotate secret of ${c.url}` }, "Rotate secret");
    b.addEventListener("click", async () => {
      const seconds = Number(grace.value);
      if (!Number.isInteger(seconds) || seconds < 0 || seconds > DAY) {
        toast(`The grace period is 0 to ${DAY} seconds.`, "error");
        grace.focus();
        return;
      }
      const fate = seconds ? `keeps signing for ${seconds} seconds` : "stops signing at once";
      if (!(await confirm({ title: `Rotate the secret of ${c.url}?`, body: `A new secret is made; the old one ${fate}.`, confirm: "Rotate secret" }))) return;
      await busy(b, async () => {
        const rotated = await api("POST", `${base}/${enc(c.id)}/rotate-secret`, { grace_period_seconds: seconds });
        showSecret(rotated, `The new signing secret of ${c.url}`);
        await draw();
      }).catch((e) => toast(e.message, "error"));
    });
    return h("span", { class: "rotate" }, h("label", { for: gid }, "Grace (s)"), grace, b);
  }

  async function openDeliveries(c) {
    shown = c;
    const rows = await all(`${base}/${enc(c.id)}/deliveries`, 1);
    const refresh = action("Refresh", () => openDeliveries(c));
    deliveries.replaceChildren(section(`Deliveries to ${name(c)}`, refresh, rows.length
      ? table(`Deliveries to ${name(c)}`, ["Event", "Status", "Status code", "Attempts", "Last error", "Next attempt", "Created", ""], rows.map((d) => [
          h("code", {}, d.event_type),
          badge(d.status, d.status === "succeeded" ? "ok" : d.status === "failed" ? "danger" : "warn"),
          d.last_status_code ?? "—",
          attemptList(d),
          d.last_error || "—",
          d.next_attempt_at ? when(d.next_attempt_at) : "—",
          when(d.created_at),
          d.status === "failed"
            ? action("Retry", async () => {
                await api("POST", `${base}/deliveries/${enc(d.id)}/retry`);
                toast("Sent again");
                await openDeliveries(c);
              }, { "aria-label": `Retry delivery ${d.id}` })
            : "",
        ]))
      : empty("No deliveries yet. Send test event posts a ping to this channel.")));
  }

  // A delivery's attempts, oldest first, open under it: a 500 that a retry
  // turned into a 200 stays visible.
  function attemptList(d) {
    if (!d.attempts.length) return "0";
    const at = (iso) => {
      const t = new Date(iso);
      return isNaN(t.getTime()) ? iso : t.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" });
    };
    return h("details", { class: "attempts", open: true },
      h("summary", { "aria-label": `${d.attempt_count} attempts of delivery ${d.id}` }, String(d.attempt_count)),
      h("ol", { "aria-label": `Attempts of delivery ${d.id}` }, d.attempts.map((a) => h("li", { value: String(a.number), class: "attempt" },
        h("span", { class: "attempt-time" }, at(a.attempted_at)), " · ",
        h("span", { class: "attempt-status" }, a.status_code === null ? "no answer" : String(a.status_code)),
        a.latency_ms === null ? null : ` · ${a.latency_ms} ms`,
        a.error ? h("span", { class: "attempt-error" }, ` · ${a.error}`) : null,
        a.response ? h("div", { class: "details" }, "Answer: ", h("code", {}, a.response)) : null))),
      d.attempt_count > d.attempts.length ? h("p", { class: "details" }, `The latest ${d.attempts.length} of ${d.attempt_count} attempts.`) : null);
  }

  await draw();
  return screen("Notification channels", h("p", { class: "lead" }, `Channels receive ${org.name}'s events: as signed webhooks, as Slack or Discord messages, or by email.`),
    reveal, section("Add channel", createForm), list, deliveries);
}
