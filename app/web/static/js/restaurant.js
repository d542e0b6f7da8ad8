// Restaurant: the kitchen board (live), accept / reject / advance with one click each, the
// countdown to each acceptance deadline, the events feed with acknowledgement, and the menu,
// stock, availability, open/closed and time to accept.
import * as api from "./api.js";
import { h, poller, replace, toast } from "./dom.js";
import { clock, money, statusName, t } from "./i18n.js";

const COLUMNS = ["AWAITING_ACCEPTANCE", "CONFIRMED", "PREPARING", "READY", "DISPATCHED"];
const NEXT = { CONFIRMED: "PREPARING", PREPARING: "READY", READY: "DISPATCHED", DISPATCHED: "DELIVERED" };

export function mount(main) {
  const board = h("div", { class: "board", id: "board" });
  const feed = h("div", { id: "feed" });
  const menu = h("div", { id: "menu-editor" });
  const settings = h("div", { id: "settings" });
  let orders = [];
  let lastSignature = null;
  replace(main, h("div", { class: "grid restaurant" },
    h("section", { class: "card wide" }, h("h2", {}, t("board")), board),
    h("section", { class: "card" }, h("h2", {}, t("events")), feed),
    h("section", { class: "card" }, settings, menu)));

  async function loadBoard() {
    const pages = await Promise.all(COLUMNS.map((s) => api.get(`/restaurant/orders?status=${s}&limit=50`)));
    orders = pages.flatMap((p) => p.items);
    // Re-draw only on a change, and never under a half-typed reject reason.
    const signature = orders.map((o) => `${o.id}:${o.status}`).join(",");
    const typing = board.contains(document.activeElement) && document.activeElement.value;
    if (signature === lastSignature || typing) return;
    lastSignature = signature;
    renderBoard();
    tickCountdowns();
  }

  function renderBoard() {
    replace(board, COLUMNS.map((status) => {
      const mine = orders.filter((o) => o.status === status).sort((a, b) => a.id - b.id);
      return h("div", { class: "column", dataset: { status } },
        h("h3", {}, statusName(status), " ", h("span", { class: "count" }, mine.length)),
        mine.map(ticket));
    }));
  }

  function ticket(o) {
    const actions = [];
    if (o.status === "AWAITING_ACCEPTANCE") {
      actions.push(h("button", { class: "primary small", dataset: { act: "accept" },
        onclick: (e) => act(e, `/restaurant/orders/${o.id}/accept`) }, t("accept")));
      const reason = h("input", { class: "reason", placeholder: t("reject_reason"), maxlength: 300 });
      actions.push(reason, h("button", { class: "danger small", dataset: { act: "reject" },
        onclick: (e) => act(e, `/restaurant/orders/${o.id}/reject`,
          { reason: reason.value.trim() || "kitchen is full" }) }, t("reject")));
    } else if (NEXT[o.status]) {
      actions.push(h("button", { class: "primary small", dataset: { act: "advance" },
        onclick: (e) => act(e, `/restaurant/orders/${o.id}/status`, { status: NEXT[o.status] }) },
      `${t("advance_to")} ${statusName(NEXT[o.status])}`));
    }
    return h("article", { class: "ticket", id: `ticket-${o.id}`, dataset: { id: o.id } },
      h("header", {}, h("strong", {}, `#${o.id}`), h("span", { class: "muted" }, clock(o.created_at)),
        h("span", { class: "price" }, money(o.total_cents))),
      h("ul", {}, o.items.map((i) => h("li", {}, `${i.quantity} × ${i.name || i.menu_item_id}`,
        i.notes ? h("em", {}, ` (${i.notes})`) : null))),
      o.acceptance_deadline && h("p", { class: "countdown", dataset: { deadline: o.acceptance_deadline } }),
      h("div", { class: "actions" }, actions));
  }

  async function act(event, path, body) {
    // One click, one request: the clicked button stays disabled while it is in flight. The
    // next step's button is a new one (the board re-draws), usable at once.
    const button = event.currentTarget;
    if (button.disabled) return;
    button.disabled = true;
    try {
      await api.post(path, body);
    } catch (err) {
      toast(err.status === 409 ? `${t("conflict")}: ${err.message}` : err.message, "error");
      button.disabled = false;
    }
    lastSignature = null;
    await loadBoard();
  }

  function tickCountdowns() {
    for (const el of board.querySelectorAll(".countdown")) {
      const left = Math.round((new Date(el.dataset.deadline) - Date.now()) / 1000);
      el.textContent = left > 0
        ? `⏱ ${t("deadline_in")} ${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}`
        : `⏱ ${t("expired")}`;
      el.classList.toggle("urgent", left < 30);
    }
  }

  async function loadFeed() {
    const events = await api.get("/restaurant/events");
    const ack = async (ids) => { await api.post("/restaurant/events/ack", { event_ids: ids }); loadFeed(); };
    replace(feed, events.length
      ? [h("button", { class: "small", id: "ack-all", onclick: () => ack(events.map((e) => e.event_id)) },
        `${t("ack_all")} (${events.length})`),
      h("ul", { class: "list feed" }, events.slice(-30).reverse().map((e) => h("li", { class: "row" },
        h("time", {}, clock(e.occurred_at)), h("code", {}, e.type), h("span", {}, `#${e.order_id}`),
        h("button", { class: "small ghost", onclick: () => ack([e.event_id]) }, t("ack")))))]
      : h("p", { class: "muted" }, t("no_events")));
  }

  async function loadSettings() {
    const r = await api.get("/restaurant");
    const open = h("input", { type: "checkbox", id: "is-open", checked: r.is_open });
    const seconds = h("input", { type: "number", id: "acceptance-seconds", min: 1, max: 86400,
      value: r.acceptance_seconds });
    const save = async () => {
      try {
        await api.patch("/restaurant", { is_open: open.checked, acceptance_seconds: Number(seconds.value) });
        toast(t("saved"), "ok");
      } catch (err) { toast(err.message, "error"); }
    };
    replace(settings, h("h2", {}, `${t("settings")} · ${r.name}`),
      h("label", { class: "inline" }, open, t("is_open")),
      h("label", {}, t("acceptance_seconds"), seconds),
      h("button", { class: "small", onclick: save }, t("save")));
  }

  async function loadMenu() {
    const items = await api.get("/restaurant/menu");
    const rows = items.map((m) => {
      const name = h("input", { value: m.name, maxlength: 120 });
      const price = h("input", { type: "number", step: "0.01", min: 0, value: (m.price_cents / 100).toFixed(2) });
      const stock = h("input", { type: "number", min: 0, value: m.stock });
      const available = h("input", { type: "checkbox", checked: m.available });
      const save = async () => {
        try {
          await api.patch(`/restaurant/menu/${m.id}`, { name: name.value, stock: Number(stock.value),
            price_cents: Math.round(Number(price.value) * 100), available: available.checked });
          toast(t("saved"), "ok");
        } catch (err) { toast(err.message, "error"); }
      };
      return h("tr", {}, h("td", {}, name), h("td", {}, price), h("td", {}, stock),
        h("td", {}, available), h("td", {}, h("button", { class: "small", onclick: save }, t("save"))));
    });
    const name = h("input", { placeholder: t("name"), maxlength: 120 });
    const price = h("input", { type: "number", step: "0.01", min: 0, placeholder: "0.00" });
    const stock = h("input", { type: "number", min: 0, value: 10 });
    const create = async () => {
      try {
        await api.post("/restaurant/menu", { name: name.value, stock: Number(stock.value),
          price_cents: Math.round(Number(price.value) * 100) });
        loadMenu();
      } catch (err) { toast(err.message, "error"); }
    };
    replace(menu, h("h2", {}, t("menu")), h("table", { class: "menu" },
      h("thead", {}, h("tr", {}, [t("name"), t("price"), t("stock"), t("available"), ""].map((c) => h("th", {}, c)))),
      h("tbody", {}, rows,
        h("tr", { class: "new" }, h("td", {}, name), h("td", {}, price), h("td", {}, stock), h("td", {}),
          h("td", {}, h("button", { class: "small", onclick: create }, t("add")))))));
  }

  loadSettings();
  loadMenu();
  const countdown = setInterval(tickCountdowns, 250);
  const stops = [poller(loadBoard, 500), poller(loadFeed, 1000)];
  return () => { clearInterval(countdown); stops.forEach((stop) => stop()); };
}
