// The status page: poll the JSON snapshot every 2 s and redraw.
"use strict";
(function () {
  const root = document.getElementById("status");
  const $ = (id) => document.getElementById(id);
  function cell(text, cls) { const td = document.createElement("td"); td.textContent = text; if (cls) td.className = cls; return td; }

  function draw(data) {
    const adapters = $("adapters");
    adapters.replaceChildren(...Object.entries(data.adapters).map(([name, info]) => {
      const li = document.createElement("li"); li.className = "card"; li.dataset.adapter = name;
      const label = document.createElement("span"); label.textContent = name;
      const pill = document.createElement("span"); pill.className = "pill " + (info.up ? "up" : "down");
      pill.textContent = info.up ? "up" : "down";
      li.append(label, pill);
      return li;
    }));
    const names = new Set([...Object.keys(data.protocols), ...Object.keys(data.scopes_open)]);
    const rows = [...names].sort().map((name) => {
      const p = data.protocols[name] || { events_in: 0, events_out: 0, messages_per_second: 0 };
      const tr = document.createElement("tr"); tr.dataset.protocol = name;
      tr.append(cell(name), cell(data.scopes_open[name] || 0, "num"), cell(p.messages_per_second.toFixed(1), "num"),
        cell(p.events_in, "num"), cell(p.events_out, "num"), cell(data.handler_errors[name] || 0, "num"));
      return tr;
    });
    if (rows.length) $("protocols").replaceChildren(...rows);
    if (data.devices && data.devices.length) {
      const now = data.time;
      $("devices").replaceChildren(...data.devices.map((d) => {
        const li = document.createElement("li"); li.className = "card"; li.dataset.device = d.device_id;
        const head = document.createElement("div"); head.className = "head";
        const name = document.createElement("span"); name.textContent = d.device_id;
        const pill = document.createElement("span"); pill.className = "pill " + (d.online ? "up" : "down");
        pill.textContent = d.online ? "online" : "offline";
        head.append(name, pill);
        const dl = document.createElement("dl");
        for (const [key, [value, when]] of Object.entries(d.values)) {
          const dt = document.createElement("dt"); dt.textContent = key;
          const dd = document.createElement("dd"); dd.dataset.key = key;
          dd.textContent = value + " (" + Math.max(0, Math.round(now - when)) + " s ago)";
          dl.append(dt, dd);
        }
        li.append(head, dl);
        return li;
      }));
    }
    if (data.telegram) {
      const t = data.telegram, u = t.updates, o = t.outbox;
      const figures = [["updates in", Object.values(u).reduce((a, b) => a + b, 0)],
        ["handled", u.handled || 0], ["failed", u.failed || 0], ["ignored", u.ignored || 0],
        ["replies out", o.sent || 0], ["queued", o.pending || 0],
        ["outbox age s", t.outbox_age_seconds], ["429s", t.throttled], ["paused s", t.paused_seconds]];
      $("telegram-figures").replaceChildren(...figures.map(([name, value]) => {
        const li = document.createElement("li"); li.className = "card"; li.dataset.figure = name;
        const label = document.createElement("span"); label.textContent = name;
        const num = document.createElement("span"); num.className = "num"; num.textContent = value;
        li.append(label, num);
        return li;
      }));
      $("telegram").hidden = false;
    }
    // Adapters' own metrics (e.g. ax25: frames in/out, APRS acks and re-sends, TNC connected).
    const details = Object.entries(data.details || {}).sort().flatMap(([adapter, groups]) =>
      Object.entries(groups).sort().map(([metric, values]) => {
        const tr = document.createElement("tr"); tr.dataset.detail = adapter + "." + metric;
        const text = Object.entries(values).map(([k, v]) => (k === "value" ? String(v) : k + " " + v)).join(", ");
        tr.append(cell(adapter), cell(metric), cell(text || "0"));
        return tr;
      }));
    if (details.length) $("details").replaceChildren(...details);
    $("updated").textContent = "updated " + new Date(data.time * 1000).toLocaleTimeString();
  }

  async function poll() {
    try {
      const response = await fetch(root.dataset.statusUrl, { cache: "no-store" });
      if (!response.ok) throw new Error("HTTP " + response.status);
      draw(await response.json());
    } catch (err) {
      $("updated").textContent = "unreachable (" + err.message + "), retrying";
    }
    setTimeout(poll, 2000);
  }
  poll();
})();
