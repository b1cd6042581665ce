// Loaded by every page (base.html): local times and, for a logged-in user, notifications.
import { localiseTimes } from "./format.js";
import "./notifications.js";

localiseTimes();
