// Loaded by every page (base.html): local times and, for a logged-in user, notifications and
// toasts about their orders.
import { localiseTimes } from "./format.js";
import "./notifications.js";
import { startToasts } from "./toasts.js";

localiseTimes();
startToasts();
