// What every script here shares: nakama-js's browser globals under Node,
// the server to talk to (KAIROS_HOST, KAIROS_PORT, KAIROS_SERVER_KEY,
// KAIROS_HTTP_KEY), one client, a suffix that keeps ids unique per run,
// and the steps: `check` names and logs each, `fail` reports the one that
// failed and exits non-zero. A script may replace globalThis.WebSocket
// after importing this (social.mjs does, to see which shard served it).

import { Client } from "@heroiclabs/nakama-js";
import WebSocket from "ws";

globalThis.WebSocket = WebSocket;
globalThis.window = globalThis;

export const host = process.env.KAIROS_HOST ?? "127.0.0.1";
export const port = process.env.KAIROS_PORT ?? "7350";
export const serverKey = process.env.KAIROS_SERVER_KEY ?? "defaultkey";
export const httpKey = process.env.KAIROS_HTTP_KEY ?? "defaulthttpkey";
export const client = new Client(serverKey, host, port, false);
export const unique = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;

let step = "";

/// Runs one named step and logs it; a throw fails it.
export async function check(name, fn) {
  step = name;
  const value = await fn();
  console.log(`ok   ${name}`);
  return value;
}

export function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

/// Reports the step that failed with `e`, and exits non-zero.
export function fail(e) {
  const detail = e instanceof Error ? e.message : e?.status ? `HTTP ${e.status}` : JSON.stringify(e);
  console.error(`FAIL ${step}: ${detail}`);
  process.exit(1);
}
