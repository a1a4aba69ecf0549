// switchboard reference agent panel: follows one agent's calls live over
// gRPC-Web (connect-web), with the client generated from the protos.
//
// Every update the stream delivers is rendered once, by one element carrying
// its `data-sequence`; the panel keeps the last sequence and resumes after
// it (`after_sequence`) when the connection drops.

import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { type Timestamp, timestampDate } from "@bufbuild/protobuf/wkt";

import {
  type Agent,
  type AgentAvailability,
  AgentConnectionFilter,
  AgentsService,
  AvailabilityChannel,
  type ChannelAvailability,
} from "./gen/switchboard/v1/agents_service_pb";
import {
  type Call,
  CallDirection,
  CallStatus,
  type Cart,
  type DialEvent,
  DialEventType,
  LegKind,
  type OpticoMatches,
  type Order,
  type PageView,
  type Product,
  Provider,
} from "./gen/switchboard/v1/call_pb";
import {
  CallContextService,
  type StreamCallUpdatesResponse,
} from "./gen/switchboard/v1/call_context_service_pb";

/** What `/panel/config.json` says (written by switchboard). */
interface PanelConfig {
  /** `server.panel.grpc_web_url` when set. */
  grpcWebUrl?: string;
  /** The gRPC port, at the page's host name otherwise. */
  grpcPort: number;
  /** Whether the gRPC port speaks TLS. */
  tls: boolean;
  /** False when the server accepts calls without a token (the sandbox). */
  tokenRequired: boolean;
}

const TOKEN_KEY = "switchboard.panel.token";
/** Calls kept on the page; older ones are dropped from the view. */
const MAX_CALLS = 50;

const byId = <T extends HTMLElement>(id: string): T => {
  const element = document.getElementById(id);
  if (!element) throw new Error(`panel markup lacks #${id}`);
  return element as T;
};

/** A new element with text and attributes; text is never parsed as HTML. */
function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Record<string, string> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  element.append(...children);
  return element;
}

function time(ts: Timestamp | undefined): string {
  return ts ? timestampDate(ts).toLocaleTimeString() : "";
}

function when(ts: Timestamp | undefined): HTMLElement {
  const date = ts ? timestampDate(ts) : undefined;
  return el(
    "time",
    date ? { class: "when", datetime: date.toISOString() } : { class: "when" },
    time(ts),
  );
}

function money(amount: number, currency: string): string {
  try {
    if (currency) return new Intl.NumberFormat(undefined, { style: "currency", currency }).format(amount);
  } catch {
    // An unknown currency code: plain number and the code below.
  }
  return `${amount.toFixed(2)} ${currency}`.trim();
}

function statusText(status: CallStatus): string {
  return (CallStatus[status] ?? String(status)).toLowerCase().replaceAll("_", " ");
}

// ---- connection state -----------------------------------------------------

const connection = byId<HTMLParagraphElement>("connection");
const streams = new Map<string, { state: string; text: string }>();

/** One line for both streams: the worst state wins. */
function setState(stream: "calls" | "availability", state: string, text: string): void {
  streams.set(stream, { state, text });
  const order = ["failed", "reconnecting", "connecting", "live", "idle"];
  let shown = { state: "idle", text: "" };
  for (const s of streams.values()) {
    if (order.indexOf(s.state) < order.indexOf(shown.state) || !shown.text) shown = s;
  }
  connection.dataset.state = shown.state;
  connection.textContent = shown.text;
}

function retryable(error: ConnectError): boolean {
  switch (error.code) {
    case Code.Unauthenticated:
    case Code.PermissionDenied:
    case Code.InvalidArgument:
    case Code.FailedPrecondition:
    case Code.NotFound:
    case Code.Unimplemented:
      return false;
    default:
      return true;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const backoff = (attempt: number) => Math.min(500 * 2 ** Math.max(0, attempt - 1), 5000);

// ---- calls ------------------------------------------------------------------

interface CallView {
  root: HTMLElement;
  /** Pages, cart and orders: shown once the call has Optico data. */
  visit: HTMLElement;
  title: HTMLElement;
  status: HTMLElement;
  statusFromStream: boolean;
  facts: HTMLElement;
  views: HTMLOListElement;
  cart: HTMLElement;
  orders: HTMLUListElement;
  dial: HTMLElement;
  legs: Map<LegKind, { state: HTMLElement; events: HTMLOListElement }>;
  agent: HTMLElement;
}

const callsList = byId<HTMLOListElement>("calls");
const noCalls = byId<HTMLParagraphElement>("no-calls");
const announcer = byId<HTMLParagraphElement>("announcer");
const calls = new Map<string, CallView>();

function section(title: string, ...body: Node[]): HTMLElement {
  return el("section", { class: "part" }, el("h4", {}, title), ...body);
}

function newCallView(callId: string): CallView {
  const title = el("h3", { id: `call-${callId}-title` }, "Call");
  const status = el("dd", { class: "status" }, "…");
  const agent = el("dd", { class: "agent" }, "");
  const facts = el(
    "dl",
    { class: "facts" },
    el("dt", {}, "Status"),
    status,
    el("dt", {}, "Agent"),
    agent,
  );
  const views = el("ol", { class: "views" });
  const cart = el("div", { class: "cart" }, el("p", { class: "earlier" }, "No cart."));
  const orders = el("ul", { class: "orders" });
  const legs = new Map<LegKind, { state: HTMLElement; events: HTMLOListElement }>();
  const legBoxes: HTMLElement[] = [];
  for (const [kind, name] of [
    [LegKind.AGENT, "Agent leg"],
    [LegKind.CUSTOMER, "Customer leg"],
  ] as const) {
    const state = el("p", { class: "leg-state" }, "not rung yet");
    const events = el("ol", { class: "leg-events" });
    legs.set(kind, { state, events });
    legBoxes.push(el("div", { class: "leg", "data-leg": LegKind[kind].toLowerCase() }, el("h5", {}, name), state, events));
  }
  const dial = section("Dial progress", el("div", { class: "legs" }, ...legBoxes));
  dial.hidden = true;
  const visit = el(
    "div",
    { class: "call-grid" },
    section("Pages viewed", views),
    section("Cart", cart),
    section("Orders", orders),
  );
  visit.hidden = true;
  const root = el(
    "article",
    { class: "call", "data-call-id": callId, "aria-labelledby": title.id },
    title,
    facts,
    visit,
    dial,
  );
  const view: CallView = { root, visit, title, status, statusFromStream: false, facts, views, cart, orders, dial, legs, agent };
  calls.set(callId, view);
  noCalls.hidden = true;
  callsList.prepend(el("li", {}, root));
  while (callsList.children.length > MAX_CALLS) {
    const last = callsList.lastElementChild;
    const id = last?.querySelector("article")?.getAttribute("data-call-id");
    if (id) calls.delete(id);
    last?.remove();
  }
  return view;
}

function fact(view: CallView, name: string, value: string, attributes: Record<string, string> = {}): void {
  let dd = view.facts.querySelector<HTMLElement>(`dd[data-fact="${name}"]`);
  if (!dd) {
    view.facts.append(el("dt", {}, name));
    dd = el("dd", { "data-fact": name });
    view.facts.append(dd);
  }
  dd.textContent = value;
  for (const [k, v] of Object.entries(attributes)) dd.setAttribute(k, v);
}

/** Fills in what the stream does not say (numbers, provider) from GetCall. */
function describeCall(view: CallView, call: Call): void {
  if (call.direction === CallDirection.OUTBOUND) {
    view.title.textContent = `Call to ${call.destinationPhone || "an unknown number"}`;
  } else {
    view.title.textContent = `Call from ${call.callerPhone || "a private number"}`;
  }
  view.root.dataset.caller = call.callerPhone;
  announcer.textContent = view.title.textContent;
  fact(view, "Started", call.startTime ? timestampDate(call.startTime).toLocaleString() : "");
  fact(view, "Through", (Provider[call.provider] ?? "").toLowerCase());
  if (!view.statusFromStream) setStatus(view, call.status, call.statusDetail);
  if (call.agent && !view.agent.textContent) view.agent.textContent = call.agent;
  if (call.provider === Provider.FOCALSCOPE) view.dial.hidden = false;
  if (call.provider === Provider.OPTICO) view.visit.hidden = false;
}

function setStatus(view: CallView, status: CallStatus, detail: string): void {
  view.status.textContent = statusText(status) + (detail ? ` — ${detail}` : "");
  view.status.className = `status status-${CallStatus[status]?.toLowerCase() ?? "unspecified"}`;
}

function viewItem(view: PageView, attributes: Record<string, string>): HTMLLIElement {
  const title = view.pageTitle || view.url || "(untitled page)";
  let label: Node = document.createTextNode(title);
  try {
    const url = new URL(view.url);
    if (url.protocol === "https:" || url.protocol === "http:") {
      label = el("a", { href: url.href, target: "_blank", rel: "noreferrer noopener" }, title);
    }
  } catch {
    // Not a URL: the title alone.
  }
  return el("li", { "data-view-id": String(view.id), ...attributes }, when(view.createTime), label);
}

function productRows(products: Product[]): HTMLTableRowElement[] {
  return products.map((p) =>
    el(
      "tr",
      {},
      el("td", {}, p.name || p.externalId || `#${p.id}`),
      el("td", { class: "num" }, String(p.quantity)),
      el("td", { class: "num" }, p.costPerUnit.toFixed(2)),
    ),
  );
}

function renderCart(view: CallView, cart: Cart, attributes: Record<string, string>): void {
  const table = el(
    "table",
    {},
    el("caption", {}, `${cart.productsCount} product(s)${cart.createTime ? `, updated ${time(cart.createTime)}` : ""}`),
    el(
      "thead",
      {},
      el("tr", {}, el("th", { scope: "col" }, "Product"), el("th", { scope: "col", class: "num" }, "Qty"), el("th", { scope: "col", class: "num" }, "Unit price")),
    ),
    el("tbody", {}, ...productRows(cart.products)),
    el(
      "tfoot",
      {},
      el("tr", {}, el("th", { scope: "row", colspan: "2" }, "Total"), el("td", { class: "num cart-total" }, money(cart.totalCost, cart.currency))),
    ),
  );
  const body = el("div", { class: "cart", "data-cart-id": String(cart.id), ...attributes }, table);
  view.cart.replaceWith(body);
  view.cart = body;
}

function orderItem(order: Order, attributes: Record<string, string>): HTMLLIElement {
  return el(
    "li",
    { "data-order-id": String(order.id), ...attributes },
    when(order.createTime),
    `Order ${order.externalId || `#${order.id}`}: ${order.status || "?"}, ${money(order.totalCost, order.currency)}${order.isSale ? " (sale)" : ""}`,
  );
}

function renderMatches(view: CallView, matches: OpticoMatches, sequence: string): void {
  const first = matches.matches[0];
  const optico = first?.call;
  // The one element of this update: what brought the caller.
  fact(view, "Source", optico?.source || "unknown", { "data-sequence": sequence, "data-kind": "optico_matches" });
  fact(view, "Keyword", optico?.keyword || "none");
  if (optico?.referrer) fact(view, "Referrer", optico.referrer);
  // What the caller did before calling, marked as coming from this update.
  const from = { "data-from-sequence": sequence, class: "earlier" };
  for (const match of matches.matches) {
    for (const v of match.views) view.views.append(viewItem(v, from));
    if (match.currentCart) renderCart(view, match.currentCart, from);
    for (const o of match.orders) view.orders.append(orderItem(o, from));
  }
}

const LEG_STATE: Record<DialEventType, string> = {
  [DialEventType.UNSPECIFIED]: "?",
  [DialEventType.PICKUP]: "picked up",
  [DialEventType.MISSED]: "missed",
  [DialEventType.HANGUP]: "hung up",
};

function renderDialEvent(view: CallView, event: DialEvent, at: Timestamp | undefined, sequence: string): void {
  view.dial.hidden = false;
  const leg = view.legs.get(event.leg);
  if (!leg) return;
  const what = LEG_STATE[event.event] ?? "?";
  leg.state.textContent = what + (event.recorded ? " (recorded)" : "");
  leg.events.append(el("li", { "data-sequence": sequence, "data-kind": "dial_event" }, when(at), what));
}

async function loadCall(callId: string, view: CallView): Promise<void> {
  try {
    const { call } = await callsClient.getCall({ call: { ref: { case: "id", value: callId } } });
    if (call) describeCall(view, call);
  } catch (error) {
    view.title.textContent = `Call ${callId}`;
    console.warn("GetCall failed", ConnectError.from(error).message);
  }
}

function handleUpdate(update: StreamCallUpdatesResponse): void {
  const u = update.update;
  if (u.case === "heartbeat" || u.case === undefined) return;
  const sequence = update.sequence.toString();
  let view = calls.get(update.callId);
  if (!view) {
    view = newCallView(update.callId);
    void loadCall(update.callId, view);
  }
  const mark = { "data-sequence": sequence, "data-kind": "" };
  if (u.case === "view" || u.case === "cart" || u.case === "order" || u.case === "opticoMatches") {
    view.visit.hidden = false;
  }
  switch (u.case) {
    case "view":
      view.views.append(viewItem(u.value, { ...mark, "data-kind": "view" }));
      break;
    case "cart":
      renderCart(view, u.value, { ...mark, "data-kind": "cart" });
      break;
    case "order":
      view.orders.append(orderItem(u.value, { ...mark, "data-kind": "order" }));
      break;
    case "dialEvent":
      renderDialEvent(view, u.value, update.occurredAt, sequence);
      break;
    case "agentAssigned":
      view.agent.textContent = u.value.agent;
      view.agent.setAttribute("data-sequence", sequence);
      view.agent.setAttribute("data-kind", "agent_assigned");
      break;
    case "statusChanged":
      view.statusFromStream = true;
      setStatus(view, u.value.status, u.value.detail);
      view.status.setAttribute("data-sequence", sequence);
      view.status.setAttribute("data-kind", "status_changed");
      break;
    case "opticoMatches":
      renderMatches(view, u.value, sequence);
      break;
  }
}

async function followCalls(agent: string): Promise<void> {
  let lastSequence = 0n;
  let attempt = 0;
  for (;;) {
    const resumeText = lastSequence > 0n ? ` after update #${lastSequence}` : "";
    setState(
      "calls",
      attempt === 0 ? "connecting" : "reconnecting",
      attempt === 0
        ? `Connecting to ${agent}'s calls…`
        : `Reconnecting to ${agent}'s calls (attempt ${attempt}), resuming${resumeText || " from the start"}…`,
    );
    try {
      const stream = callsClient.streamCallUpdates(
        { agent, afterSequence: lastSequence },
        {
          onHeader: () => {
            attempt = 0;
            setState("calls", "live", `Live: ${agent}'s calls.`);
          },
        },
      );
      for await (const update of stream) {
        if (update.update.case !== "heartbeat") {
          handleUpdate(update);
          if (update.sequence > lastSequence) lastSequence = update.sequence;
        }
      }
      // The server ended the stream (it is shutting down, or a lifetime
      // limit): come back after what we have.
    } catch (error) {
      const e = ConnectError.from(error);
      if (!retryable(e)) {
        setState("calls", "failed", `Cannot follow calls: ${e.rawMessage} (${Code[e.code]}).`);
        return;
      }
    }
    attempt += 1;
    setState("calls", "reconnecting", `Reconnecting to ${agent}'s calls (attempt ${attempt}), resuming after update #${lastSequence}…`);
    await sleep(backoff(attempt));
  }
}

// ---- availability -----------------------------------------------------------

const availabilitySection = byId<HTMLElement>("availability-section");
const availabilityList = byId<HTMLDListElement>("availability");
const availabilityNote = byId<HTMLParagraphElement>("availability-note");

function channelText(channel: ChannelAvailability | undefined): [string, string] {
  if (!channel || !channel.enabled) return ["not enabled", "unavailable"];
  const slots = channel.slotMaxNumber > 0 ? ` (${channel.slotNumber}/${channel.slotMaxNumber} in use)` : "";
  if (channel.available) return [`available${slots}`, "available"];
  return [`${channel.busy ? "busy" : "unavailable"}${slots}`, "unavailable"];
}

function renderAvailability(operator: Agent, state: AgentAvailability | undefined): void {
  const rows: Node[] = [];
  const connected = state?.connected ?? false;
  availabilityList.dataset.state = connected ? "connected" : "offline";
  rows.push(el("dt", {}, "Operator"), el("dd", {}, `${operator.firstName} ${operator.name} (#${operator.id})`.trim()));
  rows.push(el("dt", {}, "Connected"), el("dd", { "data-channel": "connection", class: connected ? "available" : "unavailable" }, connected ? "yes" : "no"));
  for (const [name, channel] of [
    ["Chat", state?.chat],
    ["Call", state?.call],
    ["Video", state?.video],
  ] as const) {
    const [text, cls] = connected ? channelText(channel) : ["offline", "unavailable"];
    rows.push(el("dt", {}, name), el("dd", { "data-channel": name.toLowerCase(), class: cls }, text));
  }
  availabilityList.replaceChildren(...rows);
}

async function findOperator(agent: string, operatorParam: string): Promise<Agent | undefined> {
  if (operatorParam) {
    const { agent: found } = await agentsClient.getAgent({ agentId: BigInt(operatorParam) });
    return found;
  }
  let pageToken = "";
  // Bounded: a reference panel does not page through a huge directory.
  for (let page = 0; page < 20; page += 1) {
    const response = await agentsClient.listAgents({ full: true, pageSize: 100, pageToken });
    const found = response.agents.find((a) => a.email.toLowerCase() === agent.toLowerCase());
    if (found || !response.nextPageToken) return found;
    pageToken = response.nextPageToken;
  }
  return undefined;
}

async function followAvailability(agent: string, operatorParam: string): Promise<void> {
  availabilitySection.hidden = false;
  let operator: Agent | undefined;
  let attempt = 0;
  while (!operator) {
    try {
      operator = await findOperator(agent, operatorParam);
      if (!operator) {
        availabilityNote.textContent = `No iAdvize operator has the email ${agent}: give its id in "iAdvize operator id".`;
        setState("availability", "idle", "");
        return;
      }
    } catch (error) {
      const e = ConnectError.from(error);
      if (!retryable(e)) {
        availabilityNote.textContent = `iAdvize availability unavailable: ${e.rawMessage}`;
        return;
      }
      attempt += 1;
      await sleep(backoff(attempt));
    }
  }
  // iAdvize lists operators in a group or with skills only when the filter
  // names one; ONLINE shows connected operators whether available or not.
  const filter = {
    agentId: operator.id,
    groupId: operator.groupId,
    skillId: operator.groupId === 0n && operator.skillList.length > 0 ? operator.skillList[0] : 0n,
    connected: AgentConnectionFilter.ONLINE,
  };
  let state: AgentAvailability | undefined;
  attempt = 0;
  for (;;) {
    try {
      for await (const message of agentsClient.watchAgentAvailability({ filter })) {
        attempt = 0;
        setState("availability", "live", "");
        const event = message.event;
        switch (event.case) {
          case "snapshot":
            state = event.value.agents.find((a) => a.agentId === operator.id);
            availabilityNote.textContent = "";
            break;
          case "agentAdded":
            state = event.value;
            break;
          case "agentRemoved":
            state = undefined;
            break;
          case "change":
            if (state) {
              const change = event.value;
              switch (change.channel) {
                case AvailabilityChannel.CONNECTION:
                  state.connected = change.connectedAfter;
                  break;
                case AvailabilityChannel.CHAT:
                  state.chat = change.after;
                  break;
                case AvailabilityChannel.CALL:
                  state.call = change.after;
                  break;
                case AvailabilityChannel.VIDEO:
                  state.video = change.after;
                  break;
              }
            }
            break;
          case "vendorError":
            availabilityNote.textContent = `iAdvize could not be reached (${event.value.message}); showing the last known state.`;
            break;
          default:
            continue;
        }
        renderAvailability(operator, state);
      }
    } catch (error) {
      const e = ConnectError.from(error);
      if (!retryable(e)) {
        availabilityNote.textContent = `iAdvize availability unavailable: ${e.rawMessage}`;
        setState("availability", "idle", "");
        return;
      }
    }
    attempt += 1;
    setState("availability", "reconnecting", `Reconnecting to iAdvize availability (attempt ${attempt})…`);
    await sleep(backoff(attempt));
  }
}

// ---- start ------------------------------------------------------------------

let callsClient: ReturnType<typeof createClient<typeof CallContextService>>;
let agentsClient: ReturnType<typeof createClient<typeof AgentsService>>;

async function main(): Promise<void> {
  const config = (await (await fetch("config.json", { cache: "no-store" })).json()) as PanelConfig;
  const baseUrl =
    config.grpcWebUrl ?? `${config.tls ? "https" : "http"}://${location.hostname}:${config.grpcPort}`;
  const params = new URLSearchParams(location.search);
  const agent = params.get("agent")?.trim() ?? "";
  const operatorParam = (params.get("operator") ?? "").trim();

  const form = byId<HTMLFormElement>("choose");
  const tokenInput = byId<HTMLInputElement>("token");
  byId<HTMLInputElement>("agent").value = agent;
  byId<HTMLInputElement>("operator").value = operatorParam;
  byId<HTMLElement>("token-row").hidden = !config.tokenRequired;
  tokenInput.value = sessionStorage.getItem(TOKEN_KEY) ?? "";
  form.addEventListener("submit", () => {
    // The token stays in this tab, never in the URL.
    if (tokenInput.value) sessionStorage.setItem(TOKEN_KEY, tokenInput.value.trim());
  });

  const bearer: Interceptor = (next) => async (request) => {
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (token) request.header.set("authorization", `Bearer ${token}`);
    return next(request);
  };
  const transport = createGrpcWebTransport({ baseUrl, useBinaryFormat: true, interceptors: [bearer] });
  callsClient = createClient(CallContextService, transport);
  agentsClient = createClient(AgentsService, transport);

  if (!agent) {
    setState("calls", "idle", "Choose an agent to follow.");
    return;
  }
  if (config.tokenRequired && !sessionStorage.getItem(TOKEN_KEY)) {
    setState("calls", "failed", "This server needs a read-only token: enter it above.");
    return;
  }
  document.title = `${agent} — switchboard agent panel`;
  byId<HTMLElement>("calls-section").hidden = false;
  void followAvailability(agent, operatorParam);
  await followCalls(agent);
}

main().catch((error) => {
  setState("calls", "failed", `The panel could not start: ${error instanceof Error ? error.message : String(error)}`);
});
