// The nav's notifications dropdown: unread count, the latest messages, mark read. REST for the
// list (/api/v1/notifications), the private "notifications" channel for new ones. The control
// stays hidden if the API does not answer, so the nav never shows a broken widget.
import { api } from "./api.js";
import { timeElement } from "./format.js";
import * as realtime from "./realtime.js";

const SHOWN = 15;
const POLL_MS = 30000;

const root = document.querySelector("[data-notifications]");
if (root) start(root);

function start(root) {
  const toggle = root.querySelector(".notify-toggle");
  const panel = root.querySelector(".notify-panel");
  const badge = root.querySelector("[data-unread]");
  const list = root.querySelector("[data-list]");
  const readAll = root.querySelector("[data-read-all]");
  let items = [];
  let unread = 0;
  let unreadMore = false;
  // Ids already listed or counted: the last REST read's two lists (the latest and the unread)
  // and every push since. A push of a notification one of them already holds is not counted
  // again: the unread list may have been read after it was created and the latest list before,
  // and its push may arrive after both answers.
  let seen = new Set();

  function renderBadge() {
    badge.hidden = unread === 0;
    badge.textContent = unreadMore ? `${unread}+` : String(unread);
    toggle.setAttribute("aria-label", `Notifications, ${unread}${unreadMore ? "+" : ""} unread`);
  }

  function render() {
    list.replaceChildren();
    if (!items.length) {
      const empty = document.createElement("li");
      empty.className = "muted notify-empty";
      empty.textContent = "No notifications yet.";
      list.append(empty);
    }
    for (const item of items.slice(0, SHOWN)) {
      const li = document.createElement("li");
      li.className = item.read ? "read" : "unread";
      const link = document.createElement("a");
      const symbol = item.data && item.data.symbol;
      link.href = symbol ? `/markets/${encodeURIComponent(symbol)}/` : "/wallet/";
      link.textContent = item.title;
      link.addEventListener("click", () => markRead(item));
      const when = timeElement(item.created_at, true);
      when.className = "muted";
      li.append(link, when);
      list.append(li);
    }
    readAll.disabled = unread === 0;
    renderBadge();
  }

  // Pushes that arrive while a REST read is in flight: the read may have been answered before
  // they were created, so they are applied again on top of what it returns.
  let inFlight = null;

  async function load() {
    const arrived = [];
    inFlight = arrived;
    try {
      const [latest, unreadPage] = await Promise.all([
        api("notifications", { query: { limit: SHOWN } }),
        api("notifications", { query: { limit: 50, unread: "true" } }),
      ]);
      items = latest.results;
      unread = unreadPage.results.length;
      unreadMore = Boolean(unreadPage.next);
      seen = new Set([...items, ...unreadPage.results].map((i) => i.id));
      for (const notification of arrived) add(notification);
      render();
    } finally {
      if (inFlight === arrived) inFlight = null;
    }
  }

  function add(notification) {
    const known = seen.has(notification.id);
    seen.add(notification.id);
    items = [notification, ...items.filter((i) => i.id !== notification.id)].slice(0, SHOWN);
    if (!notification.read && !known) unread += 1;
  }

  async function markRead(item) {
    if (item.read) return;
    item.read = true;
    unread = Math.max(0, unread - 1);
    render();
    try {
      await api(`notifications/${item.id}/read`, { method: "POST" });
    } catch {
      /* the count is resynced on the next load */
    }
  }

  function open(show) {
    panel.hidden = !show;
    toggle.setAttribute("aria-expanded", String(show));
  }

  toggle.addEventListener("click", () => open(panel.hidden));
  document.addEventListener("click", (event) => {
    if (!root.contains(event.target)) open(false);
  });
  root.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !panel.hidden) {
      open(false);
      toggle.focus();
    }
  });
  readAll.addEventListener("click", async () => {
    try {
      await api("notifications/read-all", { method: "POST" });
      for (const item of items) item.read = true;
      unread = 0;
      unreadMore = false;
      render();
    } catch {
      /* keep the current state; the button can be pressed again */
    }
  });

  function pushed(notification) {
    if (inFlight) inFlight.push(notification);
    add(notification);
    render();
    root.classList.add("pulse");
    setTimeout(() => root.classList.remove("pulse"), 1200);
  }

  // Read the REST state once the subscription is confirmed (and again after each reconnect), so
  // a notification created between the page's read and the subscription is never missed.
  const shown = () => {
    root.hidden = false;
  };
  const hide = () => {
    root.hidden = true;
  };
  if (realtime.available()) {
    let ready = false;
    realtime.subscribe("notifications", pushed, () => {
      ready = true;
      load().then(shown, hide);
    });
    // a websocket that does not come up: show the REST state anyway
    setTimeout(() => ready || load().then(shown, hide), 3000);
  } else {
    load().then(shown, hide);
    setInterval(() => load().catch(() => {}), POLL_MS);
  }
}
