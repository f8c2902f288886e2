// Kitaru dashboard: live statuses, logs and progress. Plain JavaScript, no build step.
"use strict";

function showTimes() {
  for (const cell of document.querySelectorAll("[data-ts]")) {
    cell.textContent = new Date(parseFloat(cell.dataset.ts) * 1000).toLocaleString();
  }
}

async function refreshList() {
  const table = document.getElementById("executions");
  if (!table) return;
  const query = new URLSearchParams(window.location.search);
  query.set("limit", "200");
  const answer = await fetch("/api/executions?" + query, { credentials: "same-origin" });
  if (!answer.ok) return;
  for (const e of await answer.json()) {
    const row = table.querySelector(`tr[data-exec="${e.exec_id}"] [data-status]`);
    if (row && row.textContent !== e.status) {
      row.textContent = e.status;
      row.className = "status " + e.status;
    }
  }
}

function progressText(line) {
  try {
    const event = JSON.parse(line);
    const extra = Object.entries(event.data || {}).map(([k, v]) => `${k}=${v}`).join(", ");
    return event.message + (extra ? ` (${extra})` : "");
  } catch (error) {
    return line;
  }
}

function followExecution() {
  const logs = document.getElementById("logs");
  const status = document.getElementById("status");
  if (!logs || !status) return;
  const initial = status.textContent;
  const url = `/api/executions/${logs.dataset.exec}/events?after=${logs.dataset.after}`;
  const events = new EventSource(url);
  const add = (text) => {
    logs.textContent += text + "\n";
    logs.scrollTop = logs.scrollHeight;
  };
  events.addEventListener("log", (msg) => add(JSON.parse(msg.data).line));
  events.addEventListener("progress", (msg) => add("▸ " + progressText(JSON.parse(msg.data).line)));
  events.addEventListener("status", (msg) => {
    const now = JSON.parse(msg.data).status;
    status.textContent = now;
    status.className = "status " + now;
  });
  events.addEventListener("end", (msg) => {
    events.close();
    if (JSON.parse(msg.data).status !== initial) window.location.reload();
  });
}

document.addEventListener("DOMContentLoaded", () => {
  showTimes();
  followExecution();
  if (document.getElementById("executions")) setInterval(refreshList, 2000);
});
