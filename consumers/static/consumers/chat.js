// The chat page: one WebSocket, rejoin after every reconnect, capped exponential backoff.
"use strict";
(function () {
  const root = document.getElementById("chat");
  const $ = (id) => document.getElementById(id);
  const list = $("messages"), conn = $("conn"), connText = $("conn-text");
  const nickInput = $("nick"), roomInput = $("room"), textInput = $("text"), sendButton = $("send");
  const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + root.dataset.wsPath;
  let socket = null, attempt = 0, joined = null, wanted = null;

  nickInput.value = localStorage.getItem("chat.nick") || "";
  roomInput.value = new URLSearchParams(location.search).get("room") || localStorage.getItem("chat.room") || "lobby";

  function setState(state, text) { conn.dataset.state = state; connText.textContent = text; }
  function setJoined(value) {
    joined = value;
    textInput.disabled = sendButton.disabled = !(value && socket && socket.readyState === WebSocket.OPEN);
    textInput.placeholder = value ? "Message #" + value.room : "Join a room to send messages";
    $("room-title").textContent = value ? "#" + value.room + " — you are " + value.nick : "Pick a nickname and a room to start.";
  }
  // Follow new messages only when the reader is at the bottom: someone scrolled up to read
  // history keeps their place.
  function atBottom() { return list.scrollHeight - list.scrollTop - list.clientHeight < 48; }
  function append(li) {
    const follow = atBottom();
    list.appendChild(li);
    if (follow) list.scrollTop = list.scrollHeight;
  }
  function notice(text, cls) {
    const li = document.createElement("li");
    li.className = cls || "notice";
    li.textContent = text;
    append(li);
  }
  function showWho(members) {
    const byProtocol = {};
    for (const m of members) (byProtocol[m.protocol] = byProtocol[m.protocol] || []).push(m.nick);
    const items = Object.keys(byProtocol).sort().map((protocol) => {
      const li = document.createElement("li"); li.dataset.protocol = protocol;
      const badge = document.createElement("span"); badge.className = "badge " + (protocol === "ax25" ? "radio" : protocol);
      badge.textContent = protocol;
      const names = document.createElement("span"); names.textContent = " " + byProtocol[protocol].join(", ");
      li.append(badge, names);
      return li;
    });
    if (!items.length) { const li = document.createElement("li"); li.className = "muted"; li.textContent = "nobody"; items.push(li); }
    $("who").replaceChildren(...items);
  }
  function showReport(m) {
    const li = document.createElement("li"); li.className = "report";
    const text = document.createElement("div"); text.className = "text"; text.textContent = m.text;
    li.append(text);
    if (m.png) {
      const img = document.createElement("img");
      img.src = "data:image/png;base64," + m.png; img.alt = "Chart: " + m.title; img.className = "chart";
      li.append(img);
    }
    append(li);
  }
  function showMessage(m) {
    const li = document.createElement("li");
    if (joined && m.source === "web" && m.sender === joined.nick) li.classList.add("mine");
    const sender = document.createElement("span"); sender.className = "sender"; sender.textContent = m.sender;
    const badge = document.createElement("span"); badge.className = "badge " + m.source; badge.textContent = m.source;
    const time = document.createElement("time"); time.className = "time";
    const when = new Date(m.ts * 1000);
    time.dateTime = when.toISOString();
    time.textContent = when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    const text = document.createElement("div"); text.className = "text"; text.textContent = m.text;
    li.append(sender, badge, time, text);
    append(li);
  }
  function send(obj) {
    if (socket && socket.readyState === WebSocket.OPEN) { socket.send(JSON.stringify(obj)); return true; }
    return false;
  }

  function connect() {
    setState("connecting", attempt ? "reconnecting…" : "connecting…");
    socket = new WebSocket(url);
    socket.onopen = () => {
      attempt = 0;
      setState("open", "connected");
      if (wanted) send({ type: "join", room: wanted.room, nick: wanted.nick });
    };
    socket.onmessage = (event) => {
      const m = JSON.parse(event.data);
      if (m.type === "message") showMessage(m);
      else if (m.type === "joined") {
        if (!joined || joined.room !== m.room) list.replaceChildren();
        setJoined({ room: m.room, nick: m.nick });
      } else if (m.type === "history") {
        // After a reconnect the history replaces what was shown: nothing twice, nothing missed.
        list.replaceChildren();
        for (const old of m.messages) showMessage(Object.assign({ room: m.room }, old));
        notice("You are in #" + m.room + " as " + joined.nick + (m.messages.length ? " (recent history above)" : ""));
        list.scrollTop = list.scrollHeight;
      } else if (m.type === "who") showWho(m.members);
      else if (m.type === "reply") notice(m.text, "reply");
      else if (m.type === "report") showReport(m);
      else if (m.type === "error") notice(m.error, "error");
      else if (m.type === "status") {
        // The server keeps the socket open while its message store (Redis) is away.
        if (m.state === "reconnecting") setState("connecting", "reconnecting…");
        else {
          setState("open", "connected");
          if (wanted && !joined) send({ type: "join", room: wanted.room, nick: wanted.nick });
        }
      }
    };
    socket.onclose = (event) => {
      setJoined(joined);
      // 0.5 s, 1 s, 2 s ... capped at 15 s, with jitter so a restarted server is not stampeded.
      const delay = Math.min(15000, 500 * 2 ** attempt) * (0.75 + Math.random() / 2);
      attempt += 1;
      setState("closed", "offline (" + event.code + "), retrying in " + Math.round(delay / 1000) + " s");
      setTimeout(connect, delay);
    };
  }

  $("join-form").addEventListener("submit", (event) => {
    event.preventDefault();
    wanted = { nick: nickInput.value.trim(), room: roomInput.value.trim() };
    localStorage.setItem("chat.nick", wanted.nick);
    localStorage.setItem("chat.room", wanted.room);
    if (!send({ type: "join", room: wanted.room, nick: wanted.nick })) notice("not connected yet: will join when connected");
  });
  $("send-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = textInput.value.trim();
    if (text && send({ type: "send", text: text })) textInput.value = "";
    textInput.focus();
  });
  // Who is here changes without a message: ask now and then while joined.
  setInterval(() => { if (joined) send({ type: "who" }); }, 15000);
  connect();
})();
