// Customer: open restaurants and their menus, a cart, a test card, the order placed with an
// Idempotency-Key, and its timeline followed live until it ends.
import * as api from "./api.js";
import { h, poller, replace, toast } from "./dom.js";
import { clock, money, statusName, t } from "./i18n.js";

const TOKENS = ["tok_ok", "tok_decline", "tok_flaky", "tok_timeout"];
const STEPS = ["PLACED", "AWAITING_ACCEPTANCE", "CONFIRMED", "PREPARING", "READY", "DISPATCHED",
  "DELIVERED"];
const CANCELLABLE = new Set(["PLACED", "AWAITING_ACCEPTANCE"]);
const FINAL = new Set(["DELIVERED", "REJECTED", "CANCELLED"]);

export function mount(main) {
  const state = { restaurant: null, cart: new Map(), selected: null, key: null };
  const list = h("ul", { class: "list", id: "restaurants" });
  const menu = h("div", { id: "menu" }, h("p", { class: "muted" }, t("pick_restaurant")));
  const cart = h("div", { id: "cart" });
  const orders = h("ul", { class: "list", id: "orders" });
  const detail = h("div", { id: "order" });
  replace(main, h("div", { class: "grid three" },
    h("section", { class: "card" }, h("h2", {}, t("restaurants")), list),
    h("section", { class: "card" }, menu, cart),
    h("section", { class: "card" }, h("h2", {}, t("my_orders")), orders, detail)));

  async function loadRestaurants() {
    // Newest first; a few pages are plenty for a demo (a test run adds hundreds).
    let items = [];
    let cursor = null;
    for (let n = 0; n < 3; n++) {
      const page = await api.get(`/restaurants?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
      items = items.concat(page.items);
      cursor = page.next_cursor;
      if (!cursor) break;
    }
    replace(list, items.map((r) => h("li", {
      class: `pick ${r.is_open ? "" : "disabled"} ${state.restaurant?.id === r.id ? "on" : ""}`,
      dataset: { id: r.id },
      onclick: () => r.is_open && openRestaurant(r.id),
    }, h("strong", {}, r.name), " ", h("span", { class: "muted" }, r.cuisine), " ",
    h("span", { class: `pill ${r.is_open ? "ok" : "off"}` }, t(r.is_open ? "open" : "closed")))));
  }

  async function openRestaurant(id) {
    state.restaurant = await api.get(`/restaurants/${id}`);
    if (state.cart.size && [...state.cart.values()][0].restaurant !== id) state.cart.clear();
    loadRestaurants();
    renderMenu();
    renderCart();
  }

  function renderMenu() {
    const r = state.restaurant;
    replace(menu, h("h2", {}, `${t("menu")} · ${r.name}`), h("ul", { class: "list" },
      r.menu.map((item) => h("li", { class: "row" },
        h("span", {}, item.name), h("span", { class: "price" }, money(item.price_cents)),
        item.available
          ? h("button", { class: "small", dataset: { add: item.name }, onclick: () => add(item) }, t("add"))
          : h("span", { class: "pill off" }, t("unavailable"))))));
  }

  function add(item) {
    const line = state.cart.get(item.id) || { item, quantity: 0, restaurant: state.restaurant.id };
    line.quantity = Math.min(99, line.quantity + 1);
    state.cart.set(item.id, line);
    state.key = null; // a different cart is a different order: a new Idempotency-Key
    renderCart();
  }

  function renderCart() {
    const lines = [...state.cart.values()];
    const total = lines.reduce((sum, l) => sum + l.item.price_cents * l.quantity, 0);
    const address = h("input", { id: "address", value: "Rua das Flores, 10", maxlength: 300 });
    const token = h("select", { id: "token" }, TOKENS.map((tk) => h("option", { value: tk }, t(tk))));
    const button = h("button", { class: "primary", id: "place", disabled: !lines.length }, t("place_order"));
    button.addEventListener("click", () => place(button, address.value, token.value));
    replace(cart, h("h2", {}, t("cart")), lines.length
      ? h("ul", { class: "list" }, lines.map((l) => h("li", { class: "row" },
        h("span", {}, `${l.quantity} × ${l.item.name}`),
        h("span", { class: "price" }, money(l.item.price_cents * l.quantity)),
        h("button", { class: "small ghost", onclick: () => { remove(l.item.id); } }, "−"))))
      : h("p", { class: "muted" }, t("cart_empty")),
    h("p", { class: "row total" }, h("strong", {}, t("total")), h("strong", {}, money(total))),
    h("label", {}, t("address"), address), h("label", {}, t("card"), token), button);
  }

  function remove(id) {
    const line = state.cart.get(id);
    if (--line.quantity <= 0) state.cart.delete(id);
    state.key = null;
    renderCart();
  }

  async function place(button, address, token) {
    // One key per cart: a retry after a lost reply returns the same order, never a second one.
    state.key = state.key || crypto.randomUUID();
    button.disabled = true;
    button.textContent = t("placing");
    try {
      const order = await api.post("/orders", {
        restaurant_id: state.restaurant.id,
        items: [...state.cart.values()].map((l) => ({ menu_item_id: l.item.id, quantity: l.quantity })),
        delivery_address: address,
        payment: { method: "card", token },
      }, { "Idempotency-Key": state.key });
      toast(`${t("placed")} #${order.id}`, "ok");
      state.cart.clear();
      state.key = null;
      state.selected = order.id;
      renderCart();
      await refreshOrders();
    } catch (err) {
      toast(err.message || t("error"), "error");
      renderCart();
    }
  }

  async function refreshOrders() {
    // The list and the followed order in parallel: one round trip per poll, not two.
    const followed = state.selected;
    const [page, selected] = await Promise.all([api.get("/orders?limit=8"),
      followed ? api.get(`/orders/${followed}`) : null]);
    if (!state.selected && page.items.length) state.selected = page.items[0].id;
    replace(orders, page.items.length ? page.items.map((o) => h("li", {
      class: `pick ${o.id === state.selected ? "on" : ""}`,
      onclick: () => { state.selected = o.id; refreshOrders(); },
    }, h("span", {}, `#${o.id}`), " ", h("span", { class: `status s-${o.status}` }, statusName(o.status)),
    " ", h("span", { class: "muted" }, money(o.total_cents)))) : h("li", { class: "muted" }, t("no_orders")));
    if (selected && selected.id === state.selected) renderOrder(selected);
    else if (state.selected) renderOrder(await api.get(`/orders/${state.selected}`));
  }

  function renderOrder(o) {
    const reached = new Set(o.timeline.map((e) => e.status));
    const steps = h("ol", { class: "steps" }, STEPS.map((s) => h("li", {
      class: `${reached.has(s) ? "done" : ""} ${o.status === s ? "now" : ""}`,
    }, statusName(s))));
    const cancel = CANCELLABLE.has(o.status) && h("button", {
      class: "danger", id: "cancel",
      onclick: async () => {
        try { await api.post(`/orders/${o.id}/cancel`, {}); toast(t("cancelled_ok"), "ok"); }
        catch (err) { toast(err.status === 409 ? t("conflict") : err.message, "error"); }
      },
    }, t("cancel"));
    replace(detail, h("div", { class: "order", dataset: { status: o.status }, id: `order-${o.id}` },
      h("h3", {}, `${t("order")} #${o.id} · `,
        h("span", { class: `status s-${o.status}`, id: "order-status" }, statusName(o.status)),
        FINAL.has(o.status) ? null : h("span", { class: "live" }, t("live"))),
      o.reason && h("p", {}, `${t("reason")}: `, h("code", {}, o.reason)),
      h("p", { class: "muted" }, `${t("payment")}: ${o.payment.status} · ${money(o.total_cents)}`),
      steps, cancel,
      h("h4", {}, t("timeline")),
      h("ul", { class: "timeline" }, o.timeline.map((e) => h("li", {},
        h("time", {}, clock(e.at)), " ", h("code", {}, e.event),
        e.detail ? h("span", { class: "muted" }, ` — ${e.detail}`) : null)))));
  }

  loadRestaurants();
  renderCart();
  // The followed order moves within a second on screen: poll twice a second while visible.
  const stops = [poller(refreshOrders, 500), poller(loadRestaurants, 10000)];
  return () => stops.forEach((stop) => stop());
}
