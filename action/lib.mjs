// Shared by main.mjs and post.mjs: GitHub's runner protocol (inputs as
// INPUT_* variables, workflow commands on stdout, name=value files) and the
// Latchkey API's problem+json errors. No dependencies: Node's own fetch.
import { appendFileSync } from "node:fs";

// An input as the runner passes it: INPUT_ + the name upper-cased, hyphens kept.
export function input(name) {
  return (process.env[`INPUT_${name.toUpperCase()}`] || "").trim();
}

// One workflow command's data, escaped as the runner expects.
function escapeData(s) {
  return String(s).replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
}

export function command(name, message) {
  process.stdout.write(`::${name}::${escapeData(message)}\n`);
}

// A failure the job stops on: `::error::` with a stable code, exit 1.
export class Failure extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

// Appends name=value lines to the file a runner variable names (GITHUB_ENV,
// GITHUB_OUTPUT, GITHUB_STATE). Values are single-line by construction.
export function appendTo(variable, pairs) {
  const file = process.env[variable];
  if (!file) throw new Failure("runner_file_missing", `${variable} is not set: run this as a step of a GitHub Actions job`);
  let text = "";
  for (const [name, value] of pairs) {
    if (/[\r\n]/.test(value)) throw new Failure("unexpected_value", `${name} holds a line break`);
    text += `${name}=${value}\n`;
  }
  appendFileSync(file, text);
}

// The API's base URL, without a trailing slash.
export function apiBase(raw) {
  let url;
  try {
    url = new URL(raw);
  } catch {
    throw new Failure("invalid_api_url", "api-url is not a URL (e.g. https://latchkey.example.com)");
  }
  // The OIDC token and the key travel to it: https, or http on loopback only
  // (a self-hosted runner talking to a local Worker, and the tests).
  const loopback = ["127.0.0.1", "localhost", "[::1]"].includes(url.hostname);
  if (!(url.protocol === "https:" || (url.protocol === "http:" && loopback))) {
    throw new Failure("invalid_api_url", "api-url must be an https URL");
  }
  return url.href.replace(/\/+$/, "");
}

// The code and detail of a problem+json answer (best effort), never its raw body.
export async function problem(res) {
  let body = null;
  try {
    body = await res.json();
  } catch {
    body = null;
  }
  const code = body && typeof body.code === "string" ? body.code : `http_${res.status}`;
  const detail = body && typeof body.detail === "string" ? body.detail : res.statusText;
  return { code, detail };
}

// Removes every occurrence of the secrets from a message.
export function redact(message, ...secrets) {
  let out = String(message);
  for (const s of secrets) if (s) out = out.split(s).join("***");
  return out;
}

export const TIMEOUT_MS = 30_000;
