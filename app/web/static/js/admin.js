// Admin: a live operations view. Orders by status, throughput and pipeline latency charts,
// per-restaurant acceptance, the orders topic's partitions with each group's offset and lag,
// Celery workers and queue depth, the outbox backlog, the DLQ with replay, and (COMANDA_DEMO=1)
// the fault controls, so a fault and its recovery show on this same screen.
import uPlot from "../vendor/uplot/uPlot.esm.js";
import * as api from "./api.js";
import { h, poller, replace, toast } from "./dom.js";
import { statusName, t } from "./i18n.js";

const STATUSES = ["PLACED", "AWAITING_ACCEPTANCE", "CONFIRMED", "PREPARING", "READY", "DISPATCHED",
  "DELIVERED", "REJECTED", "CANCELLED"];

const box = (id, title) => h("section", { class: "card", id }, h("h2", {}, title),
  h("div", { class: "body" }, h("p", { class: "muted" }, "…")));
const body = (section) => section.querySelector(".body");
const unreachable = (probe) => h("p", { class: "error" }, `${t("down")}: ${probe.message || ""}`);

export function mount(main) {
  const S = {
    counts: box("counts", t("orders_by_status")),
    charts: box("charts", t("last_minutes")),
    restaurants: box("restaurants", t("per_restaurant")),
    kafka: box("kafka", t("kafka")),
    celery: box("celery", t("celery")),
    outbox: box("outbox", t("outbox")),
    dlq: box("dlq", t("dlq")),
    demo: box("demo", t("demo")),
  };
  replace(main, h("div", { class: "grid admin" }, Object.values(S)));
  const charts = makeCharts(body(S.charts));

  async function loadStats() {
    const stats = await api.get("/admin/stats");
    replace(body(S.counts), h("div", { class: "counts" }, STATUSES.map((s) => h("div", {
      class: `count-box s-${s}`, dataset: { status: s },
    }, h("strong", {}, stats.orders_by_status[s] || 0), h("span", {}, statusName(s))))));
    replace(body(S.restaurants), table([t("restaurants"), t("orders"), t("accepted"), t("rejected"),
      t("acceptance_rate"), t("avg_accept")], stats.restaurants.map((r) => [r.name, r.orders,
      r.accepted, r.rejected,
      r.acceptance_rate === null ? t("empty") : `${Math.round(r.acceptance_rate * 100)}%`,
      r.avg_seconds_to_accept === null ? t("empty") : r.avg_seconds_to_accept.toFixed(1)])));
  }

  async function loadSeries() {
    const series = await api.get("/admin/ops/series?minutes=5&bucket=10");
    charts.update(series.points);
  }

  async function loadKafka() {
    const k = await api.get("/admin/ops/kafka");
    if (!k.available) return replace(body(S.kafka), unreachable(k));
    const head = [t("partition"), t("end_offset"), ...k.groups.map((g) => g.group.replace(/^comanda-/, ""))];
    const rows = k.partitions.map((p) => [p.partition, p.end_offset, ...k.groups.map((g) => {
      const row = g.partitions.find((x) => x.partition === p.partition);
      return h("span", { class: row.lag ? "lagging" : "" }, `${row.committed ?? "—"} (${t("lag")} ${row.lag})`);
    })]);
    rows.push([h("strong", {}, "Σ"), k.partitions.reduce((a, p) => a + p.end_offset, 0),
      ...k.groups.map((g) => h("strong", { class: g.lag ? "lagging" : "", dataset: { lag: g.group } }, `${t("lag")} ${g.lag}`))]);
    replace(body(S.kafka), table(head, rows));
  }

  async function loadCelery() {
    const c = await api.get("/admin/ops/celery");
    if (!c.available) return replace(body(S.celery), unreachable(c));
    replace(body(S.celery),
      h("p", {}, c.queues.map((q) => h("span", { class: "metric", id: `queue-${q.queue}` },
        `${t("queue")} ${q.queue}: `, h("strong", {}, q.messages), ` ${t("messages")}, ${q.consumers} ${t("consumers")}`))),
      table([t("workers"), "pid", "concurrency", t("processed")], c.workers.map((w) => [w.name, w.pid, w.concurrency, w.processed])));
  }

  async function loadOutbox() {
    const o = await api.get("/admin/ops/outbox");
    replace(body(S.outbox), h("p", { class: "metric" }, h("strong", { id: "outbox-count" }, o.unpublished),
      ` ${t("unpublished")}`, o.oldest_age_seconds ? ` · ${t("oldest")} ${o.oldest_age_seconds}s` : ""));
  }

  async function loadDlq() {
    const d = await api.get("/admin/ops/dlq");
    if (!d.available) return replace(body(S.dlq), unreachable(d));
    if (!d.letters.length) return replace(body(S.dlq), h("p", { class: "muted" }, t("no_dlq")));
    const picks = d.letters.map((l) => h("input", { type: "checkbox", value: l.spot }));
    const replay = async () => {
      const spots = picks.filter((p) => p.checked).map((p) => p.value);
      if (!spots.length) return;
      try { const r = await api.post("/admin/ops/dlq/replay", { spots }); toast(`replayed ${r.replayed.join(", ")}`, "ok"); }
      catch (err) { toast(err.message, "error"); }
    };
    replace(body(S.dlq), table(["", "spot", "group", "error"], d.letters.map((l, i) =>
      [picks[i], l.spot, l.consumer_group || "", h("code", {}, l.error || "")])),
    h("button", { class: "small", onclick: replay }, t("replay")));
  }

  let demoDrawn = false;
  async function loadDemo() {
    const d = await api.get("/admin/ops/demo");
    if (!d.enabled) { replace(body(S.demo), h("p", { class: "muted" }, t("demo_off"))); return; }
    if (!demoDrawn || !body(S.demo).contains(document.activeElement)) drawDemo(d);
  }

  function drawDemo(d) {
    demoDrawn = true;
    const act = (name, action) => async () => {
      try { await api.post(`/admin/ops/demo/processes/${name}`, { action }); toast(`${action} ${name}`, "ok"); }
      catch (err) { toast(err.message, "error"); }
    };
    const latency = h("input", { type: "number", min: 0, max: 10000, id: "latency", value: d.gateway.override_ms ?? "" });
    const rate = h("input", { type: "number", min: 0, max: 20, step: "0.5", id: "rate", value: d.traffic?.rate ?? 2 });
    const setLatency = (ms) => async () => {
      try { await api.post("/admin/ops/demo/gateway-latency", { ms }); toast(`${t("gateway_latency")}: ${ms ?? "—"}`, "ok"); }
      catch (err) { toast(err.message, "error"); }
    };
    const setRate = (r) => async () => {
      try { await api.post("/admin/ops/demo/traffic", { rate: r }); } catch (err) { toast(err.message, "error"); }
    };
    replace(body(S.demo),
      table(["", t("status"), ""], d.targets.map((x) => [
        h("span", { title: x.label }, x.name, x.processes !== undefined ? ` (${x.processes} ${t("processes")})` : ""),
        h("span", { class: `pill ${x.state === "RUNNING" ? "ok" : "off"}`, dataset: { target: x.name } }, x.state),
        h("span", {}, h("button", { class: "small danger", onclick: act(x.name, "stop") }, t("stop")), " ",
          h("button", { class: "small", onclick: act(x.name, "start") }, t("start")))])),
      h("p", { class: "row" }, h("label", { class: "inline" }, `${t("gateway_latency")} (${d.gateway.latency_ms})`, latency),
        h("button", { class: "small", onclick: () => setLatency(latency.value === "" ? null : Number(latency.value))() }, t("apply")),
        h("button", { class: "small ghost", onclick: setLatency(null) }, t("clear"))),
      h("p", { class: "row" }, h("label", { class: "inline" }, `${t("traffic")}: ${d.traffic ? d.traffic.rate : t("traffic_off")}`, rate),
        h("button", { class: "small", onclick: () => setRate(Number(rate.value))() }, t("start")),
        h("button", { class: "small danger", onclick: setRate(0) }, t("stop"))));
  }

  const stops = [poller(loadStats, 1000), poller(loadSeries, 2000), poller(loadKafka, 1000),
    poller(loadCelery, 2000), poller(loadOutbox, 1000), poller(loadDlq, 5000), poller(loadDemo, 1000)];
  return () => { stops.forEach((stop) => stop()); charts.destroy(); };
}

function table(head, rows) {
  return h("table", {}, h("thead", {}, h("tr", {}, head.map((c) => h("th", {}, c)))),
    h("tbody", {}, rows.map((r) => h("tr", {}, r.map((c) => h("td", {}, c))))));
}

function makeCharts(el) {
  el.replaceChildren(); // the "…" placeholder would take a flex slot and push a chart down
  const width = () => Math.max(280, Math.floor((el.clientWidth || 600) / 2) - 16);
  // Clock times on the x axis (uPlot's default adds a date under the first tick, which
  // collides with the next label at this width).
  // 24-hour clock ("14:03:30", no AM/PM) and ticks at least 80 px apart, so labels never touch.
  const hhmm = (u, ticks) => ticks.map((ts) => new Date(ts * 1000).toLocaleTimeString(undefined,
    { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false }));
  const axes = [{ stroke: "#666", values: hhmm, space: 80 }, { stroke: "#666" }];
  const ms = (u, ticks) => ticks.map((v) => (v >= 1000 ? `${(v / 1000).toFixed(1)} s` : `${v} ms`));
  const make = (label, series, yValues) => new uPlot({
    width: width(), height: 180, title: label, scales: { x: { time: true } },
    axes: yValues ? [axes[0], { stroke: "#666", size: 64, values: yValues }] : axes,
    series: [{ label: t("time") }, ...series], // uPlot's own x label is English only
  }, [[], ...series.map(() => [])], el.appendChild(h("div", { class: "chart" })));
  const rate = make(t("throughput"), [
    { label: t("placed_series"), stroke: "#2563eb", width: 2 },
    { label: t("awaiting_series"), stroke: "#16a34a", width: 2 }]);
  const latency = make(t("latency"), [
    { label: t("p50"), stroke: "#d97706", width: 2 },
    { label: t("p95"), stroke: "#dc2626", width: 2 }], ms);
  const onResize = () => { rate.setSize({ width: width(), height: 180 }); latency.setSize({ width: width(), height: 180 }); };
  window.addEventListener("resize", onResize);
  return {
    update(points) {
      const xs = points.map((p) => Date.parse(p.at) / 1000);
      rate.setData([xs, points.map((p) => p.placed), points.map((p) => p.awaiting)]);
      latency.setData([xs, points.map((p) => p.p50_ms), points.map((p) => p.p95_ms)]);
    },
    destroy() { window.removeEventListener("resize", onResize); rate.destroy(); latency.destroy(); },
  };
}
