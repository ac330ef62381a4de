// Organization Settings → Domains: add a domain, the TXT record to publish
// (with copy buttons), Verify, what a verified domain does for people on it
// (enrollment and role), remove. And "Organizations you can join": the orgs
// whose verified domain the signed-in person's address is on.
import { api, enc } from "../api.js";
import { can } from "../state.js";
import { h, screen, section, form, toast, dangerAction, action, table, empty, when, copyButton, badge } from "../ui.js";

const STATES = { pending: ["Pending", ""], verified: ["Verified", "ok"], lapsed: ["Lapsed", "warn"] };
const ENROLLMENT = [["none", "Nothing"], ["suggest", "Suggest the organization"], ["auto_join", "Join automatically"]];
const ROLES = [["member", "as member"], ["admin", "as admin"]];

export async function domains({ org: id }) {
  const org = await api("GET", `/v1/orgs/${enc(id)}`);
  /** @type {import("../api.js").Path<"/v1/orgs/{org_id}/domains">} */
  const base = `/v1/orgs/${enc(id)}/domains`;
  if (!can(org, "org:write")) {
    return screen("Domains", section("Verified domains",
      h("p", {}, `You are a ${org.role} of ${org.name}: its admins and owners manage its domains.`)));
  }
  const list = h("div", { id: "domain-list" });

  async function draw() {
    const { data } = await api("GET", base);
    list.replaceChildren(data.length
      ? h("div", {}, table("Domains", ["Domain", "Status", "People on it", "Actions"], data.map(row)), ...data.filter((d) => d.state !== "verified").map(record))
      : empty("No domains yet. Add one your organization's email addresses are on."));
  }

  // The TXT record of a domain not verified yet (or lapsed), to copy into DNS.
  function record(d) {
    return h("div", { class: "card", id: `record-${d.domain}` },
      h("h3", {}, `Verify ${d.domain}`),
      h("p", {}, d.state === "lapsed"
        ? "The daily check no longer finds this record, so the domain grants nothing. Publish it again, then verify."
        : "Add this TXT record at your DNS provider, then verify. DNS changes can take a few minutes to be seen."),
      h("dl", { class: "record" },
        h("dt", {}, "Name"), h("dd", {}, h("code", { class: "txt-name" }, d.txt_name), " ", copyButton(d.txt_name, "Copy name")),
        h("dt", {}, "Type"), h("dd", {}, "TXT"),
        h("dt", {}, "Value"), h("dd", {}, h("code", { class: "txt-value" }, d.txt_value), " ", copyButton(d.txt_value, "Copy value"))));
  }

  function row(d) {
    const [label, kind] = STATES[d.state] || [d.state, ""];
    const enrollment = h("select", { "aria-label": `What ${d.domain} does for people on it`, name: "enrollment" },
      ENROLLMENT.map(([v, t]) => h("option", { value: v, selected: v === d.enrollment }, t)));
    const role = h("select", { "aria-label": `Role people on ${d.domain} join with`, name: "role" },
      ROLES.map(([v, t]) => h("option", { value: v, selected: v === d.role }, t)));
    const save = action("Save", async () => {
      // The Worker decides who may have a domain auto-join people as admin
      // (owners); its refusal is shown as is.
      await api("PATCH", `${base}/${enc(d.id)}`, { enrollment: enrollment.value, role: role.value });
      toast(`${d.domain} saved`);
      await draw();
    }, { class: "secondary save-enrollment" });
    const actions = [];
    if (d.state !== "verified") {
      actions.push(action("Verify", async () => {
        const v = await api("POST", `${base}/${enc(d.id)}/verify`);
        toast(v.state === "verified" ? `${d.domain} verified` : `${d.domain}: ${v.state}`);
        await draw();
      }, { class: "primary verify" }));
    }
    actions.push(dangerAction("Remove", { title: `Remove ${d.domain}?`, body: "People who joined through it stay members. Nobody else joins or is suggested the organization through it.", confirm: "Remove" }, async () => {
      await api("DELETE", `${base}/${enc(d.id)}`);
      toast(`${d.domain} removed`);
      await draw();
    }));
    return [
      h("span", { class: "domain" }, d.domain),
      h("span", {}, badge(label, kind), d.verified_at && d.state === "verified" ? h("span", { class: "hint" }, ` since ${when(d.verified_at)}`) : null),
      h("div", { class: "enrollment" }, enrollment, role, save),
      h("div", { class: "actions" }, ...actions),
    ];
  }

  await draw();
  return screen("Domains",
    h("p", { class: "lead" }, `Email domains ${org.name} has proven it holds`),
    section("Add a domain",
      h("p", {}, "Exact names only: eu.example.com is a domain of its own. Public email domains such as gmail.com cannot be added. Once verified, a domain can suggest this organization to people with a verified address on it, or have them join automatically."),
      form({
        id: "add-domain",
        fields: [{ name: "domain", label: "Domain", required: true, placeholder: "example.com", maxlength: 253, autocomplete: "off" }],
        submit: "Add domain",
        onSubmit: async (v, el) => {
          const d = await api("POST", base, { domain: v.domain });
          el.reset();
          toast(`${d.domain} added: publish its TXT record, then verify`);
          await draw();
        },
      })),
    section("Your domains", list));
}

// The orgs the signed-in person may join by their address's domain, each
// with "Ask to join" (a membership request its admins approve or deny), and
// the person's own requests with their answers (a pending one can be
// withdrawn). The Worker decides who is suggested.
export async function suggestions() {
  let data = [];
  let mine = [];
  try {
    [{ data }, { data: mine }] = await Promise.all([api("GET", "/v1/me/suggested-orgs"), api("GET", "/v1/me/membership-requests")]);
  } catch {
    return null;
  }
  if (!data.length && !mine.length) return null;
  const pending = new Set(mine.filter((r) => r.status === "pending").map((r) => r.org.id));
  const requests = h("div");
  const drawRequests = (list) => requests.replaceChildren(list.length
    ? table("Your requests to join", ["Organization", "Asked", "Answer", "Actions"], list.map((r) => [
        r.org.name, when(r.created_at), badge(r.status[0].toUpperCase() + r.status.slice(1), r.status === "approved" ? "ok" : r.status === "pending" ? "warn" : ""),
        r.status === "pending"
          ? action("Withdraw", async () => {
              await api("DELETE", `/v1/me/membership-requests/${enc(r.id)}`);
              toast(`Your request to join ${r.org.name} was withdrawn`);
              drawRequests((await api("GET", "/v1/me/membership-requests")).data);
            }, { "aria-label": `Withdraw the request to join ${r.org.name}` })
          : "",
      ]))
    : "");
  drawRequests(mine);
  const item = (o) => {
    const li = h("li", {}, h("strong", {}, o.name), ` (${o.slug}), for ${o.domain} addresses `);
    if (pending.has(o.id)) li.append(badge("Request pending", "warn"));
    else {
      li.append(action(`Ask to join ${o.name}`, async () => {
        await api("POST", `/v1/orgs/${enc(o.id)}/membership-requests`);
        toast(`Your request to join ${o.name} was sent to its admins.`);
        li.replaceChildren(h("strong", {}, o.name), " ", badge("Request pending", "warn"));
        drawRequests((await api("GET", "/v1/me/membership-requests")).data);
      }, { class: "primary" }));
    }
    return li;
  };
  return section("Organizations you can join",
    data.length ? h("p", {}, "These organizations verified your email's domain. Ask to join: their admins decide.") : "",
    data.length ? h("ul", { id: "suggested-orgs" }, data.map(item)) : "",
    requests);
}
