// One websocket to /ws/ per page (ES modules are evaluated once, so every widget that imports
// this shares it). The browser's session cookie authenticates it at connect, so the private
// channels (orders, fills, balances, notifications) work for a logged-in page.
//
// subscribe(channel, handler, onReady) -> unsubscribe function. Handlers get (data, ts,
// channel). onReady (optional) runs each time the server confirms the subscription (at first and
// after every reconnect): from then on no push of the channel is missed, so a widget reads its
// REST state there and loses nothing created in between.
// onReconnect(fn): called after the socket came back, so widgets resync from REST what they
// may have missed. Without websockets (a page served by a WSGI server) available() is false
// and widgets poll REST instead.

const handlers = new Map();
const readyListeners = new Map();
const reconnectListeners = new Set();
const statusListeners = new Set();
let socket = null;
let attempts = 0;
let everOpened = false;
let pingTimer = null;

export function available() {
  return document.body.dataset.realtime === "1" && "WebSocket" in window;
}

function send(message) {
  if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
}

function setStatus(status) {
  document.body.dataset.live = status;
  for (const listener of statusListeners) listener(status);
}

function connect() {
  if (socket || !available()) return;
  const scheme = location.protocol === "https:" ? "wss://" : "ws://";
  socket = new WebSocket(scheme + location.host + "/ws/");
  socket.addEventListener("open", () => {
    attempts = 0;
    setStatus("live");
    if (handlers.size) send({ op: "subscribe", channels: [...handlers.keys()] });
    pingTimer = setInterval(() => send({ op: "ping" }), 25000);
    if (everOpened) for (const listener of reconnectListeners) listener();
    everOpened = true;
  });
  socket.addEventListener("message", (event) => {
    let message;
    try {
      message = JSON.parse(event.data);
    } catch {
      return;
    }
    if (message.channel) {
      for (const handler of handlers.get(message.channel) || []) {
        handler(message.data, message.ts, message.channel);
      }
    } else if (message.op === "subscribed") {
      for (const name of message.channels || []) {
        for (const listener of readyListeners.get(name) || []) listener();
      }
    } else if (message.op === "error") {
      console.warn("websocket:", message.code, message.message);
    }
  });
  socket.addEventListener("close", () => {
    clearInterval(pingTimer);
    socket = null;
    setStatus("offline");
    if (document.visibilityState === "hidden" && attempts > 3) return;
    const delay = Math.min(30000, 500 * 2 ** attempts++);
    setTimeout(connect, delay);
  });
}

export function subscribe(channel, handler, onReady) {
  if (!available()) return () => {};
  let set = handlers.get(channel);
  if (onReady) {
    if (!readyListeners.has(channel)) readyListeners.set(channel, new Set());
    readyListeners.get(channel).add(onReady);
  }
  if (!set) {
    set = new Set();
    handlers.set(channel, set);
    send({ op: "subscribe", channels: [channel] });
  } else if (onReady && socket && socket.readyState === WebSocket.OPEN) {
    // already subscribed (by another widget): confirmed before, so ready now
    queueMicrotask(onReady);
  }
  set.add(handler);
  connect();
  return () => {
    set.delete(handler);
    if (onReady) readyListeners.get(channel)?.delete(onReady);
    if (!set.size) {
      handlers.delete(channel);
      send({ op: "unsubscribe", channels: [channel] });
    }
  };
}

/** Ask for a channel again (a depth book that saw a gap gets a fresh snapshot). */
export function resubscribe(channel) {
  send({ op: "unsubscribe", channels: [channel] });
  send({ op: "subscribe", channels: [channel] });
}

export function onReconnect(listener) {
  reconnectListeners.add(listener);
}

export function onStatus(listener) {
  statusListeners.add(listener);
}

document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible" && handlers.size) connect();
});
