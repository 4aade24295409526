// PileBridge site page: renders the gateway's live feed (server-sent events) and sends
// commissioning commands. Plain script, no build step, no outside resources; every value
// from the gateway is put into the page as text, never as markup.
"use strict";
(() => {
  const meta = (name) => (document.querySelector(`meta[name="${name}"]`) || {}).content || "";
  const csrf = meta("csrf-token");
  const role = meta("role");
  const $ = (id) => document.getElementById(id);

  const state = {
    status: null,
    devices: { charger: [], storage: [], meter: [] },
    values: new Map(), // "kind/id/leaf[#evse]" -> {kind, id, leaf, body, ts}
    panel: {},
    siteId: "",
    gridMeter: null,
    events: [],
    connected: false,
  };
  let requestCounter = 0;

  // ---- helpers ------------------------------------------------------------------------
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }
  const num = (v) => typeof v === "number" && Number.isFinite(v);
  function power(w) {
    if (!num(w)) return "–";
    return Math.abs(w) >= 1000 ? `${(w / 1000).toFixed(1)} kW` : `${Math.round(w)} W`;
  }
  function energy(wh) {
    if (!num(wh)) return "–";
    return Math.abs(wh) >= 1000 ? `${(wh / 1000).toFixed(2)} kWh` : `${Math.round(wh)} Wh`;
  }
  const fixed = (v, unit, digits = 1) => (num(v) ? `${v.toFixed(digits)} ${unit}` : "–");
  function ago(iso) {
    if (!iso) return "never";
    const s = Math.round((Date.now() - Date.parse(iso)) / 1000);
    if (!Number.isFinite(s)) return String(iso);
    if (s < 2) return "just now";
    if (s < 120) return `${s} s ago`;
    if (s < 7200) return `${Math.round(s / 60)} min ago`;
    return new Date(iso).toLocaleString();
  }
  function until(iso) {
    if (!iso) return "no expiry";
    const s = Math.round((Date.parse(iso) - Date.now()) / 1000);
    if (!Number.isFinite(s)) return String(iso);
    return s > 0 ? `lapses in ${s} s` : "lapsing";
  }
  function duration(seconds) {
    if (!num(seconds)) return "–";
    const d = Math.floor(seconds / 86400), h = Math.floor((seconds % 86400) / 3600);
    const m = Math.floor((seconds % 3600) / 60), s = Math.floor(seconds % 60);
    if (d) return `${d} d ${h} h`;
    if (h) return `${h} h ${m} min`;
    return m ? `${m} min ${s} s` : `${s} s`;
  }
  const clock = (iso) => (iso ? new Date(iso).toLocaleTimeString([], { hour12: false }) : "");
  function detailText(detail) {
    // `applied_power_w: -20000` -> `applied power -20.0 kW`; other values as they are.
    return Object.entries(detail || {})
      .map(([key, v]) => {
        const name = key.replace(/_(w|wh|a|s|pct)$/, "").replace(/_/g, " ");
        if (key.endsWith("_w")) return `${name} ${power(v)}`;
        if (key.endsWith("_a") && num(v)) return `${name} ${fixed(v, "A")}`;
        if (v && typeof v === "object") {
          const inner = Object.entries(v).map(([k, x]) => (k.endsWith("_w") ? power(x) : `${x}`));
          return `${name} ${inner.join(" ")}`;
        }
        return `${name} ${v}`;
      })
      .join(" · ");
  }
  const value = (kind, id, leaf, evse) =>
    (state.values.get(`${kind}/${id}/${leaf}${evse === undefined ? "" : "#" + evse}`) || {}).body;
  function dot(connected) {
    const cls = connected === true ? "on" : connected === false ? "off" : "unknown";
    const label = connected === true ? "connected" : connected === false ? "offline" : "not seen yet";
    return el("span", { class: `dot ${cls}`, title: label }, label);
  }
  function facts(pairs) {
    const dl = el("dl", { class: "facts" });
    for (const [key, val] of pairs) {
      if (val === undefined || val === null || val === "") continue;
      dl.append(el("dt", { text: key }), el("dd", {}, val));
    }
    return dl;
  }
  function replace(target, ...nodes) {
    target.replaceChildren(...nodes);
  }

  // ---- feed ---------------------------------------------------------------------------
  function keyOf(item) {
    const evse = item.body && (item.leaf === "telemetry" || item.leaf === "transaction") ? item.body.evse : undefined;
    return `${item.kind}/${item.id}/${item.leaf}${evse === undefined || evse === null ? "" : "#" + evse}`;
  }
  function isEvent(item) {
    if (item.leaf === "transaction") return item.body.event !== "updated";
    return item.leaf === "event" || item.leaf.startsWith("cmd/") || item.leaf.endsWith("/event");
  }
  function take(item, fromHistory) {
    if (!fromHistory && (item.leaf === "transaction" || !isEvent(item))) state.values.set(keyOf(item), item);
    if (isEvent(item)) {
      state.events.unshift(item);
      if (state.events.length > 60) state.events.length = 60;
    }
  }
  function onSnapshot(data) {
    state.values.clear();
    state.events = [];
    state.siteId = data.site_id;
    state.gridMeter = data.grid_meter || null;
    state.status = data.status;
    state.devices = data.devices;
    state.panel = data.panel || {};
    for (const item of data.values) take(item);
    for (const item of data.history) if (isEvent(item)) take(item, true);
    buildPanel();
    render();
  }
  function connect() {
    const source = new EventSource("api/events");
    source.addEventListener("snapshot", (e) => onSnapshot(JSON.parse(e.data)));
    source.addEventListener("items", (e) => {
      for (const item of JSON.parse(e.data)) take(item);
      render();
    });
    source.addEventListener("status", (e) => {
      state.status = JSON.parse(e.data);
      renderGateway();
    });
    source.onopen = () => setLink(true);
    source.onerror = () => {
      setLink(false);
      if (source.readyState === EventSource.CLOSED) {
        // Refused (logged out, session expired) or the gateway restarted: check, then retry.
        setTimeout(() => {
          fetch("api/snapshot", { credentials: "same-origin" })
            .then((r) => (r.status === 401 ? location.reload() : connect()))
            .catch(() => connect());
        }, 3000);
      }
    };
  }
  function setLink(up) {
    state.connected = up;
    const pill = $("link");
    pill.textContent = up ? "live" : "reconnecting…";
    pill.className = `pill ${up ? "ok" : "down"}`;
  }

  // ---- sections -----------------------------------------------------------------------
  function render() {
    renderGateway();
    renderGrid();
    renderChargers();
    renderStorage();
    renderMeters();
    renderEvents();
  }

  function renderGateway() {
    const s = state.status;
    if (!s) return;
    const mqtt = s.mqtt || {};
    const outbox = s.outbox || {};
    const broker = !mqtt.enabled ? "disabled" : mqtt.connected ? "connected" : "NOT CONNECTED";
    const statusPill = el("span", { class: `pill ${s.status}` }, String(s.status).toUpperCase());
    const up = duration(s.uptime_s);
    const deadLetters = outbox.dead_letters ?? outbox.dead ?? null;
    replace(
      $("gateway-facts"),
      ...facts([
        ["status", statusPill],
        ["MQTT", el("span", { class: mqtt.connected ? "good" : "bad" }, `${broker} (${mqtt.host}:${mqtt.port})`)],
        ["outbox", `${outbox.depth ?? "–"} waiting · ${outbox.dropped ?? 0} dropped`],
        ["dead letters", deadLetters === null ? null : String(deadLetters)],
        ["last seq", outbox.last_seq],
        ["version", s.version],
        ["uptime", up],
        ["components", (s.components || []).map((c) => `${c.name}${c.running ? "" : " (DOWN)"}`).join(", ")],
      ]).childNodes,
    );
    replace($("problems"), ...(s.problems || []).map((p) => el("li", { text: p })));
  }

  function renderGrid() {
    const site = value("site", state.siteId, "telemetry");
    const body = $("grid-body");
    if (!site) return;
    const nodes = [];
    const grid = site.grid_power_w;
    const limit = site.import_limit_w;
    if (site.failsafe) {
      nodes.push(el("p", { class: "alert", text: "Grid reading missing: the site controller holds the fail-safe." }));
    }
    if (num(grid) && num(limit) && limit > 0) {
      const pct = Math.max(0, Math.min(100, (grid / limit) * 100));
      const bar = el("div", { class: "meter-bar", role: "img", "aria-label": `grid import ${power(grid)} of ${power(limit)}` },
        el("div", { class: `fill ${pct > 95 ? "hot" : pct > 80 ? "warm" : ""}` }));
      bar.firstChild.style.width = `${pct}%`;
      nodes.push(bar);
    }
    const share = num(grid) && num(limit) && limit > 0 ? ` · ${Math.round((grid / limit) * 100)} % of the limit` : "";
    nodes.push(
      facts([
        ["grid import", el("span", {}, el("strong", { id: "grid-power" }, power(grid)), share)],
        ["limit in force", num(limit) ? `${power(limit)} (${site.limit_source || "config"})` : "none"],
        ["current limit", num(site.import_limit_a) ? `${fixed(site.import_limit_a, "A")} per phase` : null],
        ["export limit", num(site.export_limit_w) ? power(site.export_limit_w) : null],
        ["controller aims at", num(site.target_w) ? `${power(site.target_w)} (${(site.target_source || "limit").replace(/_/g, " ")})` : null],
        ["chargers", power(site.chargers_power_w)],
        ["batteries", power(site.storage_power_w)],
      ]),
    );
    nodes.push(...phaseTable(site));
    nodes.push(...flexibility());
    // Any other site record (added later) shows as it comes.
    for (const item of state.values.values()) {
      if (item.kind !== "site" || ["telemetry", "flexibility"].includes(item.leaf) || isEvent(item)) continue;
      nodes.push(el("h3", { text: item.leaf.replace(/_/g, " ") }), facts(Object.entries(item.body).map(([k, v]) => [k.replace(/_/g, " "), typeof v === "object" ? JSON.stringify(v) : String(v)])));
    }
    const decisions = controllerDecisions(site);
    if (decisions.length) {
      nodes.push(el("h3", { text: "site controller" }), el("ul", { class: "decisions" }, decisions.map((d) => el("li", { text: d }))));
    }
    replace(body, ...nodes);
  }

  function phaseTable(site) {
    const meterId = state.gridMeter || state.devices.meter[0];
    const meter = (meterId && value("meter", meterId, "telemetry")) || {};
    const phases = meter.phases || {};
    const currents = site.phase_current_a || {};
    const names = [...new Set([...Object.keys(phases), ...Object.keys(currents)])].sort();
    if (!names.length) return [];
    const limitA = site.import_limit_a;
    const rows = names.map((name) => {
      const p = phases[name] || {};
      const amps = num(currents[name]) ? currents[name] : p.current_a;
      const over = num(limitA) && num(amps) && amps > limitA;
      return el("tr", {},
        el("th", { text: name }),
        el("td", { text: power(p.power_w) }),
        el("td", { class: over ? "bad" : null, text: fixed(amps, "A") + (num(limitA) ? ` / ${fixed(limitA, "A", 0)}` : "") }),
        el("td", { text: fixed(p.voltage_v, "V", 0) }));
    });
    return [el("table", { class: "phases" }, el("tr", {}, ...["phase", "power", "current", "voltage"].map((h) => el("th", { text: h }))), rows)];
  }

  function flexibility() {
    const flex = value("site", state.siteId, "flexibility");
    if (!flex) return [];
    const span = (s) => (num(s) ? ` for ${duration(s)}` : "");
    const parts = (flex.parts || []).map((p) =>
      el("li", { text: `${p.kind}${p.device_id ? " " + p.device_id : ""}: shed ${power(p.shed_w)}${span(p.shed_for_s)}, add ${power(p.add_w)}${span(p.add_for_s)}` }));
    return [
      el("h3", { text: "flexibility" }),
      facts([
        ["can shed", `${power(flex.shed_w)}${span(flex.shed_for_s)}`],
        ["can add", `${power(flex.add_w)}${span(flex.add_for_s)}`],
      ]),
      parts.length ? el("ul", { class: "decisions" }, parts) : null,
    ];
  }

  const CONTROLLER = new Set(["controller", "site_controller", "site"]);
  function controllerDecisions(site) {
    const out = [];
    const shares = site.charger_shares_w;
    if (shares) {
      for (const [id, w] of Object.entries(shares)) {
        out.push(`${id}: ${w === null ? "not limited" : w === 0 ? "paused" : "share " + power(w)}`);
      }
    } else {
      for (const id of state.devices.charger) {
        const st = value("charger", id, "state");
        for (const lim of (st && st.limits) || []) {
          if (CONTROLLER.has(lim.source)) out.push(`${id}${lim.evse ? " #" + lim.evse : ""}: capped at ${num(lim.power_w) ? power(lim.power_w) : fixed(lim.current_a, "A")}`);
        }
      }
    }
    for (const [id, w] of Object.entries(site.storage_setpoints_w || {})) out.push(`${id}: setpoint ${power(w)}`);
    return out;
  }

  function limitFor(st, evse) {
    const inForce = st.limit_in_force && (st.limit_in_force[String(evse)] || st.limit_in_force["0"]);
    if (inForce) return inForce;
    const limits = (st.limits || []).filter((l) => l.evse === evse || l.evse === 0);
    if (!limits.length) return null;
    return limits.reduce((a, b) => ((b.power_w ?? Infinity) < (a.power_w ?? Infinity) ? b : a));
  }
  function limitText(lim) {
    if (!lim) return "none";
    const amount = num(lim.power_w) ? power(lim.power_w) : num(lim.current_a) ? fixed(lim.current_a, "A") : "–";
    const lease = lim.expires_at ? `, ${until(lim.expires_at)}` : "";
    return `${amount} (${lim.source || "?"}${lease})`;
  }

  function renderChargers() {
    const ids = state.devices.charger;
    if (!ids.length) return;
    replace(
      $("chargers"),
      ...ids.map((id) => {
        const st = value("charger", id, "state") || {};
        const evses = new Set(Object.keys(st.evses || {}).map(Number));
        for (const key of state.values.keys()) {
          const m = key.match(/^charger\/(.*)\/telemetry#(\d+)$/);
          if (m && m[1] === id) evses.add(Number(m[2]));
        }
        if (evses.size > 1) evses.delete(0);
        const active = new Map((st.transactions || []).map((t) => [t.evse, t]));
        const rows = [...evses].sort((a, b) => a - b).map((evse) => {
          const tel = value("charger", id, "telemetry", evse) || {};
          const tx = value("charger", id, "transaction", evse);
          const status = ((st.evses || {})[String(evse)] || {}).status || "–";
          const session = active.has(evse) && tx && tx.event !== "ended" ? energy(tx.energy_wh) : active.has(evse) ? "0 Wh" : "–";
          return el("tr", { "data-evse": evse },
            el("td", { text: `#${evse}` }),
            el("td", { class: `status s-${status.toLowerCase()}`, text: status }),
            el("td", { class: "power", text: power(tel.power_w) }),
            el("td", { text: session }),
            el("td", { text: limitText(limitFor(st, evse)) }));
        });
        const ident = [st.vendor, st.model].filter(Boolean).join(" ");
        return el("article", { class: "card device", "data-charger": id },
          el("header", {}, el("h3", { text: id }), dot(st.connected), el("span", { class: "tag", text: st.ocpp_version ? `OCPP ${st.ocpp_version}` : "" })),
          facts([
            ["model", ident || null],
            ["firmware", st.firmware],
            ["last seen", ago(st.last_seen)],
            ["note", st.reason],
          ]),
          rows.length
            ? el("table", { class: "evses" },
                el("tr", {}, ...["EVSE", "status", "power", "session", "limit in force"].map((h) => el("th", { text: h }))),
                rows)
            : el("p", { class: "muted", text: "no EVSE reported yet" }));
      }),
    );
  }

  function renderStorage() {
    const ids = state.devices.storage;
    if (!ids.length) return;
    replace(
      $("storage"),
      ...ids.map((id) => {
        const st = value("storage", id, "state") || {};
        const tel = value("storage", id, "telemetry") || {};
        const soc = num(tel.soc_pct) ? tel.soc_pct : null;
        const sp = st.setpoint;
        const setpoint = sp ? `${power(sp.power_w)} (${sp.source || "?"}, ${until(sp.expires_at)})` : "none";
        const bar = el("div", { class: "meter-bar soc" }, el("div", { class: "fill" }));
        bar.firstChild.style.width = `${soc ?? 0}%`;
        return el("article", { class: "card device", "data-storage": id },
          el("header", {}, el("h3", { text: id }), dot(st.connected), el("span", { class: "tag", text: st.mode ? `mode ${st.mode}` : "" })),
          soc === null ? null : bar,
          facts([
            ["SoC", el("strong", { class: "soc-value" }, fixed(soc, "%"))],
            ["power", el("span", { class: "power" }, power(tel.power_w))],
            ["setpoint in force", setpoint],
            ["limits", st.limits ? `charge ${power(st.limits.max_charge_w)}, discharge ${power(st.limits.max_discharge_w)}` : null],
            ["alarms", (st.alarms || []).join(", ") || null],
            ["note", st.reason],
          ]));
      }),
    );
  }

  function renderMeters() {
    const ids = state.devices.meter;
    $("meters-group").hidden = !ids.length;
    if (!ids.length) return;
    replace(
      $("meters"),
      ...ids.map((id) => {
        const st = value("meter", id, "state") || {};
        const tel = value("meter", id, "telemetry") || {};
        return el("article", { class: "card device", "data-meter": id },
          el("header", {}, el("h3", { text: id }), dot(st.connected), el("span", { class: "tag", text: id === state.gridMeter ? "grid" : "" })),
          facts([
            ["power", el("span", { class: "power" }, power(tel.power_w))],
            ["imported", energy(tel.energy_wh)],
            ["exported", num(tel.energy_export_wh) ? energy(tel.energy_export_wh) : null],
            ["frequency", num(tel.frequency_hz) ? fixed(tel.frequency_hz, "Hz", 2) : null],
          ]));
      }),
    );
  }

  function describe(item) {
    const b = item.body || {};
    if (item.leaf.startsWith("cmd/")) {
      const args = b.args ? JSON.stringify(b.args) : "";
      const why = b.reason ? `: ${b.reason}` : "";
      return `${b.user || "?"} → ${b.command} ${args} — ${b.status}${why}`;
    }
    if (item.leaf === "transaction") {
      const tail = b.event === "ended" ? `, ${energy(b.energy_wh)}${b.stop_reason ? ", " + b.stop_reason : ""}` : b.id_tag ? `, tag ${b.id_tag}` : "";
      return `session ${b.event} on EVSE ${b.evse}${tail}`;
    }
    const name = b.event || item.leaf;
    const data = b.data && typeof b.data === "object" ? JSON.stringify(b.data) : "";
    return `${name} ${data.length > 120 ? data.slice(0, 117) + "…" : data}`;
  }
  function renderEvents() {
    replace(
      $("event-list"),
      ...state.events.slice(0, 40).map((item) => {
        const status = item.leaf.startsWith("cmd/") ? (item.body || {}).status : "";
        return el("li", { class: status ? `result ${status}` : "" },
          el("time", { text: clock(item.ts) }),
          el("span", { class: "who", text: `${item.kind} ${item.id}` }),
          el("span", { text: describe(item) }));
      }),
    );
  }

  // ---- commissioning panel ----------------------------------------------------------
  function buildPanel() {
    if (role !== "operator") return;
    const select = $("cmd-device");
    const before = select.value;
    const options = [];
    const groups = [["charger", "charger"], ["storage", "battery"]];
    for (const [kind, label] of groups) {
      if (!state.panel[kind]) continue;
      for (const id of state.devices[kind]) options.push(el("option", { value: `${kind}\u0000${id}` }, `${label} ${id}`));
    }
    if (state.panel.site) options.push(el("option", { value: `site\u0000${state.siteId}` }, `site ${state.siteId}`));
    select.replaceChildren(...options);
    if ([...select.options].some((o) => o.value === before)) select.value = before;
    buildCommands();
  }
  function selected() {
    const [kind, id] = $("cmd-device").value.split("\u0000");
    return { kind, id };
  }
  function buildCommands() {
    const { kind } = selected();
    const select = $("cmd-name");
    const before = select.value;
    const names = Object.keys(state.panel[kind] || {});
    select.replaceChildren(...names.map((n) => el("option", { value: n }, n.replace(/_/g, " "))));
    if (names.includes(before)) select.value = before;
    buildFields();
  }
  function buildFields() {
    const { kind } = selected();
    const fields = (state.panel[kind] || {})[$("cmd-name").value] || [];
    replace(
      $("cmd-fields"),
      ...fields.map((f) => {
        let input;
        if (f.choices || f.type === "boolean") {
          const choices = f.choices || [true, false];
          input = el("select", { name: f.name }, f.required ? null : el("option", { value: "" }, "—"), choices.map((c) => el("option", { value: JSON.stringify(c) }, String(c))));
        } else {
          const numeric = f.type === "number" || f.type === "integer";
          input = el("input", {
            name: f.name,
            type: numeric ? "number" : "text",
            step: f.type === "integer" ? "1" : numeric ? "any" : null,
            min: f.minimum,
            max: f.maximum,
            required: f.required,
            inputmode: numeric ? "decimal" : null,
            list: f.suggestions ? `list-${f.name}` : null,
            autocomplete: "off",
          });
        }
        return el("label", { class: "field" },
          `${f.label}${f.required ? " *" : ""}`,
          input,
          f.suggestions ? el("datalist", { id: `list-${f.name}` }, f.suggestions.map((s) => el("option", { value: s }))) : null,
          f.hint ? el("small", { text: f.hint }) : null);
      }),
    );
  }
  function collectArgs(kind, name) {
    const args = {};
    const fields = (state.panel[kind] || {})[name] || [];
    for (const f of fields) {
      const input = $("cmd-fields").querySelector(`[name="${f.name}"]`);
      if (!input || input.value === "") continue;
      if (input.tagName === "SELECT") args[f.name] = JSON.parse(input.value);
      else if (f.type === "number" || f.type === "integer") args[f.name] = Number(input.value);
      else args[f.name] = input.value;
    }
    if (kind === "charger" && name === "limit" && !("power_w" in args) && !("current_a" in args)) args.power_w = null;
    return args;
  }
  function showResult(text, status) {
    const box = $("cmd-result");
    box.className = `result ${status}`;
    box.textContent = text;
  }
  async function send(event) {
    event.preventDefault();
    const { kind, id } = selected();
    const name = $("cmd-name").value;
    if (!kind || !name) return;
    const args = collectArgs(kind, name);
    args.id = `ui-${Date.now().toString(36)}-${++requestCounter}`;
    const button = $("cmd-send");
    button.disabled = true;
    showResult(`${name} → ${id}: sending…`, "pending");
    try {
      const response = await fetch("api/command", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify({ target: kind, device: id, command: name, args }),
      });
      if (!response.ok) {
        showResult(`${name} → ${id}: refused (HTTP ${response.status}) ${(await response.text()).trim()}`, "rejected");
        return;
      }
      const result = await response.json();
      const detail = detailText(result.detail);
      showResult(`${name} → ${id}: ${result.status}${result.reason ? " — " + result.reason : ""}${detail ? " · " + detail : ""}`, result.status);
    } catch (err) {
      showResult(`${name} → ${id}: not sent (${err})`, "failed");
    } finally {
      button.disabled = false;
    }
  }

  if (role === "operator") {
    $("cmd-device").addEventListener("change", buildCommands);
    $("cmd-name").addEventListener("change", buildFields);
    $("command-form").addEventListener("submit", send);
  }
  setInterval(() => {
    if (state.status) {
      renderChargers();
      renderStorage();
    }
  }, 1000);
  connect();
})();
