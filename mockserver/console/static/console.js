// The console of the capkit mock: Swagger UI for the API, and the traffic and state panels
// over the mock's admin API (/__admin/...). Plain DOM, no build step: what a browser runs is
// this file as it is in the package.

const config = JSON.parse(document.body.dataset.config);
const POLL_MS = 1000;
// The customers found are listed up to this many: a state of 20,000 would take the page seconds
// to draw at each keystroke. The search waits for a pause in the typing as long as FIND_MS.
const MOST_ROWS = 200;
const FIND_MS = 150;

// --- tabs -----------------------------------------------------------------------------------

const tabs = [...document.querySelectorAll('[role="tab"]')];
const shown = new Set(); // panels opened once: each starts its work on first show

// A panel's name, which the URL's fragment gives (/#state). It is no element's id: a fragment
// that is one makes the browser start the keyboard's Tab order inside that element, past the
// tabs and the admin token.
function panelOf(tab) {
  return tab.getAttribute("aria-controls").replace(/-panel$/, "");
}

function select(tab, { focus = false } = {}) {
  for (const other of tabs) {
    const selected = other === tab;
    other.setAttribute("aria-selected", String(selected));
    other.tabIndex = selected ? 0 : -1;
    document.getElementById(other.getAttribute("aria-controls")).hidden = !selected;
  }
  if (focus) tab.focus();
  const panel = panelOf(tab);
  if (location.hash !== `#${panel}`) history.replaceState(null, "", `#${panel}`);
  panels[panel].show(!shown.has(panel));
  shown.add(panel);
}

// The panel of the URL's fragment; the first without one.
function tabOfLocation() {
  return tabs.find((tab) => `#${panelOf(tab)}` === location.hash) ?? tabs[0];
}

for (const tab of tabs) {
  tab.addEventListener("click", () => select(tab));
  tab.addEventListener("keydown", (event) => {
    const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
    const index = tabs.indexOf(tab);
    const target =
      event.key === "Home" ? tabs[0]
      : event.key === "End" ? tabs[tabs.length - 1]
      : step ? tabs[(index + step + tabs.length) % tabs.length]
      : null;
    if (target) {
      event.preventDefault();
      select(target, { focus: true });
    }
  });
}

// --- helpers --------------------------------------------------------------------------------

function element(tag, properties = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(properties)) {
    if (name === "dataset") Object.assign(node.dataset, value);
    else if (name in node) node[name] = value;
    else node.setAttribute(name, value);
  }
  node.append(...children.filter((child) => child !== null && child !== undefined));
  return node;
}

async function getJson(url, options, send = fetch) {
  const response = await send(url, options);
  const body = await jsonOf(response);
  if (!response.ok) {
    const message = body?.errors?.[0]?.message ?? `${response.status} ${response.statusText}`;
    throw new Error(message);
  }
  return body;
}

// A mock started with --admin-token takes a change (reset, clear, seed, the rehearsal's
// settings) only with it: the page asks for it once, and this tab keeps it.
const adminToken = document.querySelector("#admin-token input");
if (adminToken) {
  adminToken.value = sessionStorage.getItem("capkit-admin-token") ?? "";
  adminToken.addEventListener("input", () => {
    sessionStorage.setItem("capkit-admin-token", adminToken.value);
    adminToken.removeAttribute("aria-invalid");
  });
  adminToken.form.addEventListener("submit", (event) => event.preventDefault());
}

async function change(url, options = {}) {
  const headers = new Headers(options.headers);
  if (adminToken?.value) headers.set("Authorization", `Bearer ${adminToken.value}`);
  const response = await fetch(url, { ...options, headers });
  if (response.status === 401 && adminToken) {
    adminToken.setAttribute("aria-invalid", "true");
    adminToken.focus();
  }
  return response;
}

// JSON as the mock writes it, its integers beyond 2^53 kept as their digits (JSON.rawJSON, which
// JSON.stringify writes back as they are): a chaos seed, or customer id, 9007199254740993 read
// as a Number is ...992, and one of 1e23 would be sent back as 1e+23, no whole number.
function parsed(text) {
  const exact = (key, value, context) =>
    typeof value === "number" && !Number.isSafeInteger(value) && /^-?\d+$/.test(context?.source ?? "")
      ? JSON.rawJSON(context.source)
      : value;
  // Only a text with 16 digits in a row can hold such a number; the reviver slows a big state.
  // A browser without JSON.rawJSON (Chromium before 114, Firefox before 135) rounds them.
  return JSON.rawJSON && /\d{16}/.test(text) ? JSON.parse(text, exact) : JSON.parse(text);
}

async function jsonOf(response) {
  return parsed(await response.text());
}

// A whole number as its digits, one kept exact too.
function digits(value) {
  return JSON.isRawJSON?.(value) ? value.rawJSON : String(value);
}

// The whole number written TEXT, exact: a Number where one holds it, else its digits.
function whole(text) {
  const plain = text.replace(/^(-?)0+(?=\d)/, "$1");
  const exact = JSON.rawJSON && /^-?\d+$/.test(plain) && !Number.isSafeInteger(Number(plain));
  return exact ? JSON.rawJSON(plain) : Number(plain);
}

function say(id, text) {
  document.getElementById(id).textContent = text;
}

function pretty(text) {
  try {
    return JSON.stringify(parsed(text), null, 2);
  } catch {
    return text;
  }
}

function download(name, value) {
  const blob = new Blob([JSON.stringify(value, null, 2)], { type: "application/json" });
  const link = element("a", { href: URL.createObjectURL(blob), download: name });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 0);
}

// A dialog closes on its close button and on Escape (the browser's), and gives the focus back.
for (const dialog of document.querySelectorAll("dialog")) {
  dialog.querySelector(".close").addEventListener("click", () => dialog.close());
}

// A row of BODY opens (OPEN(row)) on a click, or on Enter or Space once focused.
function opensRows(body, open) {
  body.addEventListener("click", (event) => {
    const row = event.target.closest("tr");
    if (row) open(row);
  });
  body.addEventListener("keydown", (event) => {
    if (event.key !== "Enter" && event.key !== " ") return;
    event.preventDefault();
    const row = event.target.closest("tr");
    if (row) open(row);
  });
}

function openDialog(dialog) {
  const opener = document.activeElement;
  dialog.addEventListener("close", () => opener?.focus(), { once: true });
  dialog.showModal();
}

// --- the API: Swagger UI on the served spec, "try it" against this mock ----------------------

// Swagger UI's script is loaded when the panel is first shown: a page opened on another panel
// does not pay for it. A script that cannot be loaded leaves no element: it is asked for again.
function loadScript(src) {
  return new Promise((resolve, reject) => {
    const script = element("script", { src });
    script.addEventListener("load", resolve);
    script.addEventListener("error", () => {
      script.remove();
      reject(new Error(`cannot load ${src}`));
    });
    document.head.append(script);
  });
}

const api = {
  loaded: false,
  loading: null,
  script: null, // Swagger UI's script, once asked for

  // Each time the tab is selected until the reference is drawn: a mock that was down when it
  // was first selected is asked again.
  show() {
    if (this.loaded || this.loading) return;
    say("api-status", "Loading the API reference…");
    this.loading = this.load()
      .then(() => say("api-status", ""))
      .catch((error) =>
        say("api-status", `The API reference cannot be loaded: ${error.message}. Select the API tab to try again.`),
      )
      .finally(() => {
        this.loading = null;
      });
  },

  async load() {
    this.script ??= loadScript(`${config.assets}/swagger-ui/swagger-ui-bundle.js`).catch((error) => {
      this.script = null;
      throw error;
    });
    // Both asked for at once; of two failures, the spec's is told (the same each time).
    const [read, loaded] = await Promise.allSettled([getJson("/openapi.json"), this.script]);
    for (const each of [read, loaded]) if (each.status === "rejected") throw each.reason;
    const spec = read.value;
    // The spec names Capillary's clusters; "try it" calls this mock instead.
    spec.servers = [{ url: location.origin + config.basePath, description: "this capkit mock" }];
    window.ui = SwaggerUIBundle({
      spec,
      dom_id: "#swagger-ui",
      layout: "BaseLayout",
      presets: [SwaggerUIBundle.presets.apis],
      deepLinking: false,
      displayOperationId: true,
      displayRequestDuration: true,
      filter: true,
      persistAuthorization: true,
      tryItOutEnabled: false,
      defaultModelsExpandDepth: 0,
      // Swagger UI would ask validator.swagger.io for a badge: the console talks to the mock only.
      validatorUrl: null,
    });
    this.loaded = true;
  },
};

// --- traffic: the journal, polled ------------------------------------------------------------

const traffic = {
  rows: new Map(), // exchange id -> its row
  summaries: new Map(),
  polled: "", // what the last poll has to say
  told: "", // the outcome of what the user did (Clear refused): said until they act again
  live: true,
  timer: null,
  turn: 0,
  body: document.querySelector("#traffic-table tbody"),
  filter: document.getElementById("traffic-filter"),

  // Polled from the start, so that the tab's count is live too.
  start() {
    this.filter.addEventListener("input", () => this.applyFilter());
    this.filter.addEventListener("submit", (event) => event.preventDefault());
    document.getElementById("traffic-live").addEventListener("click", (event) => {
      this.live = !this.live;
      event.currentTarget.setAttribute("aria-pressed", String(this.live));
      if (this.live) this.poll();
    });
    document.getElementById("traffic-clear").addEventListener("click", async () => {
      try {
        await getJson("/__admin/requests", { method: "DELETE" }, change);
      } catch (error) {
        this.tell(`Not cleared: ${error.message}`);
        return;
      }
      this.poll();
    });
    // What the user was told stays over the polls, until they act again in the panel.
    const panel = document.getElementById("traffic-panel");
    const acted = () => this.tell("");
    panel.addEventListener("click", acted);
    panel.addEventListener("input", acted);
    panel.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") acted();
    });
    opensRows(this.body, (row) => this.openRow(row));
    this.poll();
  },

  show() {
    this.poll();
  },

  tell(text) {
    this.told = text;
    this.status();
  },

  status() {
    say("traffic-status", [this.told, this.polled].filter(Boolean).join(" "));
  },

  async poll() {
    clearTimeout(this.timer);
    const turn = ++this.turn; // a later poll takes over from this one
    let requests;
    try {
      ({ requests } = await getJson("/__admin/requests"));
    } catch (error) {
      this.polled = `The journal cannot be read: ${error.message}`;
      this.status();
    }
    if (turn !== this.turn) return;
    try {
      if (requests) {
        this.render(requests);
        this.polled = requests.length ? "" : `No request under ${config.basePath} yet.`;
        this.status();
      }
    } finally {
      // An exchange the page cannot show stops no later poll.
      if (this.live && !document.hidden) this.timer = setTimeout(() => this.poll(), POLL_MS);
    }
  },

  render(requests) {
    const seen = new Set();
    for (const summary of requests) {
      seen.add(summary.id);
      if (!this.rows.has(summary.id)) {
        const row = this.row(summary);
        this.rows.set(summary.id, row);
        this.summaries.set(summary.id, summary);
        this.body.prepend(row); // newest first: the journal lists oldest first
        this.filterRow(row, summary);
      }
    }
    for (const [id, row] of this.rows) {
      if (!seen.has(id)) {
        row.remove();
        this.rows.delete(id);
        this.summaries.delete(id);
      }
    }
    document.getElementById("traffic-count").textContent = String(requests.length);
  },

  row(summary) {
    const { target } = located(summary.url);
    const time = new Date(summary.time);
    const clock = time.toLocaleTimeString([], { hour12: false }) +
      `.${String(time.getMilliseconds()).padStart(3, "0")}`;
    return element(
      "tr",
      { tabIndex: 0, dataset: { id: summary.id }, className: `status-${String(summary.status)[0]}xx` },
      element("td", { className: "time" }, element("time", { dateTime: summary.time }, clock)),
      element("td", { className: "method" }, summary.method),
      element("td", { className: "path" }, target),
      element(
        "td",
        { className: "status" },
        summary.status ? String(summary.status) : "none",
        summary.fault ? element("span", { className: "fault" }, ` fault=${summary.fault}`) : null,
      ),
      element("td", { className: "code" }, summary.code === null ? "" : String(summary.code)),
      element("td", { className: "number" }, summary.durationMs.toFixed(1)),
      verdict("request", summary.requestProblems),
      summary.status ? verdict("response", summary.responseProblems) : unanswered(summary.fault),
    );
  },

  applyFilter() {
    for (const [id, row] of this.rows) this.filterRow(row, this.summaries.get(id));
  },

  filterRow(row, summary) {
    const wanted = Object.fromEntries(new FormData(this.filter));
    const path = wanted.path.trim().toLowerCase();
    const status = wanted.status.trim().toLowerCase().replace(/x/g, "");
    const code = wanted.code.trim();
    row.hidden = !(
      (!path || summary.url.toLowerCase().includes(path)) &&
      (!status || String(summary.status).startsWith(status)) &&
      (!code || String(summary.code ?? "").startsWith(code))
    );
  },

  async openRow(row) {
    const dialog = document.getElementById("exchange");
    try {
      const entry = await getJson(`/__admin/requests/${encodeURIComponent(row.dataset.id)}`);
      showExchange(dialog, entry);
      openDialog(dialog);
    } catch (error) {
      this.tell(error.message);
    }
  },
};

function verdict(side, problems) {
  const conforms = problems.length === 0;
  const label = conforms
    ? `the ${side} conforms to the spec`
    : `the ${side} breaks the spec: ${problems.join("; ")}`;
  return element(
    "td",
    { className: conforms ? "verdict ok" : "verdict broken", title: label },
    element("span", { "aria-hidden": "true" }, conforms ? "✓" : `✗ ${problems.length}`),
    element("span", { className: "hidden-visually" }, label),
  );
}

// A response cell where the client got none: a rehearsed fault left it without an answer.
function unanswered(fault) {
  const label = `no answer: the rehearsed fault ${fault} left the client without one`;
  return element(
    "td",
    { className: "verdict", title: label },
    element("span", { "aria-hidden": "true" }, "—"),
    element("span", { className: "hidden-visually" }, label),
  );
}

// An exchange's URL as the journal has it, in two parts: the target (path and query) as it was
// sent, and the origin to send it to again. Of a URL that does not parse (a request with a Host
// that is no host, `a:99999`, or an HTTP/1.0 one without any: `http:///v2/...`) the target is
// kept as written, and the origin is this mock's, which answered it.
function located(url) {
  const [, origin = "", target = url] = /^([a-z][a-z\d+.-]*:\/\/[^/?#]*)(.*)$/is.exec(url) ?? [];
  let address = null;
  try {
    address = new URL(origin);
  } catch {
    // no origin one can send to
  }
  return { target: target || "/", origin: address?.host ? origin : location.origin };
}

function showExchange(dialog, entry) {
  const { request, response } = entry;
  const found = entry._capkit ?? {};
  dialog.querySelector("h2").textContent =
    `${request.method} ${located(request.url).target} → ${response.status || "no answer"}`;
  const problems = dialog.querySelector(".problems");
  const fault = found.fault && `Rehearsed fault ${found.fault}${response.comment ? `: ${response.comment}` : "."}`;
  problems.replaceChildren(
    element("p", {}, found.operationId ? `Operation ${found.operationId}.` : "No operation of the spec."),
    ...(fault ? [element("p", { className: "broken" }, fault)] : []),
    problemList("Request", found.requestProblems ?? []),
    response.status ? problemList("Response", found.responseProblems ?? []) : element("p", {}, "No response."),
  );
  const curl = dialog.querySelector(".curl");
  curl.hidden = true;
  curl.textContent = curlOf(request);
  dialog.querySelector("#exchange-curl").onclick = async () => {
    curl.hidden = false;
    try {
      await navigator.clipboard.writeText(curl.textContent);
    } catch {
      // Without clipboard access (an insecure origin), the command is shown to copy by hand.
    }
  };
  dialog.querySelector("#exchange-har").onclick = () =>
    download(`capkit-${found.id ?? "exchange"}.har`, {
      log: { version: "1.2", creator: { name: "capkit mock console", version: config.version }, entries: [entry] },
    });
  dialog.querySelector(".sides").replaceChildren(
    side("Request", request.headers, request.postData?.text ?? request.comment ?? ""),
    side("Response", response.headers, response.content?.text ?? ""),
  );
}

function problemList(side, problems) {
  if (!problems.length) return element("p", { className: "ok" }, `✓ The ${side.toLowerCase()} conforms to the spec.`);
  return element(
    "div",
    { className: "broken" },
    element("p", {}, `✗ The ${side.toLowerCase()} breaks the spec:`),
    element("ul", {}, ...problems.map((problem) => element("li", {}, problem))),
  );
}

function side(title, headers, body) {
  return element(
    "section",
    {},
    element("h3", {}, title),
    element(
      "dl",
      { className: "headers" },
      ...headers.flatMap(({ name, value }) => [element("dt", {}, name), element("dd", {}, value)]),
    ),
    body ? element("pre", { className: "json", tabIndex: 0 }, pretty(body)) : element("p", {}, "No body."),
  );
}

// The request as curl, its credentials as the journal keeps them: masked. The journal keeps the
// body as the mock read it: decoded, where it came in a coding the mock decodes, so that that
// Content-Encoding would not be true of it (one the mock refused, 415, is kept, to be refused
// again), nor the framing of what was sent (Content-Length, Transfer-Encoding): curl sets its own.
const DECODED = new Set(["gzip", "deflate", "br", "zstd"]);

function curlOf(request) {
  const quote = (text) => `'${String(text).replace(/'/g, `'\\''`)}'`;
  const skipped = new Set(["host", "content-length", "transfer-encoding", "connection", "accept-encoding"]);
  const decoded = (name, value) =>
    name.toLowerCase() === "content-encoding" && DECODED.has(value.trim().toLowerCase());
  const { origin, target } = located(request.url);
  const parts = ["curl", "-X", request.method, quote(origin + target)];
  for (const { name, value } of request.headers) {
    if (!skipped.has(name.toLowerCase()) && !decoded(name, value)) {
      parts.push("-H", quote(`${name}: ${value}`));
    }
  }
  if (request.postData?.text) parts.push("--data-raw", quote(request.postData.text));
  return parts.join(" ");
}

// --- state: the customers the mock holds -----------------------------------------------------

const state = {
  customers: [],
  searchable: [], // of each customer, what Find looks in
  typing: null,
  body: document.querySelector("#customers tbody"),
  filter: document.getElementById("state-filter"),

  show(first) {
    if (first) {
      this.filter.addEventListener("input", () => {
        clearTimeout(this.typing);
        this.typing = setTimeout(() => this.render(), FIND_MS);
      });
      this.filter.addEventListener("submit", (event) => event.preventDefault());
      document.getElementById("state-reload").addEventListener("click", () => {
        this.load();
        rehearsal.load();
      });
      document.getElementById("state-reset").addEventListener("click", () => this.reset());
      opensRows(this.body, (row) => this.open(row));
      seed.start();
      rehearsal.start();
    }
    this.load();
    rehearsal.load();
  },

  async load() {
    try {
      this.customers = (await getJson("/__admin/state")).customers;
      this.searchable = this.customers.map(searched);
      this.render();
    } catch (error) {
      say("state-status", `The state cannot be read: ${error.message}`);
    }
  },

  async reset() {
    if (!window.confirm("Reset the mock to its seed? Every change and the journal are lost.")) return;
    let done;
    try {
      done = await getJson("/__admin/reset", { method: "POST" }, change);
    } catch (error) {
      say("state-status", `Not reset: ${error.message}`);
      return;
    }
    await this.load();
    say("state-status", `Reset: back to the ${done.customers} customers of the seed, the journal emptied.`);
  },

  render() {
    clearTimeout(this.typing);
    const wanted = new FormData(this.filter).get("find").trim().toLowerCase();
    const found = this.customers.filter((_, index) => !wanted || this.searchable[index].includes(wanted));
    this.body.replaceChildren(
      ...found.slice(0, MOST_ROWS).map((customer) => {
        const profiles = customer.profiles ?? [];
        const named = profiles.find((profile) => profile.first_name || profile.last_name) ?? {};
        return element(
          "tr",
          { tabIndex: 0, dataset: { id: digits(customer.id) } },
          element("td", { className: "number" }, digits(customer.id)),
          element("td", {}, [named.first_name, named.last_name].filter(Boolean).join(" ")),
          element("td", { className: "identifiers" }, identifiers(customer).join(", ")),
          element("td", {}, [...new Set(profiles.map((profile) => profile.source))].join(", ")),
          element("td", {}, customer.loyalty_type ?? ""),
          element("td", { className: "number" }, customer.merged_into == null ? "" : digits(customer.merged_into)),
        );
      }),
    );
    const counted = `${found.length} of ${this.customers.length} customers`;
    say(
      "state-status",
      found.length > MOST_ROWS ? `${counted}; showing the first ${MOST_ROWS}: refine the search.` : `${counted}.`,
    );
  },

  open(row) {
    const customer = this.customers.find((each) => digits(each.id) === row.dataset.id);
    const dialog = document.getElementById("customer");
    dialog.querySelector("h2").textContent = `Customer ${digits(customer.id)}`;
    dialog.querySelector(".json").textContent = JSON.stringify(customer, null, 2);
    openDialog(dialog);
  },
};

// --- seed: the state as a seed file, and customers added from one ----------------------------

const seed = {
  start() {
    const input = document.getElementById("seed-file");
    input.addEventListener("change", async () => {
      const [file] = input.files;
      input.value = ""; // the same file again is a new upload
      if (file) await this.upload(file);
    });
  },

  async upload(file) {
    const status = document.getElementById("seed-status");
    // As capkit serve --seed reads a file: YAML by its name, else JSON.
    const yaml = /\.ya?ml$/i.test(file.name);
    let response, body;
    try {
      response = await change("/__admin/seed", {
        method: "POST",
        headers: { "Content-Type": yaml ? "application/yaml" : "application/json" },
        body: await file.text(),
      });
      body = await jsonOf(response);
    } catch (error) {
      status.replaceChildren(element("p", { className: "broken" }, `Not added: ${file.name}: ${error.message}`));
      return;
    }
    if (!response.ok) {
      const problems = (body.errors ?? []).map((error) => error.message);
      status.replaceChildren(
        element("p", { className: "broken" }, `${file.name} is refused, nothing was added:`),
        element("ul", {}, ...problems.map((problem) => element("li", {}, problem))),
      );
      return;
    }
    status.replaceChildren(
      element("p", {}, `${file.name}: added ${body.seeded.length} customer(s), ${body.seeded.map(digits).join(", ")}, until the next reset.`),
    );
    await state.load();
  },
};

// --- rehearsal: latency, faults and rate limit, as /__admin/chaos has them -------------------

const rehearsal = {
  form: document.getElementById("rehearsal"),
  shown: null, // the settings as last read, in /__admin/chaos's JSON

  start() {
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.apply();
    });
    document.getElementById("rehearsal-flags").addEventListener("click", () => this.back());
  },

  async load() {
    try {
      this.fill(await getJson("/__admin/chaos"));
    } catch (error) {
      say("rehearsal-status", `The settings cannot be read: ${error.message}`);
    }
  },

  fill(settings) {
    this.shown = settings;
    const fields = this.form.elements;
    fields.latency.value = settings.latency.join(", ");
    fields.faults.value = String(settings.faults);
    for (const box of this.form.querySelectorAll("[name=faultKinds]")) {
      box.checked = settings.faultKinds.includes(box.value);
    }
    fields.faultHold.value = settings.faultHold;
    fields.chaosSeed.value = settings.chaosSeed === null ? "" : digits(settings.chaosSeed);
    fields.rateLimit.value = settings.rateLimit ?? "";
    for (const field of this.form.querySelectorAll("[aria-invalid]")) field.removeAttribute("aria-invalid");
    const changed = settings.changedAtRuntime;
    say(
      "rehearsal-changed",
      changed.length ? `Changed here: ${changed.join(", ")}.` : "In force: the flags' settings.",
    );
  },

  // The form as /__admin/chaos's JSON; an empty field turns its setting off.
  read() {
    const fields = this.form.elements;
    const text = (name) => fields[name].value.trim();
    const kinds = [...this.form.querySelectorAll("[name=faultKinds]:checked")].map((box) => box.value);
    return {
      latency: text("latency") ? text("latency").split(/\s*,\s*/).filter(Boolean) : null,
      faults: text("faults") ? Number(text("faults")) : null,
      faultKinds: kinds, // none is refused: the mock takes a null for all of them
      faultHold: text("faultHold") || null,
      chaosSeed: text("chaosSeed") ? whole(text("chaosSeed")) : null,
      rateLimit: text("rateLimit") || null,
    };
  },

  // What the user changed in the form is applied, and nothing else: a PUT replaces every
  // setting changed before, so it carries too what is changed at runtime now, as the mock has
  // it now (changed elsewhere, by curl or another console, since the form was filled). A setting
  // the user changed that was changed elsewhere in between is not overwritten unseen.
  async apply() {
    say("rehearsal-status", ""); // a message of the last Apply is not this one's
    const wanted = this.read();
    if (!wanted.faultKinds.length) {
      this.form.querySelector("[name=faultKinds]").focus();
      say("rehearsal-status", "Not changed: faultKinds: tick one kind at least (Faults at 0 turns faults off).");
      return;
    }
    const names = Object.keys(wanted);
    const edited = names.filter((name) => !same(wanted[name], comparable(this.shown, name)));
    if (!edited.length) {
      say("rehearsal-status", "Nothing to change.");
      return;
    }
    let now;
    try {
      now = await getJson("/__admin/chaos");
    } catch (error) {
      say("rehearsal-status", `Not changed: ${error.message}`);
      return;
    }
    const elsewhere = names.filter((name) => !same(comparable(now, name), comparable(this.shown, name)));
    const clashing = elsewhere.filter((name) => edited.includes(name) && !same(comparable(now, name), wanted[name]));
    if (clashing.length) {
      this.fill(now);
      say(
        "rehearsal-status",
        `Not changed: ${clashing.join(", ")} changed elsewhere since shown; the form shows the settings in force now.`,
      );
      return;
    }
    const changes = Object.fromEntries(now.changedAtRuntime.map((name) => [name, now[name]]));
    for (const name of edited) changes[name] = wanted[name];
    let response, body;
    try {
      response = await change("/__admin/chaos", {
        method: "PUT",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(changes),
      });
      body = await jsonOf(response);
    } catch (error) {
      say("rehearsal-status", `Not changed: ${error.message}`);
      return;
    }
    if (!response.ok) {
      const message = body.errors?.[0]?.message ?? `${response.status}`;
      const field = this.form.elements[message.split(":")[0]];
      if (field && !(field instanceof RadioNodeList)) {
        field.setAttribute("aria-invalid", "true");
        field.focus();
      }
      say("rehearsal-status", `Not changed: ${message}`);
      return;
    }
    this.fill(body);
    const kept = elsewhere.filter((name) => !edited.includes(name));
    say(
      "rehearsal-status",
      `In force in every worker from now: ${edited.join(", ")}.` +
        (kept.length ? ` Changed elsewhere meanwhile, kept: ${kept.join(", ")}.` : ""),
    );
  },

  async back() {
    try {
      this.fill(await getJson("/__admin/chaos", { method: "DELETE" }, change));
    } catch (error) {
      say("rehearsal-status", `Not changed: ${error.message}`);
      return;
    }
    say("rehearsal-status", "Back to the flags' settings.");
  },
};

// The setting NAME of SETTINGS (as /__admin/chaos has them) in the form's terms: no latency
// is an empty field.
function comparable(settings, name) {
  const value = settings[name];
  return name === "latency" && !value.length ? null : value;
}

// Whether two settings are the same, a list's order aside (fault kinds).
function same(one, other) {
  const plain = (value) => JSON.stringify(Array.isArray(value) ? [...value].sort() : value ?? null);
  return plain(one) === plain(other);
}

function identifiers(customer) {
  return (customer.profiles ?? []).flatMap((profile) =>
    (profile.identifiers ?? []).map((identifier) => `${identifier.type}: ${identifier.value}`),
  );
}

// What Find looks in for CUSTOMER: its id, identifiers and names, each on a line, lowercase.
function searched(customer) {
  const names = (customer.profiles ?? []).map((p) => `${p.first_name ?? ""} ${p.last_name ?? ""}`);
  return [digits(customer.id), ...identifiers(customer), ...names].join("\n").toLowerCase();
}

// --- start ----------------------------------------------------------------------------------

const panels = { api, traffic, state };
document.addEventListener("visibilitychange", () => {
  if (!document.hidden && traffic.live) traffic.poll();
});
traffic.start();
window.addEventListener("hashchange", () => select(tabOfLocation()));
select(tabOfLocation());
