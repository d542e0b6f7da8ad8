// Entry point: language, login, and the view for the logged-in role.
import * as api from "./api.js";
import { h, replace, toast } from "./dom.js";
import { lang, setLang, t, translatePage } from "./i18n.js";

const VIEWS = {
  customer: () => import("./customer.js"),
  restaurant: () => import("./restaurant.js"),
  admin: () => import("./admin.js"),
};

const main = document.getElementById("main");
const who = document.getElementById("who");
const logoutButton = document.getElementById("logout");
const langSelect = document.getElementById("lang");
let user = null;
let unmount = () => {};

async function show() {
  unmount();
  unmount = () => {};
  translatePage();
  if (!user) {
    replace(who);
    logoutButton.hidden = true;
    replace(main, loginForm());
    return;
  }
  logoutButton.hidden = false;
  replace(who, h("span", { class: `role role-${user.role}` }, t(`role_${user.role}`)),
    h("span", { class: "muted" }, user.email));
  const view = await VIEWS[user.role]();
  unmount = view.mount(main, user) || (() => {});
}

function loginForm() {
  const email = h("input", { type: "email", name: "email", required: true, autocomplete: "username" });
  const password = h("input", {
    type: "password", name: "password", required: true, autocomplete: "current-password",
  });
  const error = h("p", { class: "error", role: "alert" });
  const submit = async (event) => {
    event.preventDefault();
    try {
      user = await api.login(email.value, password.value);
      await show();
    } catch (err) {
      error.textContent = err.status === 429 ? err.message : t("login_failed");
    }
  };
  return h("form", { class: "card login", onsubmit: submit, id: "login" },
    h("h2", {}, t("login_title")),
    h("label", {}, t("email"), email),
    h("label", {}, t("password"), password),
    h("button", { type: "submit", class: "primary" }, t("login")),
    error,
    h("p", { class: "muted" }, t("login_hint")));
}

langSelect.value = lang();
langSelect.addEventListener("change", () => { setLang(langSelect.value); show(); });
logoutButton.addEventListener("click", async () => { await api.logout(); user = null; show(); });
api.onSessionEnd(() => { user = null; toast(t("refresh_failed"), "error"); show(); });

user = await api.resume();
show();
