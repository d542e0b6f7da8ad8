// Every label in pt-BR and English. The default comes from the browser (navigator.languages);
// a choice made in the header is remembered in localStorage.
const TEXT = {
  en: {
    console: "console", logout: "Log out", login: "Log in", email: "E-mail", password: "Password",
    login_title: "Sign in", login_hint: "Demo accounts are listed in the README.",
    login_failed: "E-mail or password not accepted", role_customer: "Customer",
    role_restaurant: "Restaurant", role_admin: "Admin",
    restaurants: "Restaurants", open: "open", closed: "closed", menu: "Menu", add: "Add",
    unavailable: "unavailable", cart: "Cart", cart_empty: "Your cart is empty", total: "Total",
    address: "Delivery address", card: "Test card", place_order: "Place order",
    placing: "Placing…", placed: "Order placed", my_orders: "My orders", order: "Order",
    cancel: "Cancel order", cancelled_ok: "Cancellation requested", timeline: "Timeline",
    no_orders: "No orders yet", pick_restaurant: "Pick a restaurant to see its menu",
    status: "Status", reason: "Reason", payment: "Payment", items: "Items",
    tok_ok: "tok_ok — authorizes", tok_decline: "tok_decline — declined",
    tok_flaky: "tok_flaky — fails twice, then authorizes",
    tok_timeout: "tok_timeout — reply lost once, looked up by key",
    board: "Kitchen board", accept: "Accept", reject: "Reject", reject_reason: "Reason",
    advance_to: "Mark", deadline_in: "accept within", expired: "expired", events: "Events feed",
    ack: "Ack", ack_all: "Acknowledge all", no_events: "No unacknowledged events",
    settings: "Restaurant", is_open: "Open for orders", acceptance_seconds: "Seconds to accept",
    save: "Save", saved: "Saved", name: "Name", price: "Price (R$)", stock: "Stock",
    available: "Available", new_item: "New item", empty: "—",
    orders_by_status: "Orders by status", throughput: "Throughput (orders per 10 s)",
    latency: "PLACED → AWAITING latency (ms)", per_restaurant: "Per restaurant",
    orders: "Orders", accepted: "Accepted", rejected: "Rejected", acceptance_rate: "Acceptance rate",
    avg_accept: "Avg. time to accept (s)", kafka: "Kafka topic “orders”", partition: "Partition",
    end_offset: "End offset", lag: "lag", committed: "committed", celery: "Celery",
    workers: "Workers", queue: "Queue", messages: "messages", consumers: "consumers",
    processed: "processed", outbox: "Outbox backlog", unpublished: "unpublished",
    oldest: "oldest", dlq: "Dead letters (orders.dlq)", replay: "Replay selected",
    no_dlq: "The dead-letter topic is empty", down: "unreachable", demo: "Faults (demo)",
    demo_off: "Demo controls are off: start Comanda with COMANDA_DEMO=1.",
    stop: "Stop", start: "Start", gateway_latency: "Gateway latency (ms)", apply: "Apply",
    clear: "Clear", traffic: "Traffic generator (orders/s)", traffic_off: "stopped",
    placed_series: "placed", awaiting_series: "reached AWAITING", p50: "p50", p95: "p95", time: "Time",
    processes: "processes", error: "Something went wrong", conflict: "Not possible now",
    live: "live", paused: "paused", last_minutes: "Pipeline over the last 5 minutes", refresh_failed: "Session expired: please log in again",
  },
  "pt-BR": {
    console: "console", logout: "Sair", login: "Entrar", email: "E-mail", password: "Senha",
    login_title: "Entrar", login_hint: "As contas de demonstração estão no README.",
    login_failed: "E-mail ou senha não aceitos", role_customer: "Cliente",
    role_restaurant: "Restaurante", role_admin: "Administração",
    restaurants: "Restaurantes", open: "aberto", closed: "fechado", menu: "Cardápio",
    add: "Adicionar", unavailable: "indisponível", cart: "Carrinho",
    cart_empty: "Seu carrinho está vazio", total: "Total", address: "Endereço de entrega",
    card: "Cartão de teste", place_order: "Fazer pedido", placing: "Enviando…",
    placed: "Pedido feito", my_orders: "Meus pedidos", order: "Pedido",
    cancel: "Cancelar pedido", cancelled_ok: "Cancelamento pedido", timeline: "Linha do tempo",
    no_orders: "Nenhum pedido ainda", pick_restaurant: "Escolha um restaurante para ver o cardápio",
    status: "Status", reason: "Motivo", payment: "Pagamento", items: "Itens",
    tok_ok: "tok_ok — autoriza", tok_decline: "tok_decline — recusado",
    tok_flaky: "tok_flaky — falha duas vezes e autoriza",
    tok_timeout: "tok_timeout — resposta perdida uma vez, consultada pela chave",
    board: "Painel da cozinha", accept: "Aceitar", reject: "Recusar", reject_reason: "Motivo",
    advance_to: "Marcar", deadline_in: "aceitar em", expired: "expirado",
    events: "Feed de eventos", ack: "Confirmar", ack_all: "Confirmar todos",
    no_events: "Nenhum evento pendente", settings: "Restaurante",
    is_open: "Aberto para pedidos", acceptance_seconds: "Segundos para aceitar", save: "Salvar",
    saved: "Salvo", name: "Nome", price: "Preço (R$)", stock: "Estoque",
    available: "Disponível", new_item: "Novo item", empty: "—",
    orders_by_status: "Pedidos por status", throughput: "Vazão (pedidos por 10 s)",
    latency: "Latência PLACED → AWAITING (ms)", per_restaurant: "Por restaurante",
    orders: "Pedidos", accepted: "Aceitos", rejected: "Recusados",
    acceptance_rate: "Taxa de aceitação", avg_accept: "Tempo médio p/ aceitar (s)",
    kafka: "Tópico Kafka “orders”", partition: "Partição", end_offset: "Offset final",
    lag: "atraso", committed: "confirmado", celery: "Celery", workers: "Workers",
    queue: "Fila", messages: "mensagens", consumers: "consumidores", processed: "processadas",
    outbox: "Pendências do outbox", unpublished: "não publicados", oldest: "mais antigo",
    dlq: "Mensagens mortas (orders.dlq)", replay: "Reenviar selecionadas",
    no_dlq: "O tópico de mensagens mortas está vazio", down: "inacessível",
    demo: "Falhas (demonstração)",
    demo_off: "Controles de demonstração desligados: inicie o Comanda com COMANDA_DEMO=1.",
    stop: "Parar", start: "Iniciar", gateway_latency: "Latência do gateway (ms)",
    apply: "Aplicar", clear: "Limpar", traffic: "Gerador de tráfego (pedidos/s)",
    traffic_off: "parado", placed_series: "feitos", awaiting_series: "chegaram a AWAITING",
    p50: "p50", p95: "p95", time: "Hora", processes: "processos", error: "Algo deu errado",
    conflict: "Não é possível agora", live: "ao vivo", paused: "pausado",
    last_minutes: "Pipeline nos últimos 5 minutos",
    refresh_failed: "Sessão expirada: entre novamente",
  },
};

const STATUS = {
  "pt-BR": {
    PLACED: "Recebido", AWAITING_ACCEPTANCE: "Aguardando aceite", CONFIRMED: "Confirmado",
    PREPARING: "Em preparo", READY: "Pronto", DISPATCHED: "Saiu para entrega",
    DELIVERED: "Entregue", REJECTED: "Recusado", CANCELLED: "Cancelado",
  },
  en: {
    PLACED: "Placed", AWAITING_ACCEPTANCE: "Awaiting acceptance", CONFIRMED: "Confirmed",
    PREPARING: "Preparing", READY: "Ready", DISPATCHED: "Out for delivery",
    DELIVERED: "Delivered", REJECTED: "Rejected", CANCELLED: "Cancelled",
  },
};

function browserLang() {
  for (const lang of navigator.languages || [navigator.language || "en"]) {
    if (lang.toLowerCase().startsWith("pt")) return "pt-BR";
    if (lang.toLowerCase().startsWith("en")) return "en";
  }
  return "en";
}

let current = localStorage.getItem("comanda.lang") || browserLang();
if (!TEXT[current]) current = "en";

export const lang = () => current;
export function setLang(value) {
  current = TEXT[value] ? value : "en";
  localStorage.setItem("comanda.lang", current);
  document.documentElement.lang = current;
}
export const t = (key) => TEXT[current][key] ?? TEXT.en[key] ?? key;
export const statusName = (s) => STATUS[current][s] || s;

export function money(cents) {
  return new Intl.NumberFormat(current, { style: "currency", currency: "BRL" })
    .format((cents || 0) / 100);
}

export function clock(iso) {
  return iso ? new Date(iso).toLocaleTimeString(current) : "";
}

// Static labels in index.html carry data-i18n="key".
export function translatePage() {
  document.documentElement.lang = current;
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
}
