// Loaded by every page (base.html): local times, confirmations of forms that ask first and, for
// a logged-in user, notifications and toasts about their orders.
import { confirmAction } from "./confirm.js";
import { localiseTimes } from "./format.js";
import "./notifications.js";
import { startToasts } from "./toasts.js";

localiseTimes();
startToasts();

// A form marked data-confirm-title (cancel all, cancel a withdrawal) asks before it submits.
document.addEventListener("submit", async (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.dataset.confirmTitle) return;
  event.preventDefault();
  const { confirmTitle: title, confirmText: text, confirmYes: yes, confirmNo: no } = form.dataset;
  if (await confirmAction({ title, text, yes, no, danger: true })) form.submit();
});
